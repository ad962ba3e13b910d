/**
 * The terminal of a standalone container's main process (`docker run -t`): a
 * `tty-relay.py` child that receives the pty master from runc's console socket and
 * relays it (Node cannot take a file descriptor from a unix socket). Output goes to
 * every attached client and to the container's stdout FIFO (so `docker logs` has it);
 * input from attached clients goes to the terminal; `resize` sets its window size.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';

const HELPER = fileURLToPath(new URL('./tty-relay.py', import.meta.url));

/** One container's terminal relay. */
export class TtyRelay {
  private readonly listeners = new Set<(d: Buffer) => void>();
  private readonly endListeners = new Set<() => void>();
  /** True once the terminal closed (every process of the container is gone). */
  ended = false;

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => { for (const fn of this.listeners) fn(d); });
    child.on('close', () => {
      this.ended = true;
      for (const fn of this.endListeners) fn();
    });
    child.stdin!.on('error', () => {});
    (child.stdio[3] as Writable).on('error', () => {});
  }

  /**
   * Starts the relay listening on `<dir>/console.sock` (the executor's task dir, where
   * the controller points runc) and resolves once it listens. `size`: [height, width].
   */
  static async start(opts: { dir: string; size?: [number, number] }): Promise<TtyRelay> {
    const child = spawn('python3', [HELPER, join(opts.dir, 'console.sock'), join(opts.dir, 'stdout')], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const onData = (d: Buffer) => {
        err += d.toString();
        if (err.includes('ready\n')) { child.stderr!.off('data', onData); resolve(); }
      };
      child.stderr!.on('data', onData);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`standalone: the terminal relay exited (${code}): ${err.trim()}`)));
    });
    child.removeAllListeners('exit');
    child.removeAllListeners('error');
    child.on('error', () => {});
    const relay = new TtyRelay(child);
    if (opts.size) relay.resize(opts.size[0], opts.size[1]);
    return relay;
  }

  /** Calls `fn` with each output chunk until the returned function is called. */
  onData(fn: (d: Buffer) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Calls `fn` once the terminal closed (at once if it has). */
  onEnd(fn: () => void): () => void {
    if (this.ended) { fn(); return () => {}; }
    this.endListeners.add(fn);
    return () => this.endListeners.delete(fn);
  }

  /** Input for the terminal. */
  write(d: Buffer): void { if (!this.ended) this.child.stdin!.write(d); }

  /** Sets the window size. */
  resize(height: number, width: number): void {
    if (!this.ended) (this.child.stdio[3] as Writable).write(`${height} ${width}\n`);
  }

  /** Stops the relay (the terminal closes; a shell in it gets SIGHUP). */
  close(): void {
    if (!this.ended) this.child.kill('SIGTERM');
  }
}
