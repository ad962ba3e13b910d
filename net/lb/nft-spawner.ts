/**
 * Starts `nft -i` in named network namespaces through one small long-lived helper
 * (`nft-spawner.pl`, a child on Node's IPC channel) and hands back a socket on nft's
 * stdin, stdout and stderr. The daemon spawning each session itself forks the whole Node
 * process: 14 ms of event loop a spawn at 158 MB RSS on this project's PVM machine, which
 * 20 attaches at once paid twenty times (net/lb/nft-session.ts). The helper's fork is
 * cheap; the daemon sends a line.
 *
 *   const sp = new NftSpawner();
 *   const { socket, pid } = await sp.start('t-1234');
 *   sp.kill(pid); // only while the helper has not reaped it
 *   sp.close();
 *
 * When the helper cannot run or dies, requests in flight fail and later ones start it
 * again; `NftSession` then spawns nft itself for that start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { NftError } from './errors.ts';

const SCRIPT = fileURLToPath(new URL('./nft-spawner.pl', import.meta.url));

interface Pending {
  resolve: (v: { socket: Socket; pid: number }) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface NftSpawnerOptions {
  /** The perl binary. Default `perl`. */
  perl?: string;
  /** A start without an answer after this many ms fails. Default 10000. */
  timeoutMs?: number;
}

/** Holds (or lets go of) the helper's process, IPC channel and stderr pipe as handles of the event loop. */
function hold(child: ChildProcess, on: boolean): void {
  const handles = [child, (child as unknown as { channel?: object }).channel, child.stderr] as ({ ref?: () => void; unref?: () => void } | undefined)[];
  for (const h of handles) {
    if (on) h?.ref?.(); else h?.unref?.();
  }
}

/** The helper, started on first use and again after it died. */
export class NftSpawner {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failed = false;

  constructor(private readonly opts: NftSpawnerOptions = {}) {}

  /** The helper's PID while it runs (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * False once the helper could not start or died on its own (perl missing, a crash), until
   * a later start through it succeeds; true before its first use. Callers that would
   * otherwise fork the daemon per session ask this first (task-vip-runner.ts).
   */
  get working(): boolean {
    return !this.failed;
  }

  /** `nft -i` in `netns` (a name under /run/netns; undefined: the daemon's own), its stdio on the socket. */
  start(netns: string | undefined, nft = 'nft'): Promise<{ socket: Socket; pid: number }> {
    if (netns !== undefined && !/^[A-Za-z0-9_.-]+$/.test(netns)) return Promise.reject(new NftError(`invalid netns name "${netns}"`, ''));
    if (nft !== 'nft' && !/^\/[A-Za-z0-9_./-]+$/.test(nft)) return Promise.reject(new NftError(`the nft binary must be "nft" or an absolute path: "${nft}"`, ''));
    const child = this.helper();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, new NftError(`the nft spawner did not answer in ${this.opts.timeoutMs ?? 10_000} ms`, '')), this.opts.timeoutMs ?? 10_000);
      this.pending.set(id, { resolve, reject, timer });
      hold(child, true);
      child.send(`start ${id} ${netns ?? '-'} ${nft}`);
    });
  }

  /** SIGKILLs `pid` if it is an nft this helper started and has not reaped yet. */
  kill(pid: number): void {
    if (this.child && Number.isInteger(pid) && pid > 0) this.child.send(`kill ${pid}`);
  }

  /**
   * Ends the helper (the sessions' sockets stay the callers'); a later start starts it
   * again. By closing its channel, not by a signal: it reads what was sent before (a kill
   * of a hung nft among it), then ends at EOF.
   */
  close(): void {
    const child = this.child;
    this.child = undefined;
    if (child?.connected) child.disconnect();
    for (const id of [...this.pending.keys()]) this.settle(id, new NftError('the nft spawner closed', ''));
  }

  private helper(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(this.opts.perl ?? 'perl', [SCRIPT], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr!.on('data', (d) => { if (stderr.length < 4096) stderr += d; });
    child.on('message', (msg: unknown, handle: unknown) => {
      const m = msg as { id?: number; pid?: number; error?: string };
      if (typeof m?.id !== 'number') return;
      if (m.error !== undefined) this.settle(m.id, new NftError(`the nft spawner could not start nft: ${m.error}`, ''));
      else if (handle && typeof m.pid === 'number') {
        this.failed = false;
        this.settle(m.id, undefined, { socket: handle as Socket, pid: m.pid });
      }
    });
    const gone = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.failed = true;
      for (const id of [...this.pending.keys()]) this.settle(id, new NftError(`the nft spawner ended (${why})`, stderr));
    };
    child.on('error', (err) => gone(err.message));
    child.on('exit', (code, signal) => gone(signal ?? `exit ${code}`));
    // Idle, it never keeps the daemon (or a test) running; a start holds it until answered.
    hold(child, false);
    this.child = child;
    return child;
  }

  private settle(id: number, err: Error | undefined, v?: { socket: Socket; pid: number }): void {
    const p = this.pending.get(id);
    if (!p) {
      v?.socket.destroy(); // an answer after its timeout: nobody wants that session
      return;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (this.pending.size === 0 && this.child) hold(this.child, false);
    if (err) p.reject(err);
    else p.resolve(v!);
  }
}
