// A lab host's `shoal daemon`: started inside the host (nsenter through its anchor), data
// and socket in the host directory, output to <hostdir>/daemon.log, PID in daemon.pid;
// ready when GET /_ping on its socket answers OK.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enterArgs } from './anchor.ts';
import { SWARM_PORT, type LabNames } from './names.ts';
import { isAlive, nsInode, readPid, sleep, spawnDetached, stopPid, writePid } from './procs.ts';
import { netnsInode } from './netns.ts';
import { ping } from './unix-http.ts';

/** Root of the repository (resolved from this file, not a fixed path). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The `shoal` command. */
export const SHOAL_BIN = join(REPO_ROOT, 'bin', 'shoal.js');

/** What a daemon command is built from. */
export interface DaemonContext {
  host: string;
  hostDir: string;
  /** Path of the control socket the daemon must listen on. */
  socket: string;
  /** Underlay address of the host. */
  address: string;
  registryAddress: string;
}

/** How the lab starts each host's daemon. */
export interface DaemonOptions {
  /**
   * argv of the daemon (run inside the host). Default: `node bin/shoal.js daemon …` as
   * {@link defaultDaemonCommand} builds it. Tests may put a placeholder here.
   */
  command?: (ctx: DaemonContext) => string[];
  /** Extra arguments appended to the default command. */
  extraArgs?: string[];
  /** How long to wait for /_ping, in ms. Default 30000. */
  readyTimeoutMs?: number;
}

/** The real daemon's argv for a lab host. */
export function defaultDaemonCommand(ctx: DaemonContext, extraArgs: string[] = []): string[] {
  return [
    process.execPath, SHOAL_BIN, 'daemon',
    '--data-root', join(ctx.hostDir, 'data'),
    '--host', `unix://${ctx.socket}`,
    '--listen-addr', `${ctx.address}:${SWARM_PORT}`,
    '--advertise-addr', ctx.address,
    '--hostname', ctx.host,
    '--insecure-registry', ctx.registryAddress,
    ...extraArgs,
  ];
}

/** Thrown when a daemon exits or does not answer /_ping in time. */
export class DaemonStartError extends Error {
  override name = 'DaemonStartError';
}

/** The daemon context of a host. */
export function daemonContext(names: LabNames, host: string): DaemonContext {
  return {
    host,
    hostDir: names.hostDir(host),
    socket: names.socket(host),
    address: names.hostAddress(host),
    registryAddress: names.registryAddress,
  };
}

/**
 * PID of the host's daemon from its pid file, if that process is alive and inside the
 * host's network namespace (PIDs are recycled quickly: pid_max may be 32768).
 */
export function daemonPid(names: LabNames, host: string): number | undefined {
  const pid = readPid(join(names.hostDir(host), 'daemon.pid'));
  if (!pid || !isAlive(pid)) return undefined;
  const net = netnsInode(names.hostNetns(host));
  return net && nsInode(`/proc/${pid}/ns/net`) === net ? pid : undefined;
}

/**
 * Starts the daemon of a host whose anchor runs, and waits for /_ping. Resolves with its
 * PID. If one is already alive, returns its PID. Throws {@link DaemonStartError} (with the
 * log tail) when it exits or times out; the failed process is killed.
 */
export async function startDaemon(names: LabNames, host: string, anchorPid: number, opts: DaemonOptions & { cgroupDir?: string } = {}): Promise<number> {
  const running = daemonPid(names, host);
  if (running) return running;
  const ctx = daemonContext(names, host);
  const argv = opts.command ? opts.command(ctx) : defaultDaemonCommand(ctx, opts.extraArgs);
  rmSync(ctx.socket, { force: true });
  const logPath = join(ctx.hostDir, 'daemon.log');
  const cg = opts.cgroupDir ? `echo $$ > '${opts.cgroupDir}/cgroup.procs'; ` : '';
  const pid = spawnDetached('sh', ['-c', `${cg}exec nsenter "$@"`, 'sh', ...enterArgs(anchorPid), ...argv], logPath);
  writePid(join(ctx.hostDir, 'daemon.pid'), pid);
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (await ping(ctx.socket, 1000)) return pid;
    if (!isAlive(pid) || Date.now() > deadline) {
      await stopPid(pid, 0);
      let log = '';
      try {
        log = readFileSync(logPath, 'utf8').trim().split('\n').slice(-15).join('\n');
      } catch { /* none */ }
      throw new DaemonStartError(`lab: daemon of ${host} ${isAlive(pid) ? 'did not answer /_ping' : 'exited'}: ${log}`);
    }
    await sleep(50);
  }
}
