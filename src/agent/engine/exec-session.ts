/**
 * `docker exec` sessions of this node's task containers: created with an ExecConfig,
 * started once inside the task's namespaces, cgroup and sandbox (with the task's
 * process spec, see exec-process.ts), resized while a terminal runs, and inspected for
 * their exit code. An exec runs in the container's exec helper (exec-helper.ts: no
 * runtime process per exec; the helper is warmed up at the exec's create); where no
 * helper can serve the container it falls back to `runc exec`: without a TTY runc's
 * stdout and stderr arrive separately (the API frames them); with one, `tty-exec.py`
 * relays the terminal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import type { Executor } from '../exec/executor.ts';
import { writePrivateFile } from '../exec/private-fs.ts';
import { readUserFiles, resolveUser } from '../exec/users.ts';
import { ContainerConflictError, type NodeEngine } from './engine.ts';
import { execProcess, type ExecConfig } from './exec-process.ts';
import type { HelperEvent } from './exec-frames.ts';
import { capabilityNumbers, defaultPython, ExecHelpers, runInHelper } from './exec-helper.ts';

const TTY_HELPER = fileURLToPath(new URL('./tty-exec.py', import.meta.url));

/** No exec session with that ID (404, Docker's message). */
export class NoSuchExecError extends Error {
  override readonly name = 'NoSuchExecError';
  readonly retryable = false;
  constructor(id: string) { super(`No such exec instance: ${id}`); }
}

/** One exec session. */
export interface ExecSession {
  id: string;
  cid: string;
  config: ExecConfig;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  /** Size asked before the process ran (applied at start). */
  size?: { height: number; width: number };
  resize?: (height: number, width: number) => void;
}

/** Where an attached exec's streams go. `stdout`/`stderr` get the process's bytes (one stream with a TTY). */
export interface ExecIo {
  stdin?: Readable;
  stdout: (chunk: Buffer) => void;
  stderr: (chunk: Buffer) => void;
}

/** Options of the exec manager. */
export interface ExecManagerOptions {
  engine: NodeEngine;
  executor: () => Executor | undefined;
  /** Capabilities of a privileged exec (the daemon's bounding set). */
  allCaps: () => string[];
  newId?: () => string;
  /** How long a finished session stays inspectable, ms (default 5 min; the CLI reads the exit code right after). */
  keepFinishedMs?: number;
  /**
   * The containers' exec helpers (default: a new set, or null when the environment has
   * `SHOAL_EXEC_HELPER=off`; null: every exec through `runc exec`).
   */
  helpers?: ExecHelpers | null;
  /** Warnings of the default helpers (a container they cannot serve, once per container start); default: none. */
  log?: (msg: string) => void;
}

/** The exec sessions of one node. Sessions of a container that went away are dropped on the next create. */
export class ExecManager {
  private readonly sessions = new Map<string, ExecSession>();
  private readonly newId: () => string;
  private readonly helpers: ExecHelpers | null;

  constructor(private readonly opts: ExecManagerOptions) {
    this.newId = opts.newId ?? (() => randomBytes(32).toString('hex'));
    this.helpers = opts.helpers !== undefined ? opts.helpers : process.env.SHOAL_EXEC_HELPER === 'off' ? null : new ExecHelpers({ log: opts.log });
  }

  /** The socket of container `cid`'s ready exec helper, or undefined (use runc exec). */
  private helperOf(cid: string, pid: number): Promise<string | undefined> {
    const ex = this.opts.executor();
    if (!this.helpers || !ex || !pid) return Promise.resolve(undefined);
    return this.helpers.get({ cid, pid, socket: join(ex.paths.task(cid), 'exec-helper.sock'), config: join(ex.paths.bundle(cid), 'config.json') });
  }

  /** Exec IDs of container `cid` (inspect's ExecIDs). */
  idsOf(cid: string): string[] {
    return [...this.sessions.values()].filter((s) => s.cid === cid && s.exitCode === null).map((s) => s.id);
  }

  /** Creates a session in running container `ref`; returns its ID. */
  create(ref: string, config: ExecConfig): string {
    const { cid, pid } = this.opts.engine.pidOf(ref);
    // Warm the helper up while the client sends its start request.
    void this.helperOf(cid, pid);
    const live = new Set(this.opts.executor()?.list().map((c) => c.cid));
    for (const [id, s] of this.sessions) if (!live.has(s.cid)) this.sessions.delete(id);
    const id = this.newId();
    this.sessions.set(id, { id, cid, config, running: false, started: false, exitCode: null, pid: 0 });
    return id;
  }

  /** The session, or NoSuchExecError. */
  get(id: string): ExecSession {
    const s = this.sessions.get(id);
    if (!s) throw new NoSuchExecError(id);
    return s;
  }

  /** Docker's ExecInspect. */
  inspect(id: string): Record<string, unknown> {
    const s = this.get(id);
    const c = s.config;
    return {
      ID: s.id, Running: s.running, ExitCode: s.exitCode, ProcessConfig: { tty: !!c.Tty, entrypoint: c.Cmd![0], arguments: c.Cmd!.slice(1), privileged: !!c.Privileged, user: c.User ?? '' },
      OpenStdin: !!c.AttachStdin, OpenStderr: !!c.AttachStderr, OpenStdout: !!c.AttachStdout, CanRemove: false,
      ContainerID: s.cid, DetachKeys: '', Pid: s.pid,
    };
  }

  /** Throws unless session `id` can start now (not run yet, its container running). */
  ready(id: string): void {
    const s = this.get(id);
    if (s.started) throw new ContainerConflictError(`Error: Exec command ${id} has already run`);
    this.opts.engine.pidOf(s.cid);
  }

  /** Sets the terminal size (before start: remembered for it). Conflict when the exec has no TTY. */
  resize(id: string, height: number, width: number): void {
    const s = this.get(id);
    if (!s.config.Tty) throw new ContainerConflictError(`exec ${id} has no TTY to resize`);
    s.size = { height, width };
    s.resize?.(height, width);
  }

  /**
   * Runs the session once (`tty` from the start request overrides the config's). Resolves
   * with the exit code when the process ended; `io` undefined: detached, output dropped.
   */
  async start(id: string, io: ExecIo | undefined, opts: { tty?: boolean; consoleSize?: [number, number] | null } = {}): Promise<number> {
    const s = this.get(id);
    if (s.started) throw new ContainerConflictError(`Error: Exec command ${id} has already run`);
    const { cid, pid, view } = this.opts.engine.pidOf(s.cid);
    const ex = this.opts.executor()!;
    if (!view.process) throw new ContainerConflictError(`Container ${cid} has no process spec`);
    s.started = true;
    const config: ExecConfig = { ...s.config, Tty: opts.tty ?? s.config.Tty };
    const size = s.size ?? sizeOf(opts.consoleSize ?? config.ConsoleSize);
    const user = config.User ? resolveUser(config.User, readUserFiles(ex.paths.rootfs(cid))) : undefined;
    const proc = execProcess(view.process, config, { user, allCaps: this.opts.allCaps(), consoleSize: size });
    const caps = capabilityNumbers(proc.capabilities as Record<string, string[]> | undefined);
    // A TTY exec goes through runc for now: through the helper, busybox's `stty size` in the
    // exec'd shell failed (CI, session 5; cause not found yet), while runc's console works.
    // Interactive shells do not need the helper's speed; `docker exec TASK CMD` keeps it.
    const helper = caps === null || config.Tty ? undefined : await this.helperOf(cid, pid);
    if (helper) {
      try {
        return await this.startInHelper(s, helper, { ...proc, ...(caps ? { capabilities: caps } : {}) }, config, io);
      } catch {
        // The helper went away between its answer and our connect: runc exec below.
      }
    }
    const file = join(ex.paths.task(cid), `exec-${id.slice(0, 16)}.json`);
    writePrivateFile(file, JSON.stringify(proc));
    const runc = [ex.runtime.binary, '--root', ex.runtime.root, 'exec', '--process', file];
    let child: ChildProcess;
    if (config.Tty) {
      const sock = join(ex.paths.task(cid), `exec-${id.slice(0, 16)}.sock`);
      const pidFile = join(ex.paths.task(cid), `exec-${id.slice(0, 16)}.pid`);
      child = spawn(defaultPython(), [TTY_HELPER, sock, pidFile, ...runc, '--detach', '--console-socket', sock, '--pid-file', pidFile, cid], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
      const ctl = child.stdio[3] as Writable;
      ctl.on('error', () => {});
      s.resize = (h, w) => { if (s.running) ctl.write(`${h} ${w}\n`); };
    } else {
      child = spawn(runc[0], [...runc.slice(1), cid], { stdio: [io?.stdin && config.AttachStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    }
    s.running = true;
    s.pid = child.pid ?? 0;
    child.stdout!.on('data', (d: Buffer) => { if (config.AttachStdout !== false) io?.stdout(d); });
    child.stderr!.on('data', (d: Buffer) => { if (config.AttachStderr !== false) io?.stderr(d); });
    if (child.stdin) {
      child.stdin.on('error', () => {});
      if (io?.stdin && config.AttachStdin) {
        io.stdin.on('data', (d: Buffer) => child.stdin!.write(d));
        io.stdin.on('end', () => { if (!config.Tty) child.stdin!.end(); });
        // The router may have paused the connection after reading the request body.
        io.stdin.resume();
      } else if (config.Tty) child.stdin.end();
    }
    return new Promise<number>((resolve) => {
      child.on('error', () => {});
      child.on('close', (code, signal) => {
        rmSync(file, { force: true });
        resolve(this.finish(s, code ?? (signal ? 128 + 9 : -1)));
      });
    });
  }

  /** Runs session `s` in the helper at `socket`; rejects (nothing started) when it cannot connect. */
  private async startInHelper(s: ExecSession, socket: string, proc: Record<string, unknown>, config: ExecConfig, io: ExecIo | undefined): Promise<number> {
    const attachIn = !!(io?.stdin && config.AttachStdin);
    const onEvent = (ev: HelperEvent): void => {
      if (ev.kind === 'pid') s.pid = ev.pid;
      else if (ev.kind === 'stdout') { if (config.AttachStdout !== false) io?.stdout(ev.data); }
      else if (ev.kind === 'stderr') { if (config.AttachStderr !== false) io?.stderr(ev.data); }
      else if (ev.kind === 'error') {
        // Docker's words for a process that could not start (exit code 126).
        const msg = Buffer.from(`OCI runtime exec failed: exec failed: unable to start container process: ${ev.message}: unknown${config.Tty ? '\r\n' : '\n'}`);
        if (config.Tty) io?.stdout(msg); else io?.stderr(msg);
      }
    };
    const h = await runInHelper(socket, { ...proc, stdin: attachIn }, onEvent);
    s.running = true;
    s.resize = (height, width) => { if (s.running) h.resize(height, width); };
    if (io?.stdin && attachIn) {
      io.stdin.on('data', (d: Buffer) => h.write(d));
      io.stdin.on('end', () => h.end());
      // The router may have paused the connection after reading the request body.
      io.stdin.resume();
    }
    return this.finish(s, await h.done);
  }

  /** Records the exit code of `s`; it stays inspectable for keepFinishedMs. */
  private finish(s: ExecSession, code: number): number {
    s.running = false;
    s.exitCode = code;
    s.resize = undefined;
    const t = setTimeout(() => this.sessions.delete(s.id), this.opts.keepFinishedMs ?? 5 * 60_000);
    t.unref();
    return code;
  }
}

function sizeOf(c: [number, number] | null | undefined): { height: number; width: number } | undefined {
  return c && c[0] > 0 && c[1] > 0 ? { height: c[0], width: c[1] } : undefined;
}
