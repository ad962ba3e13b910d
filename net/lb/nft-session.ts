/**
 * An `NftRunner` that keeps one `nft -i` running in its network namespace and applies each
 * text through it: the text goes to a file, the session gets `include "FILE"` (one
 * transaction, as `nft -f FILE`) and then a fixed command whose fixed answer marks the
 * include done; anything nft said before that answer is the include's error.
 *
 * Why: `nsenter --net=… nft -f` starts two processes per apply, and a VIP table changes on
 * every rotation change of every task's netns. On this project's PVM machine a process
 * start costs ~10 ms (more under load), so the process starts were most of the time from a
 * task running to its place in the VIPs' rotation. Measured here, one table replaced in a
 * netns, 30 alternating pairs while the suite ran beside: p50 5.1 ms through a session
 * against 59.3 ms through `nsenter … nft -f`; quiet, a 20-service table: p50 2.4–3.1 ms.
 *
 *   const nft = new NftSession({ netns: 't-abc' });
 *   await nft.apply(renderReplace(services));
 *   await nft.close(); // before the netns is deleted: a process inside keeps it alive
 *
 * The session belongs to one namespace *instance*: the inode `/run/netns/NAME` points to is
 * checked on every apply, so a namespace deleted and made again under the same name gets a
 * new session. A session lives until `stop` or `close` (it keeps its namespace alive: close
 * it before deleting the namespace), and is started again after `maxApplies` (nft -i keeps
 * a history in memory) and when it died or timed out. It does not end when idle: a VIP
 * table changes when a service scales after hours of quiet, and that is when a started
 * session pays off (a cold start costs the process starts it saves). Its cost while it
 * runs: ~2.3 MB private memory after 200 applies of a 20-service table, 2.7 MB after 2,000
 * (measured with smaps_rollup); a `SessionCap` bounds how many of a node's run at once. The daemon dying closes the session's stdin: nft ends at EOF.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { NftError } from './errors.ts';
import type { NftRunner } from './nft.ts';
import type { NftSpawner } from './nft-spawner.ts';
import type { SessionCap } from './session-cap.ts';
import { NETNS_RUN_DIR } from '../netlink/messages.ts';

/** Where and how an {@link NftSession} runs nft. */
export interface NftSessionOptions {
  /** Named network namespace (`/run/netns/NAME`); absent: the caller's own namespace. */
  netns?: string;
  /** The nft binary. Default `nft`. */
  nft?: string;
  /** An apply that has no answer after this many ms fails and ends the session. Default 10000. */
  timeoutMs?: number;
  /** The session is started again after this many applies. Default 5000. */
  maxApplies?: number;
  /**
   * Starts nft through this helper (no fork of the caller's process, see nft-spawner.ts);
   * when it fails, or without one, the session spawns `nsenter … sh -c 'exec nft -i 2>&1'`.
   */
  spawner?: NftSpawner;
  /** Counts this session among a node's running ones and stops the least recently used beyond its limit (session-cap.ts). */
  cap?: SessionCap;
}

/** A command with a fixed answer: sent after each include, its answer marks the include done. */
const MARK_COMMAND = 'describe ip version';
const MARK_ANSWER = 'payload expression, datatype integer (integer), 4 bits\n';
/** Ruleset files this process has written (their names' sequence). */
let rulesetFiles = 0;
/** At most this much of nft's words is kept for an error. */
const MAX_OUTPUT = 16_384;

/** A started `nft -i`: where its commands go, where its words come from (stdout and stderr joined), how it is ended. */
interface Launched {
  readonly pid: number;
  readonly input: Writable;
  readonly output: Readable;
  /** Handles that must not keep the caller's process running while the session idles. */
  readonly handles: { ref?: () => void; unref?: () => void }[];
  /** Resolves with why, once nft is gone. */
  readonly ended: Promise<string>;
  kill(): void;
}

/** nft spawned by the caller (no spawner, or it failed): `sh` joins nft's stderr to its stdout. */
function launchChild(argv: string[]): Launched {
  // HOME: nft -i writes its history to $HOME/.nft.history when it ends; not into root's home.
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, HOME: '/nonexistent' } });
  const ended = new Promise<string>((resolve) => {
    child.on('error', (err) => resolve(err.message));
    child.on('close', (code, signal) => resolve(signal ?? `exit ${code}`));
  });
  return { pid: child.pid ?? -1, input: child.stdin!, output: child.stdout!, handles: [child, child.stdin, child.stdout] as unknown as Launched['handles'], ended, kill: () => child.kill('SIGKILL') };
}

/** nft started by the spawner: one socket is its stdin, stdout and stderr. */
function launchedBySpawner(socket: Socket, pid: number, spawner: NftSpawner): Launched {
  const ended = new Promise<string>((resolve) => {
    socket.on('error', () => { /* 'close' follows */ });
    socket.on('close', () => resolve('its socket closed'));
  });
  return { pid, input: socket, output: socket, handles: [socket], ended, kill: () => { spawner.kill(pid); socket.destroy(); } };
}

/** One running `nft -i`. */
class Session {
  applies = 0;
  exited = false;
  /** The inode of the namespace nft runs in (read once it answered), undefined for the caller's own. */
  netnsInode: number | undefined;
  private out = '';
  private waiter: { resolve: (said: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout } | undefined;
  private readonly ended: Promise<void>;

  constructor(readonly nft: Launched, private readonly where: string) {
    nft.output.setEncoding('utf8');
    nft.output.on('data', (d: string) => this.heard(d));
    nft.input.on('error', () => { /* the end handler reports it */ });
    this.hold(false);
    this.ended = nft.ended.then((why) => {
      this.exited = true;
      this.fail(new NftError(`nft session${this.where} ended (${why})`, this.out));
    });
  }

  get pid(): number {
    return this.nft.pid;
  }

  /** Sends `input` and resolves with what nft said before the mark's answer. */
  send(input: string, timeoutMs: number): Promise<string> {
    if (this.exited) return Promise.reject(new NftError(`nft session${this.where} ended`, ''));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new NftError(`nft session${this.where}: no answer after ${timeoutMs} ms`, this.out));
        this.nft.kill();
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
      this.out = '';
      this.hold(true);
      this.nft.input.write(`${input}${MARK_COMMAND}\n`);
    });
  }

  /**
   * An idle session never keeps its process (a daemon, a test) running: its handles are
   * held only while an apply waits for nft (the daemon exiting closes nft's stdin: it ends).
   */
  private hold(on: boolean): void {
    for (const h of this.nft.handles) {
      if (on) h.ref?.(); else h.unref?.();
    }
  }

  private heard(d: string): void {
    this.out = (this.out + d).slice(-MAX_OUTPUT);
    const at = this.out.indexOf(MARK_ANSWER);
    if (at < 0 || !this.waiter) return;
    const { resolve, timer } = this.waiter;
    this.waiter = undefined;
    clearTimeout(timer);
    this.hold(false);
    const said = this.out.slice(0, at);
    this.out = this.out.slice(at + MARK_ANSWER.length);
    resolve(said);
  }

  private fail(err: Error): void {
    const w = this.waiter;
    this.waiter = undefined;
    if (!w) return;
    clearTimeout(w.timer);
    this.hold(false);
    w.reject(err);
  }

  /** Ends nft (EOF, then SIGKILL after `graceMs`) and resolves once its stdio closed (see stop()). */
  async end(graceMs = 1000): Promise<void> {
    if (!this.exited) {
      this.hold(true); // until it is gone: a caller awaits that
      this.nft.input.end();
      const timer = setTimeout(() => this.nft.kill(), graceMs);
      await this.ended;
      clearTimeout(timer);
    }
  }
}

/**
 * The inode of a namespace file, which names the namespace instance: `/run/netns/NAME`, or
 * `/proc/PID/ns/net` (stat follows it to the namespace); undefined when it is gone.
 */
function nsInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Applies nftables text through a long-lived `nft -i` in one namespace (see the file comment). */
export class NftSession implements NftRunner {
  private session: Session | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly where: string;

  constructor(private readonly opts: NftSessionOptions = {}) {
    if (opts.netns !== undefined && !/^[A-Za-z0-9_.-]+$/.test(opts.netns)) throw new NftError(`invalid netns name "${opts.netns}"`, '');
    this.where = opts.netns === undefined ? '' : ` in netns ${opts.netns}`;
  }

  /** The PID of the running `nft -i`, if one runs (tests). */
  get pid(): number | undefined {
    return this.session && !this.session.exited ? this.session.pid : undefined;
  }

  /** Resolves when the kernel took the whole text; rejects with `NftError` and changes nothing otherwise. Calls run one at a time. */
  apply(text: string): Promise<void> {
    const next = this.chain.then(() => this.applyNow(text));
    this.chain = next.catch(() => {});
    return next;
  }

  /** Starts nft now if none runs (after an apply in flight), so the next apply finds it warm; rejects as an apply would. */
  warm(): Promise<void> {
    const next = this.chain.then(async () => {
      if (this.closed) throw new NftError(`nft session${this.where} is closed`, '');
      await this.current();
      this.opts.cap?.used(this);
    });
    this.chain = next.catch(() => {});
    return next;
  }

  /**
   * Ends the running nft, if any, after an apply in flight; a later apply starts another.
   * Resolves once nft has closed its end of the pipe or socket: it is exiting, and its PID
   * goes soon after (when its parent reaps it).
   */
  async stop(): Promise<void> {
    const done = this.chain.then(async () => {
      const s = this.session;
      this.session = undefined;
      this.opts.cap?.forget(this);
      await s?.end();
    });
    this.chain = done;
    await done;
  }

  /** Ends the session (resolves as stop() does) and refuses later applies. */
  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    this.opts.cap?.forget(this); // after an apply in flight, which counted it
    await this.session?.end();
    this.session = undefined;
  }

  private get netnsPath(): string | undefined {
    return this.opts.netns === undefined ? undefined : join(NETNS_RUN_DIR, this.opts.netns);
  }

  private async applyNow(text: string): Promise<void> {
    if (this.closed) throw new NftError(`nft session${this.where} is closed`, '');
    const s = await this.current();
    this.opts.cap?.used(this);
    // A file of its own per apply, made with O_EXCL in the shared tmp directory (no symlink
    // planted there is followed) and removed after: no directory to leak when the daemon dies.
    const file = join(tmpdir(), `shoal-nft-${process.pid}-${++rulesetFiles}.nft`);
    await writeFile(file, text, { flag: 'wx', mode: 0o600 });
    try {
      s.applies++;
      const said = await s.send(`include "${file}"\n`, this.opts.timeoutMs ?? 10_000);
      // A good include says nothing; nft's every complaint starts "Error:" (after the
      // "In file included from" lines that name our file).
      if (/Error:/.test(said)) throw new NftError(`nft refused a ruleset${this.where}`, said.split(file).join('<ruleset>'));
    } finally {
      await rm(file, { force: true });
    }
  }

  /** The session to use: the running one while it is in the namespace the name points to, else a new one. */
  private async current(): Promise<Session> {
    const path = this.netnsPath;
    const want = path === undefined ? undefined : nsInode(path);
    if (path !== undefined && want === undefined) throw new NftError(`netns ${this.opts.netns} is gone`, '');
    const s = this.session;
    if (s && !s.exited && s.netnsInode === want && s.applies < (this.opts.maxApplies ?? 5000)) return s;
    this.session = undefined;
    await s?.end();
    const fresh = new Session(await this.launch(path), this.where);
    // The first answer shows nft runs (nsenter has entered the namespace by then): check it is the one wanted.
    try {
      await fresh.send('', this.opts.timeoutMs ?? 10_000);
    } catch (err) {
      await fresh.end(0);
      throw err;
    }
    fresh.netnsInode = path === undefined ? undefined : nsInode(`/proc/${fresh.pid}/ns/net`);
    if (fresh.netnsInode !== want) {
      await fresh.end(0);
      throw new NftError(`netns ${this.opts.netns} changed while nft started in it`, '');
    }
    this.session = fresh;
    return fresh;
  }

  /** nft -i in the namespace: through the spawner when there is one and it works, else spawned here. */
  private async launch(path: string | undefined): Promise<Launched> {
    const nft = this.opts.nft ?? 'nft';
    if (this.opts.spawner) {
      try {
        const { socket, pid } = await this.opts.spawner.start(this.opts.netns, nft);
        return launchedBySpawner(socket, pid, this.opts.spawner);
      } catch (err) {
        // A namespace that is gone is the apply's error; the spawner's own failure is not.
        if (path !== undefined && nsInode(path) === undefined) throw err;
      }
    }
    // sh joins nft's stderr to its stdout, so an error comes before the mark's answer on one stream.
    const inner = ['sh', '-c', 'exec "$0" -i 2>&1', nft];
    return launchChild(path === undefined ? inner : ['nsenter', `--net=${path}`, ...inner]);
  }
}
