/**
 * Exec helpers: one long-lived `exec-helper.py` per running container, started at the
 * container's first exec (or its exec create), which has joined the container's
 * namespaces and forks each exec's process with the container's cgroups, seccomp filter
 * and the exec's process spec (see the script's doc). An exec then costs a connection
 * and two forks instead of a `runc exec` process (runc re-execs itself, sets up its
 * nsexec stages and loads the filter every time).
 *
 * The helper cannot serve every container; ExecManager falls back to `runc exec` when
 * `get` answers undefined: python3 missing, a container in its own user namespace, a
 * seccomp action or flag the helper does not implement (notify), a non-x86-64 host, or
 * a helper that died. The reason is logged once per container start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ALL_CAPABILITIES } from '../../api/spec/privileges.ts';
import { encodeFrame, Frame, FrameDecoder, resizeFrame, type HelperEvent } from './exec-frames.ts';

const SCRIPT = fileURLToPath(new URL('./exec-helper.py', import.meta.url));

/**
 * The distribution's interpreter when there is one: a `python3` found first on PATH may
 * be a version manager's shim (pyenv's took ~450 ms to start here), and the helper
 * needs only the standard library.
 */
export function defaultPython(): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** Where a container's helper finds what it needs. */
export interface HelperTarget {
  cid: string;
  /** The container's init PID. */
  pid: number;
  /** The helper's socket path (in the container's state dir). */
  socket: string;
  /** The container's OCI config.json (for its seccomp filter). */
  config: string;
}

/** Options of {@link ExecHelpers}. */
export interface ExecHelpersOptions {
  /** Python interpreter (default `/usr/bin/python3`, else `python3` on PATH). */
  python?: string;
  /** A helper exits after this long without a new exec, ms (default 10 min: a helper holds ~10 MB). */
  idleMs?: number;
  /** Warnings (a helper that cannot serve a container); default: none. */
  log?: (msg: string) => void;
}

interface Entry { pid: number; child?: ChildProcess; ready: Promise<boolean>; socket: string }

/** The helpers of one node's containers; each exits with its container's init or with this daemon. */
export class ExecHelpers {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: ExecHelpersOptions = {}) {}

  /**
   * Resolves with the socket of the ready helper of `t` (starting it if needed), or
   * undefined when no helper can serve it (callers use `runc exec`). Never rejects.
   */
  async get(t: HelperTarget): Promise<string | undefined> {
    let e = this.entries.get(t.cid);
    if (e && e.pid !== t.pid) { this.drop(t.cid, e); e = undefined; }
    if (!e) { e = this.start(t); this.entries.set(t.cid, e); }
    return (await e.ready) ? e.socket : undefined;
  }

  /** Stops every helper (tests; the daemon's helpers go when its stdin pipes close). */
  close(): void {
    for (const [cid, e] of this.entries) this.drop(cid, e);
  }

  private drop(cid: string, e: Entry): void {
    if (this.entries.get(cid) === e) this.entries.delete(cid);
    e.child?.stdin?.destroy();
    if (e.child?.exitCode === null) e.child.kill('SIGKILL');
  }

  private start(t: HelperTarget): Entry {
    const e: Entry = { pid: t.pid, socket: t.socket, ready: Promise.resolve(false) };
    e.ready = new Promise<boolean>((resolve) => {
      let child: ChildProcess;
      try {
        child = spawn(this.opts.python ?? defaultPython(), ['-I', '-S', SCRIPT, t.socket, String(t.pid), t.config, String(this.opts.idleMs ?? 600_000)], { stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (err) {
        this.opts.log?.(`exec helper: ${t.cid}: cannot start: ${(err as Error).message}; using runc exec`);
        resolve(false);
        return;
      }
      e.child = child;
      let out = ''; let err = ''; let refused = false;
      const refuse = (why: string) => {
        if (!refused) this.opts.log?.(`exec helper: ${t.cid}: cannot serve (${why}): ${err.trim().slice(0, 500)}; using runc exec`);
        refused = true;
        resolve(false);
      };
      child.stdout!.on('data', (d: Buffer) => { out += d; if (out.includes('ready\n')) resolve(true); });
      child.stderr!.on('data', (d: Buffer) => { err += d; });
      child.stdin!.on('error', () => {});
      child.on('error', (x) => { err += x.message; refuse('spawn'); });
      child.on('close', (code) => {
        if (!out.includes('ready\n')) refuse(`exit ${code}`);
        // Unavailable helpers stay recorded (no retry until the container's init changes).
        if (out.includes('ready\n') && this.entries.get(t.cid) === e) this.entries.delete(t.cid);
        rmSync(t.socket, { force: true });
        resolve(false);
      });
    });
    return e;
  }
}

/** Capability names → numbers (the helper's form); undefined when a name is unknown. */
export function capabilityNumbers(caps: Record<string, string[]> | undefined): Record<string, number[]> | undefined | null {
  if (!caps) return undefined;
  const out: Record<string, number[]> = {};
  for (const [set, names] of Object.entries(caps)) {
    const nums = names.map((n) => ALL_CAPABILITIES.indexOf(n));
    if (nums.includes(-1)) return null;
    out[set] = nums;
  }
  return out;
}

/** One exec running in a helper. */
export interface HelperExec {
  /** Bytes to the process's stdin (or terminal). */
  write(data: Buffer): void;
  /** Closes the process's stdin (ignored with a terminal, as runc does). */
  end(): void;
  resize(height: number, width: number): void;
  /** Resolves with the exit code (126 with `error` when the process could not start). */
  done: Promise<number>;
}

/**
 * Runs OCI process `proc` (exec-process.ts, capabilities as numbers) through the helper
 * at `socket`. Resolves once the helper answered (the process's PID, or why it could not
 * start); rejects when the helper is gone or closed the connection unanswered (it was
 * leaving): nothing ran, the caller may use runc exec.
 */
export function runInHelper(socket: string, proc: Record<string, unknown>, on: (ev: HelperEvent) => void): Promise<HelperExec> {
  return new Promise((resolve, reject) => {
    const sock: Socket = createConnection(socket);
    const decoder = new FrameDecoder();
    let answered = false;
    let exit: number | undefined;
    let settle: (code: number) => void = () => {};
    const done = new Promise<number>((r) => { settle = r; });
    const send = (b: Buffer) => { if (!sock.destroyed) sock.write(b); };
    const run: HelperExec = {
      write: (d) => { if (d.length) send(encodeFrame(Frame.STDIN, d)); },
      end: () => send(encodeFrame(Frame.STDIN_EOF)),
      resize: (h, w) => send(resizeFrame(h, w)),
      done,
    };
    sock.once('connect', () => sock.write(JSON.stringify(proc) + '\n'));
    sock.on('data', (d: Buffer) => {
      let events: HelperEvent[];
      try { events = decoder.push(d); } catch (err) { events = [{ kind: 'error', message: (err as Error).message }]; sock.destroy(); }
      if (!answered && events.length) { answered = true; resolve(run); }
      for (const ev of events) {
        on(ev);
        // Output frames came before it: the exec is over for the client now.
        if (ev.kind === 'exit') { exit = ev.code; settle(ev.code); }
      }
    });
    sock.on('error', (err) => { if (!answered) reject(err); });
    sock.on('close', () => {
      if (!answered) { reject(new Error('exec helper: connection closed unanswered')); return; }
      if (exit === undefined) on({ kind: 'error', message: 'exec helper: connection lost before the exit code' });
      settle(exit ?? 126);
    });
  });
}
