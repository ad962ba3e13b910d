/**
 * Client of the per-daemon exec monitor (`monitor.pl`): the subreaper that runs
 * `runc run -d` and reports container exits. One monitor per state directory; it
 * survives the daemon, so `connectMonitor` first tries the existing socket and only
 * starts a new monitor when none answers.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { PRIVATE_FILE_MODE, privateDir } from './private-fs.ts';
import { lineSplitter } from '../../common/lines.ts';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./monitor.pl', import.meta.url));

/** The monitor is gone or did not start. */
export class MonitorError extends Error {
  override readonly name = 'MonitorError';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) { super(`exec: monitor: ${message}`, options); }
}

/** A raw wait(2) status decoded. */
export interface WaitStatus { exitCode: number; signal?: string }

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 6: 'SIGABRT', 7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL',
  10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM',
};

/** Decodes a wait status: exit code, or 128+N and the signal name when signalled. */
export function decodeWaitStatus(st: number): WaitStatus {
  const sig = st & 0x7f;
  if (sig === 0) return { exitCode: (st >> 8) & 0xff };
  return { exitCode: 128 + sig, signal: SIGNALS[sig] ?? `SIG${sig}` };
}

/** Signal name or number → number (`SIGTERM`, `TERM`, `15`). */
export function signalNumber(s: string | number): number {
  if (typeof s === 'number') return s;
  if (/^\d+$/.test(s)) return Number(s);
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  const n = Object.entries(SIGNALS).find(([, v]) => v === name);
  if (!n) throw new MonitorError(`unknown signal ${s}`);
  return Number(n[0]);
}

/** An exit the monitor saw: container ID, its PID and raw wait status. */
export interface MonitorExit { id: string; pid: number; status: number }

/**
 * A connection to the monitor. Events: `exit` (MonitorExit), `close`.
 * Requests are answered in order per kind; `run` answers carry the request number.
 */
export class MonitorClient extends EventEmitter {
  private nextReq = 1;
  private readonly runs = new Map<string, (r: { status: number; pid: number }) => void>();
  private readonly kills: ((ok: boolean) => void)[] = [];
  private readonly pings: ((pid: number) => void)[] = [];
  private readonly fifos: ((ok: boolean) => void)[] = [];
  private readonly results = new Map<string, (f: string[]) => void>();
  /** PID of the monitor process (from its answer to ping). */
  pid = 0;

  constructor(private readonly sock: Socket, readonly dir: string) {
    super();
    sock.setEncoding('utf8');
    sock.on('data', lineSplitter((line) => this.onLine(line)));
    sock.on('error', () => {});
    sock.on('close', () => {
      for (const r of this.runs.values()) r({ status: -1, pid: 0 });
      this.runs.clear();
      for (const k of this.kills.splice(0)) k(false);
      for (const k of this.fifos.splice(0)) k(false);
      for (const r of this.results.values()) r(['monitor gone', '']);
      this.results.clear();
      this.emit('close');
    });
  }

  private onLine(line: string): void {
    const f = line.split('\t');
    if (f[0] === 'ran') {
      const cb = this.runs.get(f[1]);
      this.runs.delete(f[1]);
      cb?.({ status: Number(f[2]), pid: Number(f[3]) });
    } else if (f[0] === 'exit') {
      this.emit('exit', { id: f[1], pid: Number(f[2]), status: Number(f[3]) } satisfies MonitorExit);
    } else if (f[0] === 'killed') {
      this.kills.shift()?.(f[2] === '1');
    } else if (f[0] === 'res') {
      const cb = this.results.get(f[1]);
      this.results.delete(f[1]);
      cb?.(f.slice(2));
    } else if (f[0] === 'made') {
      this.fifos.shift()?.(f[1] === '1');
    } else if (f[0] === 'pong') {
      this.pings.shift()?.(Number(f[1]));
    }
  }

  /** Runs `argv` (a `runc run -d …`) under the monitor with stdout/stderr on the two FIFOs. */
  run(id: string, argv: string[], io: { stdout: string; stderr: string; pidFile: string }): Promise<{ status: number; pid: number }> {
    const req = String(this.nextReq++);
    return new Promise((resolve) => {
      this.runs.set(req, resolve);
      this.sock.write(['run', req, id, io.stdout, io.stderr, io.pidFile, argv.join('\x1f')].join('\t') + '\n');
    });
  }

  /** Sends `signal` to the container's init process if the monitor still tracks it. */
  kill(id: string, signal: string | number): Promise<boolean> {
    return new Promise((resolve) => {
      this.kills.push(resolve);
      this.sock.write(`kill\t${id}\t${signalNumber(signal)}\n`);
    });
  }

  private ask(cmd: string, args: (string | number)[]): Promise<string[]> {
    const req = String(this.nextReq++);
    return new Promise((resolve) => {
      this.results.set(req, resolve);
      this.sock.write([cmd, req, ...args].join('\t') + '\n');
    });
  }

  /** mount(2) inside the monitor; throws MonitorError with the errno text. */
  async mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void> {
    const [err] = await this.ask('mount', [source, target, fstype, flags, data]);
    if (err) throw new MonitorError(`mount ${fstype} on ${target}: ${err}`);
  }

  /** umount2(2) inside the monitor (flags: 2 = MNT_DETACH); resolves with the errno text or ''. */
  async umount(target: string, flags = 0): Promise<string> {
    const [err] = await this.ask('umount', [target, flags]);
    return err ?? '';
  }

  /** A new network namespace bound at `path` with `lo` up, made by the monitor (no process spawned). */
  async netns(path: string): Promise<void> {
    const [err] = await this.ask('netns', [path]);
    if (err) throw new MonitorError(`netns ${path}: ${err}`);
  }

  /** Runs `argv` as a child of the monitor (cheaper to fork than the daemon); stderr comes back. */
  async exec(argv: string[]): Promise<{ code: number; stderr: string }> {
    const [st, hex] = await this.ask('exec', [argv.join('\x1f')]);
    const status = Number(st);
    return { code: status < 0 ? -1 : status & 0x7f ? 128 + (status & 0x7f) : status >> 8, stderr: Buffer.from(hex ?? '', 'hex').toString('utf8') };
  }

  /** Creates FIFOs (mode 0600) unless they exist. */
  async mkfifo(paths: string[]): Promise<void> {
    const ok = await new Promise<boolean>((resolve) => {
      this.fifos.push(resolve);
      this.sock.write(['mkfifo', ...paths].join('\t') + '\n');
    });
    if (!ok) throw new MonitorError(`mkfifo ${paths.join(' ')} failed`);
  }

  ping(): Promise<number> {
    return new Promise((resolve) => {
      this.pings.push(resolve);
      this.sock.write('ping\n');
    });
  }

  /** Asks the monitor to exit once no container it started runs. */
  quit(): void { this.sock.write('quit\n'); }

  /**
   * Says goodbye for a daemon stopping gracefully and ends the connection (its buffered line
   * still goes out): the monitor then exits once no container runs and no daemon is
   * connected, so a stopped daemon with nothing running leaves no process behind, while
   * running containers keep theirs for the next daemon (which cancels it by connecting).
   */
  release(): void { this.sock.end('release\n'); }

  close(): void { this.sock.destroy(); }

  /** Exit statuses recorded while nobody listened: `<dir>/exits/<id>`. */
  recordedExit(id: string): { status: number; pid: number } | undefined {
    try {
      const [st, pid] = readFileSync(join(this.dir, 'exits', id), 'utf8').trim().split(' ').map(Number);
      return { status: st, pid };
    } catch { return undefined; }
  }
}

function tryConnect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
}

/**
 * Connects to the monitor of `dir`, starting one (detached, in its own session) when
 * none answers. The monitor's stderr goes to `<dir>/monitor.log`.
 */
export async function connectMonitor(dir: string): Promise<MonitorClient> {
  privateDir(dir);
  const sockPath = join(dir, 'monitor.sock');
  let s = await tryConnect(sockPath);
  if (!s) {
    const log = openSync(join(dir, 'monitor.log'), 'a', PRIVATE_FILE_MODE);
    const child = spawn('perl', [SCRIPT, dir], { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    let exited = false;
    child.once('exit', () => { exited = true; });
    for (let i = 0; i < 200 && !s; i++) {
      await new Promise((r) => setTimeout(r, 5));
      if (exited) break;
      s = await tryConnect(sockPath);
    }
    if (!s) throw new MonitorError(`did not start (see ${join(dir, 'monitor.log')})`);
  }
  const c = new MonitorClient(s, dir);
  c.pid = await c.ping();
  return c;
}
