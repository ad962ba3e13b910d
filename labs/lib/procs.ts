// Process helpers for the lab: liveness, waiting for exit, killing by PID (never by name),
// detached spawning with output to a file, and scanning /proc.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True when a process with this PID exists and is not a zombie. */
export function isAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const f = statFields(pid);
  return f !== undefined && f[0] !== 'Z';
}

/**
 * The fields of /proc/PID/stat after the command name (which may hold spaces and
 * parentheses, so they start after its last ')'): f[0] is the state, f[1] the parent;
 * undefined when the process is gone.
 */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * CPU time (ms, user + system) a live process has used so far, from /proc/PID/stat
 * (fields after the command name, which may hold spaces and parentheses); undefined when
 * the process is gone. Linux counts in clock ticks of 100 a second.
 */
export function cpuTimeMs(pid: number): number | undefined {
  const f = statFields(pid);
  return f === undefined ? undefined : ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** Waits until the process is gone (or a zombie); false if still alive after `timeoutMs`. */
export async function waitExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** Sends a signal, ignoring a process that is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/**
 * Stops a process by PID: SIGTERM, then SIGKILL after `graceMs` (default 3000 ms; 0 sends
 * SIGKILL at once). Resolves when it is gone. Never touches other processes.
 */
export async function stopPid(pid: number | undefined, graceMs = 3000): Promise<void> {
  if (!isAlive(pid)) return;
  if (graceMs > 0) {
    signal(pid!, 'SIGTERM');
    if (await waitExit(pid!, graceMs)) return;
  }
  signal(pid!, 'SIGKILL');
  await waitExit(pid!, 5000);
}

/** Reads a PID file; undefined when missing or malformed. */
export function readPid(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a PID file. */
export function writePid(path: string, pid: number): void {
  writeFileSync(path, `${pid}\n`);
}

/**
 * Starts a long-lived process in its own session, detached from ours, stdin from /dev/null
 * and stdout/stderr appended to `logPath`, so it outlives the command that started it.
 * Returns its PID (that of `cmd` itself: wrappers like nsenter exec, they do not fork).
 */
export function spawnDetached(cmd: string, args: readonly string[], logPath: string, env?: NodeJS.ProcessEnv): number {
  const fd = openSync(logPath, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
    child.unref();
    if (!child.pid) throw new Error(`lab: cannot start ${cmd}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Result of {@link run}. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion, capturing output; never throws for a non-zero exit. It
 * resolves when the command exits (plus up to 200 ms for its output), even if a process it
 * left in the background still holds stdout/stderr open (`sh -c 'httpd &'`,
 * `runc run -d`). After `timeoutMs` (default 60000) it is SIGKILLed and code is 124.
 */
export function run(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let code: number | undefined;
    let done = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stdout!.destroy();
      child.stderr!.destroy();
      resolve({ code: code ?? 1, stdout, stderr });
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      code = 124;
      stderr += `\n${cmd}: timed out after ${opts.timeoutMs ?? 60_000} ms`;
      finish();
    }, opts.timeoutMs ?? 60_000);
    child.on('error', (err) => {
      stderr += String(err.message);
      code = 127;
      finish();
    });
    child.on('exit', (c, sig) => {
      code ??= c ?? (sig ? 128 : 1);
      setTimeout(finish, 200).unref();
    });
    child.on('close', finish);
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

/** Error of a failed command, with its output. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    readonly cmd: string,
    readonly result: RunResult,
  ) {
    super(`lab: command failed (${result.code}): ${cmd}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/** Runs a command and throws {@link CommandError} unless it exits 0. Returns stdout. */
export async function runOk(cmd: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new CommandError([cmd, ...args].join(' '), r);
  return r.stdout;
}

/** PIDs of every process currently in /proc (excluding ourselves). */
export function allPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name)) {
      const pid = Number(name);
      if (pid !== process.pid) out.push(pid);
    }
  }
  return out;
}

/**
 * PIDs whose parent is `parent` (this process by default): what a test checks is gone after
 * the code under test stops the processes it started (one gone meanwhile is left out).
 */
export function childrenOf(parent = process.pid): number[] {
  return allPids().filter((pid) => Number(statFields(pid)?.[1]) === parent);
}

/** Inode of a namespace link such as `/proc/PID/ns/net` (undefined when unreadable). */
export function nsInode(link: string): string | undefined {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync(link));
    return m ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

/** A process's command line, NUL separators replaced by spaces ('' when unreadable). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** A process's /proc/PID/cgroup text ('' when unreadable). */
export function cgroupOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return '';
  }
}
