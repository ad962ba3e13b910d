/**
 * The OCI runtime adapter (runc by default, crun where the cgroup layout lets it
 * run). State lives under a per-daemon `--root`, so several daemons on one host
 * never see each other's containers. Containers start through the monitor (the
 * subreaper), everything else is a direct call of the runtime binary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, mustRun, runCommand } from './cmd.ts';
import type { MonitorClient } from './monitor.ts';
import { cpuLimit } from './spec.ts';

/** The runtime refused to start a container. */
export class RuntimeError extends Error {
  override readonly name = 'RuntimeError';
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) { super(`exec: runtime: ${message}`, options); }
}

/** One container as the runtime reports it. */
export interface RuntimeState { id: string; pid: number; status: 'created' | 'running' | 'paused' | 'stopped' | string; bundle: string }

/** Options of a runtime adapter. */
export interface RuntimeOptions {
  /** Binary: `runc` (default) or `crun`, or an absolute path. */
  binary?: string;
  /** The runtime's state root (`--root`), one per daemon. */
  root: string;
  /** Runs a command that reports only an exit code and stderr (kill, delete); default: spawn it. */
  exec?: (argv: string[]) => Promise<{ code: number | null; stderr: string }>;
}

/** Drives one OCI runtime binary under one state root. */
export class OciRuntime {
  readonly binary: string;
  readonly root: string;
  private readonly execQuiet: (argv: string[]) => Promise<{ code: number | null; stderr: string }>;

  constructor(opts: RuntimeOptions) {
    this.binary = opts.binary ?? 'runc';
    this.root = opts.root;
    this.execQuiet = opts.exec ?? runCommand;
  }

  private global(logFile?: string): string[] {
    const g = [this.binary, '--root', this.root];
    if (logFile) g.push('--log', logFile, '--log-format', 'json');
    return g;
  }

  /**
   * Creates and starts container `id` from `bundle` (`run --detach`) under the monitor,
   * with stdout/stderr on the given FIFOs; for a terminal process (`process.terminal`)
   * runc sends the pty master to `consoleSocket`. Resolves with the init PID.
   */
  run(monitor: MonitorClient, id: string, bundle: string, io: { stdout: string; stderr: string; consoleSocket?: string }): Promise<number> {
    const { consoleSocket, ...fifos } = io;
    return this.launch(monitor, id, bundle, ['run', '--detach'], fifos, 'start', consoleSocket ? ['--console-socket', consoleSocket] : []);
  }

  /**
   * Creates container `id` from `bundle` (`create`) under the monitor, without starting its
   * process: runc's init sets up the namespaces, mounts and cgroups and then waits on the exec
   * FIFO, re-parented to the monitor (so its exit is recorded as for `run`), with stdout/stderr
   * on the given FIFOs. `start` then only lets it exec. Resolves with the init PID.
   */
  create(monitor: MonitorClient, id: string, bundle: string, io: { stdout: string; stderr: string }): Promise<number> {
    return this.launch(monitor, id, bundle, ['create'], io, 'create');
  }

  /** `run`/`create` (`verb`, then `extra` flags) under the monitor; resolves with the init PID. */
  private async launch(monitor: MonitorClient, id: string, bundle: string, verb: string[], io: { stdout: string; stderr: string }, what: string, extra: string[] = []): Promise<number> {
    const logFile = join(bundle, 'runtime.log');
    const pidFile = join(bundle, 'init.pid');
    const argv = [...this.global(logFile), ...verb, '--bundle', bundle, '--pid-file', pidFile, ...extra, id];
    const r = await monitor.run(id, argv, { ...io, pidFile });
    if (r.status !== 0 || r.pid <= 0) throw new RuntimeError(`${what} of ${id} failed: ${lastRuntimeError(logFile) || `status ${r.status}`}`);
    return r.pid;
  }

  /** Starts the process of a container made by `create` (`start`), forked by the monitor. */
  async start(monitor: MonitorClient, id: string, bundle: string): Promise<void> {
    const logFile = join(bundle, 'runtime.log');
    const r = await monitor.exec([...this.global(logFile), 'start', id]);
    if (r.code !== 0) throw new RuntimeError(`start of ${id} failed: ${lastRuntimeError(logFile) || r.stderr.trim() || `status ${r.code}`}`);
  }

  /** Executes `argv` inside the container; resolves with exit code and output. */
  async exec(id: string, argv: string[], opts: { timeoutMs?: number } = {}): Promise<{ code: number | null; output: string }> {
    const r = await runCommand([...this.global(), 'exec', id, ...argv], opts);
    return { code: r.code, output: (r.stdout + r.stderr).slice(0, 4096) };
  }

  /** New resource limits for a running container (`update`); only the ones given change. */
  async update(id: string, res: { memoryBytes?: number; nanoCpus?: number; pidsLimit?: number }): Promise<void> {
    const args: string[] = [];
    if (res.memoryBytes) args.push('--memory', String(res.memoryBytes), '--memory-swap', '-1');
    if (res.nanoCpus) {
      const { period, quota } = cpuLimit(res.nanoCpus);
      args.push('--cpu-period', String(period), '--cpu-quota', String(quota));
    }
    if (res.pidsLimit) args.push('--pids-limit', String(res.pidsLimit));
    if (!args.length) return;
    const r = await runCommand([...this.global(), 'update', ...args, id]);
    if (r.code !== 0) throw new RuntimeError(`update of ${id} failed: ${r.stderr.trim()}`);
  }

  /** Sends a signal through the runtime (used when the monitor no longer tracks the container). */
  async kill(id: string, signal: string): Promise<void> {
    const r = await this.execQuiet([...this.global(), 'kill', id, signal]);
    if (r.code !== 0 && !/not running|does not exist|process already finished/.test(r.stderr)) {
      throw new CommandError([this.binary, 'kill', id], r.code, r.stderr);
    }
  }

  /** Deletes the container (`--force` kills it first); absent containers are fine. */
  async delete(id: string, force = true): Promise<void> {
    const r = await this.execQuiet([...this.global(), 'delete', ...(force ? ['--force'] : []), id]);
    if (r.code !== 0 && !/does not exist|not exist/.test(r.stderr)) throw new CommandError([this.binary, 'delete', id], r.code, r.stderr);
  }

  /** The container's state, or undefined when the runtime does not know it. */
  async state(id: string): Promise<RuntimeState | undefined> {
    const r = await runCommand([...this.global(), 'state', id]);
    if (r.code !== 0) return undefined;
    return JSON.parse(r.stdout) as RuntimeState;
  }

  /** All containers under this root. */
  async list(): Promise<RuntimeState[]> {
    const out = await mustRun([...this.global(), 'list', '--format', 'json']);
    return (JSON.parse(out || 'null') as RuntimeState[] | null) ?? [];
  }
}

/** The last error message in a runtime's JSON log file. */
export function lastRuntimeError(logFile: string): string {
  try {
    const lines = readFileSync(logFile, 'utf8').trim().split('\n').reverse();
    for (const l of lines) {
      try { const j = JSON.parse(l); if (j.level === 'error' || j.level === 'fatal') return String(j.msg); } catch { /* not json */ }
    }
    return lines[0] ?? '';
  } catch { return ''; }
}

/**
 * Why `binary` cannot run on this cgroup layout, or undefined. crun 1.8 refuses hybrid
 * hosts (v1 controllers plus a v2 hierarchy that still lists controllers, such as
 * `hugetlb`) even with cgroups disabled; runc runs everywhere seen here.
 * `unifiedControllers`: contents of /sys/fs/cgroup/unified/cgroup.controllers, if that file exists.
 */
export function runtimeRefusal(binary: string, unifiedControllers: string | undefined): string | undefined {
  if (!/(^|\/)crun$/.test(binary)) return undefined;
  if (unifiedControllers !== undefined && unifiedControllers.trim() !== '') {
    return `crun cannot run on this hybrid cgroup v1/v2 host (the v2 hierarchy lists: ${unifiedControllers.trim()}); use runc`;
  }
  return undefined;
}
