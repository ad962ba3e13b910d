// A lab host's `shoal daemon`: started inside the host (nsenter through its anchor), data
// and socket in the host directory, output to <hostdir>/daemon.log, PID in daemon.pid;
// ready when GET /_ping on its socket answers OK.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enterArgs } from './anchor.ts';
import { SWARM_PORT, type LabNames } from './names.ts';
import { cpuTimeMs, isAlive, nsInode, readPid, sleep, stopPid, writePid } from './procs.ts';
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

/** Why a daemon did not come up. */
export type DaemonStartFailure =
  /** It was still running when the readiness deadline passed (then killed by us). */
  | { reason: 'timeout'; timeoutMs: number; cpuMs?: number }
  /** It ended by itself before answering /_ping. */
  | { reason: 'exit'; code: number | null; signal: NodeJS.Signals | null };

/**
 * Thrown when a daemon exits or does not answer /_ping in time. `failure` says which (a
 * timeout is not an exit: the daemon ran and was killed by us), `output` holds the last
 * lines this daemon wrote (never an earlier daemon's lines from the same log).
 */
export class DaemonStartError extends Error {
  override name = 'DaemonStartError';
  constructor(
    readonly host: string,
    readonly failure: DaemonStartFailure,
    readonly output: string,
  ) {
    super(describeStartFailure(host, failure, output));
  }
}

/** Number of lines of a failed daemon's own output an error carries. */
export const OUTPUT_TAIL_LINES = 15;

/**
 * The message of a {@link DaemonStartError}. A timeout names the daemon's CPU time so a
 * starved start (little CPU on a loaded machine) reads differently from a busy or stuck one.
 */
export function describeStartFailure(host: string, f: DaemonStartFailure, output: string): string {
  const what = f.reason === 'timeout'
    ? `did not answer /_ping within ${f.timeoutMs} ms (still running, killed; ${f.cpuMs === undefined ? 'cpu time unknown' : `${(f.cpuMs / 1000).toFixed(1)} s cpu used`})`
    : `exited before answering /_ping (${f.signal ? `signal ${f.signal}` : `code ${f.code}`})`;
  const tail = output.trim() ? output.trim().split('\n').slice(-OUTPUT_TAIL_LINES).join('\n') : '(no output)';
  return `lab: daemon of ${host} ${what}; its last output:\n${tail}`;
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
 * PID. If one is already alive, returns its PID. Throws {@link DaemonStartError} when it
 * exits (with its exit code or signal) or times out (the process is then killed), with
 * the tail of what this daemon wrote to the log.
 */
export async function startDaemon(names: LabNames, host: string, anchorPid: number, opts: DaemonOptions & { cgroupDir?: string } = {}): Promise<number> {
  const running = daemonPid(names, host);
  if (running) return running;
  const ctx = daemonContext(names, host);
  const argv = opts.command ? opts.command(ctx) : defaultDaemonCommand(ctx, opts.extraArgs);
  rmSync(ctx.socket, { force: true });
  const logPath = join(ctx.hostDir, 'daemon.log');
  // The log is appended to across restarts: only what this daemon writes counts.
  const logStart = fileSize(logPath);
  const cg = opts.cgroupDir ? `echo $$ > '${opts.cgroupDir}/cgroup.procs'; ` : '';
  // Spawned here rather than through spawnDetached: we are its parent, so its exit code or
  // signal is ours to read ('exit' below), instead of guessing from a vanished PID.
  const fd = openSync(logPath, 'a');
  let child;
  try {
    child = spawn('sh', ['-c', `${cg}exec nsenter "$@"`, 'sh', ...enterArgs(anchorPid), ...argv], { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  child.on('error', () => { exited ??= { code: 127, signal: null }; });
  child.unref();
  const pid = child.pid;
  if (!pid) throw new DaemonStartError(host, { reason: 'exit', code: 127, signal: null }, 'cannot spawn sh');
  writePid(join(ctx.hostDir, 'daemon.pid'), pid);
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!exited && (await ping(ctx.socket, 1000))) return pid;
    // isAlive also catches a process that ended while 'exit' has not been delivered yet.
    if (exited || !isAlive(pid)) {
      await waitExited(() => exited, 1000);
      throw new DaemonStartError(host, { reason: 'exit', code: exited?.code ?? null, signal: exited?.signal ?? null }, readFrom(logPath, logStart));
    }
    if (Date.now() > deadline) {
      const cpuMs = cpuTimeMs(pid);
      await stopPid(pid, 0);
      throw new DaemonStartError(host, { reason: 'timeout', timeoutMs, cpuMs }, readFrom(logPath, logStart));
    }
    await sleep(50);
  }
}

/** Waits (bounded) for the 'exit' event of a child seen dead through /proc. */
async function waitExited(get: () => unknown, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!get() && Date.now() < end) await sleep(10);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** What a file holds from byte `offset` on ('' when unreadable). */
function readFrom(path: string, offset: number): string {
  try {
    return readFileSync(path).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}
