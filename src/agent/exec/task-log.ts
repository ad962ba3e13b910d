/**
 * A task's captured stdout/stderr. The container writes into two FIFOs that it
 * holds open read-write itself, so it never gets EPIPE while no daemon reads (a
 * restarted daemon finds what was written meanwhile in the pipe buffer, 64 KiB;
 * a full pipe blocks the writer, as Docker's blocking log mode does). The daemon
 * opens them read-write too, before the container starts, so output of a process
 * that exits at once is not lost; hence no end-of-file: the controller calls
 * finish() after the exit. Lines are stamped and appended to `container.log`
 * (json-file format), rotated at `maxSize` keeping `maxFiles`. No helper process.
 */
import { EventEmitter } from 'node:events';
import { appendFileSync, constants, openSync, readFileSync, renameSync, rmSync, statSync, existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE, privateDir } from './private-fs.ts';
import { LineFramer, parseEntries, selectEntries, shouldRotate, type LogEntry, type LogSelect } from './log-framer.ts';

/** Rotation limits. */
export interface LogLimits {
  /** Bytes per file before rotation; default 10 MiB. */
  maxSize?: number;
  /** Files kept including the current one; default 3. */
  maxFiles?: number;
}

/** Events: `entry` (LogEntry), `end` (both streams closed). */
export class TaskLog extends EventEmitter {
  readonly file: string;
  private size: number;
  private readonly maxSize: number;
  private readonly maxFiles: number;
  private readers: Socket[] = [];
  private framers: ['stdout' | 'stderr', LineFramer][] = [];
  /** True once every attached stream reached end of file. */
  ended = false;

  constructor(readonly dir: string, limits: LogLimits = {}, private readonly now: () => Date = () => new Date()) {
    super();
    this.setMaxListeners(0);
    privateDir(dir);
    this.file = join(dir, 'container.log');
    this.size = existsSync(this.file) ? statSync(this.file).size : 0;
    this.maxSize = limits.maxSize ?? 10 * 1024 * 1024;
    this.maxFiles = Math.max(1, limits.maxFiles ?? 3);
  }

  /** Starts reading the FIFOs (opened non-blocking; the event loop, not the thread pool, waits). */
  attach(fifos: { stdout: string; stderr: string }): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const fd = openSync(fifos[stream], constants.O_RDWR | constants.O_NONBLOCK);
      const sock = new Socket({ fd, readable: true, writable: false });
      const framer = new LineFramer();
      this.framers.push([stream, framer]);
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => this.append(stream, framer.push(d)));
      sock.on('error', () => {});
      this.readers.push(sock);
    }
  }

  /** After the container exited: reads what is still buffered (`drainMs`), then ends. */
  async finish(drainMs = 5): Promise<void> {
    if (this.ended) return;
    await new Promise((r) => setTimeout(r, drainMs));
    for (const [stream, f] of this.framers) this.append(stream, f.flush());
    this.detach();
    this.ended = true;
    this.emit('end');
  }

  /** Appends lines of one stream (one write per chunk) and notifies followers. */
  append(stream: 'stdout' | 'stderr', lines: string[]): void {
    if (lines.length === 0) return;
    const time = this.now().toISOString();
    const entries = lines.map((log) => ({ log, stream, time }));
    let batch = '';
    for (const e of entries) {
      const line = JSON.stringify(e) + '\n';
      const bytes = Buffer.byteLength(line);
      if (shouldRotate(this.size + Buffer.byteLength(batch), bytes, this.maxSize)) {
        if (batch) appendFileSync(this.file, batch, { mode: PRIVATE_FILE_MODE });
        batch = '';
        this.rotate();
      }
      batch += line;
    }
    appendFileSync(this.file, batch, { mode: PRIVATE_FILE_MODE });
    this.size += Buffer.byteLength(batch);
    for (const e of entries) this.emit('entry', e);
  }

  private rotate(): void {
    rmSync(`${this.file}.${this.maxFiles - 1}`, { force: true });
    for (let i = this.maxFiles - 2; i >= 1; i--) {
      if (existsSync(`${this.file}.${i}`)) renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
    }
    if (this.maxFiles > 1) renameSync(this.file, `${this.file}.1`);
    else rmSync(this.file, { force: true });
    this.size = 0;
  }

  /** Stops reading (the FIFOs stay; a later daemon may attach again). */
  detach(): void {
    for (const r of this.readers) r.destroy();
    this.readers = [];
  }
}

/** Reads the stored entries of a log directory (rotated files first). */
export function readStored(dir: string, sel: LogSelect = {}, maxFiles = 10): LogEntry[] {
  const file = join(dir, 'container.log');
  let text = '';
  for (let i = maxFiles; i >= 1; i--) { try { text += readFileSync(`${file}.${i}`, 'utf8'); } catch { /* absent */ } }
  try { text += readFileSync(file, 'utf8'); } catch { /* absent */ }
  return selectEntries(parseEntries(text), sel);
}

/**
 * Stored entries, then (with `follow` and a live log) new ones until the log ends or
 * `signal` aborts. Reading and subscribing happen in one tick, so no line is lost
 * or repeated.
 */
export async function* readLogs(dir: string, live: TaskLog | undefined, opts: LogSelect & { follow?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<LogEntry> {
  const queue: LogEntry[] = [];
  let wake: (() => void) | undefined;
  let done = !opts.follow || !live || live.ended;
  const onEntry = (e: LogEntry) => { queue.push(e); wake?.(); };
  const onEnd = () => { done = true; wake?.(); };
  const stored = readStored(dir, opts);
  if (!done) {
    live!.on('entry', onEntry);
    live!.once('end', onEnd);
    opts.signal?.addEventListener('abort', onEnd, { once: true });
  }
  try {
    yield* stored;
    while (true) {
      while (queue.length) {
        const e = queue.shift()!;
        if (opts.until === undefined || Date.parse(e.time) <= opts.until) yield e;
      }
      if (done) break;
      await new Promise<void>((r) => { wake = r; });
      wake = undefined;
    }
  } finally {
    live?.off('entry', onEntry);
    live?.off('end', onEnd);
  }
}
