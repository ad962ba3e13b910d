/**
 * rtnetlink in named network namespaces through one long-lived relay per namespace
 * (relay.pl, started as `nsenter --net=/run/netns/NS -- perl relay.pl`): a netlink socket
 * acts in the namespace it was made in and Node cannot switch namespaces, so the socket
 * lives in a small process that was started there. The daemon builds every message
 * (encode.ts) and reads every reply (relay-frames.ts); the relay only passes them, one
 * batch a frame, and reports every link removed in its namespace.
 *
 *   const nl = new NetnsNetlink({ onLinkRemoved: (ns, dev) => … });
 *   await nl.run('sb-1234', sandboxRequests({ ip: [...], bridge: [...] }));
 *   nl.closeAll();
 *
 * A relay belongs to one namespace *instance*: the inode of `/run/netns/NS` is checked
 * on each batch, so a namespace deleted and made again under the same name gets a new
 * relay (the old one would act in the old, detached namespace). A relay whose namespace
 * file went away is ended within `sweepMs`, so it does not keep a deleted namespace (and
 * its devices) alive. A relay that dies, or speaks out of protocol (it is then killed),
 * fails its batches in flight (retryable) and is started again: at once by the next
 * batch, else after a back-off, so the namespace's link events are heard again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';
import { NETNS_RUN_DIR, removedLink, type NlRequest } from './messages.ts';
import { OwnNetlink } from './own-netns.ts';
import { RTM, encodeRequest, getLinkRequest, type EncodedRequest } from './encode.ts';
import { FRAME, FrameDecoder, RelayProtocolError, batchOutcome, encodeBatch, parseMessages, type BatchOutcome } from './relay-frames.ts';

const RELAY = fileURLToPath(new URL('./relay.pl', import.meta.url));
/** Bytes of messages in one batch frame (well inside FRAME_MAX, with room for fd patches). */
const FRAME_BATCH = 256 * 1024;

/** The kernel refused request `done` of a batch (those before it stay applied), or the relay failed. */
export class NetlinkRequestError extends Error {
  override name = 'NetlinkRequestError';
  /** Retryable: the next view or attach tries again. */
  readonly retryable = true;
  constructor(message: string, readonly done: number, readonly code?: string, opts?: { cause?: unknown }) {
    super(`netlink: ${message}`, opts);
  }
}

export interface NetnsNetlinkOptions {
  /** A link went away in a watched namespace or one with a relay (by us or behind our back); `netns` '' is the daemon's own. */
  onLinkRemoved?: (netns: string, ifname: string) => void;
  /** How often relays whose namespace file is gone are ended, ms. Default 2000. */
  sweepMs?: number;
  /** The perl binary for relays. Default `perl` (perl-base: on every Debian host). */
  perl?: string;
  /** First wait before a relay that died unasked is started again, ms (doubles to 30 s while it keeps dying). Default 200. */
  restartMs?: number;
}

/** A frame sent, waiting for its reply. */
interface Waiter { resolve: (f: { kind: string; body: Buffer }) => void; reject: (e: Error) => void }

interface Relay {
  netns: string;
  ino: number;
  child: ChildProcess;
  decoder: FrameDecoder;
  /** Frames sent, oldest first (the relay answers them in order). */
  waiters: Waiter[];
  /** Batches run one after another: a batch's index lookups and sends must not interleave with another's. */
  queue: Promise<unknown>;
  /** Interface name → index, from lookups; forgotten when the link goes or a request says ENODEV. */
  indexes: Map<string, number>;
  /** Why it ended, once it has. */
  ended?: string;
}

/** One rtnetlink relay process per named netns, kept while the namespace lives. */
export class NetnsNetlink {
  private readonly relays = new Map<string, Relay>();
  private seq = 1;
  private sweep: NodeJS.Timeout | undefined;
  private closed = false;
  /** Namespaces whose relay died unasked: how often in a row, and the timer that starts it again. */
  private readonly restarts = new Map<string, { n: number; timer?: NodeJS.Timeout }>();
  /** The daemon's own netns, in-process (task veths made into other namespaces by fd); closed with the relays. */
  readonly own = new OwnNetlink();
  /** The in-process watch of the daemon's own netns, once asked for. */
  private ownWatch: { close(): void } | undefined;

  constructor(private readonly opts: NetnsNetlinkOptions = {}) {}

  /** Runs `reqs` in order in netns `netns` (a name under /run/netns); rejects with `NetlinkRequestError` at the first refused one. */
  async run(netns: string, reqs: readonly NlRequest[]): Promise<void> {
    await this.query(netns, reqs);
  }

  /** The index of interface `dev` in netns `netns` (remembered until the link goes). */
  async linkIndex(netns: string, dev: string): Promise<number> {
    const [i] = await this.query(netns, [{ method: 'index', data: {}, attrs: {}, flags: 0, dev, line: `index ${dev}` }]);
    return i;
  }

  /** The inode of `/run/netns/NS` (which namespace instance the name stands for now). */
  static inode(netns: string): number {
    return statSync(`${NETNS_RUN_DIR}/${netns}`).ino;
  }

  /** As `run`, resolving with the answers of its `index` requests. */
  private query(netns: string, reqs: readonly NlRequest[]): Promise<number[]> {
    if (reqs.length === 0) return Promise.resolve([]);
    if (this.closed) return Promise.reject(new NetlinkRequestError('closed', 0));
    let r: Relay;
    try { r = this.relay(netns); } catch (err) { return Promise.reject(new NetlinkRequestError(`no relay in netns ${netns}: ${(err as Error).message}`, 0, undefined, { cause: err })); }
    const p = r.queue.then(() => this.batch(r, reqs));
    r.queue = p.catch(() => {});
    return p;
  }

  /**
   * One batch: the requests go in as few frames as their index lookups allow (a lookup of
   * a name not known yet is a frame of its own, then the requests after it are encoded).
   */
  private async batch(r: Relay, reqs: readonly NlRequest[]): Promise<number[]> {
    const values: number[] = [];
    let done = 0;
    let pending: { req: NlRequest; enc: EncodedRequest; seq: number }[] = [];
    const flush = async () => {
      if (!pending.length) return;
      // A frame holds at most FRAME_BATCH bytes of messages: a big first sync goes in several, each after the last's ACKs.
      let bytes = 0;
      let n = 0;
      while (n < pending.length && (n === 0 || bytes + pending[n].enc.msg.length <= FRAME_BATCH)) bytes += pending[n++].enc.msg.length;
      const sent = pending.slice(0, n);
      pending = pending.slice(n);
      const out = await this.send(r, sent.map((x) => ({ msg: x.enc.msg, fd: x.enc.fd })), sent.map((x) => x.seq));
      for (const x of sent.slice(0, out.done)) if (x.req.method === 'delLink' && x.req.dev !== undefined) r.indexes.delete(x.req.dev);
      if (out.errno !== undefined) this.refused(r, sent[out.done].req, done + out.done, out.errno);
      done += out.done;
      await flush();
    };
    for (const req of reqs) {
      try {
        for (const name of [req.dev, req.master, req.lower]) {
          if (name === undefined || r.indexes.has(name) || !needsIndex(req, name)) continue;
          await flush();
          r.indexes.set(name, await this.lookup(r, name, req, done));
        }
        if (req.method === 'index') { values.push(r.indexes.get(req.dev!)!); done++; continue; }
        const seq = this.nextSeq();
        pending.push({ req, seq, enc: encodeRequest(req, seq, (n) => r.indexes.get(n)!) });
      } catch (err) {
        if (err instanceof NetlinkRequestError) throw err;
        throw new NetlinkRequestError(`in netns ${r.netns}: ${req.line}: ${(err as Error).message}`, done, undefined, { cause: err });
      }
    }
    await flush();
    return values;
  }

  /** The index of `name`, asked of the kernel (RTM_GETLINK); ENODEV when there is none. */
  private async lookup(r: Relay, name: string, req: NlRequest, done: number): Promise<number> {
    const seq = this.nextSeq();
    const out = await this.send(r, [{ msg: getLinkRequest(name, seq) }], [seq]);
    if (out.errno !== undefined) this.refused(r, req, done, out.errno, name);
    const link = out.answers[0].find((m) => m.type === RTM.NEWLINK && m.data.length >= 8);
    if (!link) throw new NetlinkRequestError(`in netns ${r.netns}: ${req.line}: no link in the answer about ${name}`, done);
    return link.data.readInt32LE(4);
  }

  private refused(r: Relay, req: NlRequest, done: number, errno: number, name?: string): never {
    const code = getSystemErrorName(-errno);
    // A name gone since it was looked up: looked up again next time.
    if (code === 'ENODEV') for (const n of [name, req.dev, req.master, req.lower]) if (n !== undefined) r.indexes.delete(n);
    throw new NetlinkRequestError(`in netns ${r.netns}: ${req.line}: ${name ? `${name}: ` : ''}${code}`, done, code);
  }

  /** Sends one batch frame and reads its reply; a relay out of protocol is ended. */
  private async send(r: Relay, parts: Parameters<typeof encodeBatch>[0], seqs: number[]): Promise<BatchOutcome> {
    if (r.ended) throw new NetlinkRequestError(`in netns ${r.netns}: ${r.ended}`, 0);
    const frame = encodeBatch(parts); // before a waiter is queued: a frame that cannot be made must not take a reply's place
    const reply = new Promise<{ kind: string; body: Buffer }>((resolve, reject) => r.waiters.push({ resolve, reject }));
    this.holdOpen(r);
    r.child.stdin!.write(frame);
    const f = await reply;
    if (f.kind === FRAME.PATCH_FAILED) {
      throw new NetlinkRequestError(`in netns ${r.netns}: ${f.body.subarray(4).toString('utf8')}`, 0);
    }
    try {
      return batchOutcome(seqs, parseMessages(f.body));
    } catch (err) {
      this.end(r, (err as Error).message, true);
      throw new NetlinkRequestError(`in netns ${r.netns}: ${(err as Error).message}`, 0, undefined, { cause: err });
    }
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  /**
   * Reports links removed in `netns` (`onLinkRemoved`) from now on: a named netns through
   * its relay; undefined, the daemon's own namespace, in-process (a socket on the
   * RTMGRP_LINK group, no relay needed there).
   */
  watch(netns?: string): void {
    if (this.closed) return;
    if (netns !== undefined) {
      // A namespace that is not there (yet) gets its relay with its first batch.
      try { this.relay(netns); } catch { /* nothing to watch */ }
      return;
    }
    if (this.ownWatch) return;
    // Loaded here, not at the top: only a daemon that watches its own netns needs the native part.
    // A raw socket: only removals are read, by hand (`removedLink`), not every link event parsed.
    const { createNetlink } = createRequire(import.meta.url)('netlink') as typeof import('netlink');
    const sock = createNetlink(0 /* NETLINK_ROUTE */);
    sock.addMembership(1 /* RTNLGRP_LINK */);
    sock.on('message', (msgs) => {
      for (const x of msgs) {
        const r = x.type === RTM.DELLINK ? removedLink(x.data) : undefined;
        if (r) this.opts.onLinkRemoved?.('', r.ifname);
      }
    });
    this.ownWatch = { close: () => sock.close() };
  }

  /** Namespaces with a live relay (tests, metrics). */
  namespaces(): string[] {
    return [...this.relays.keys()];
  }

  /** The relay process of `netns`, if any (tests, metrics). */
  pid(netns: string): number | undefined {
    return this.relays.get(netns)?.child.pid;
  }

  /** Ends the relay of `netns`, if any (its batches in flight fail); it is not started again unless asked. */
  close(netns: string): void {
    this.cancelRestart(netns);
    const r = this.relays.get(netns);
    if (!r) return;
    this.relays.delete(netns);
    this.end(r, 'closed');
  }

  /** Ends every relay; later `run`s fail. */
  closeAll(): void {
    this.closed = true;
    if (this.sweep) clearInterval(this.sweep);
    this.ownWatch?.close();
    this.ownWatch = undefined;
    this.own.close();
    for (const ns of [...this.restarts.keys()]) this.cancelRestart(ns);
    for (const ns of [...this.relays.keys()]) this.close(ns);
  }

  private relay(netns: string): Relay {
    if (!/^[A-Za-z0-9_.-]+$/.test(netns) || netns.startsWith('.')) throw new Error(`invalid netns name "${netns}"`);
    const ino = statSync(`${NETNS_RUN_DIR}/${netns}`).ino;
    const have = this.relays.get(netns);
    if (have && have.ino === ino && !have.ended) return have;
    if (have) this.close(netns); // the namespace was made again under its name, or the relay died
    this.cancelRestart(netns, true);
    const child = spawn('nsenter', [`--net=${NETNS_RUN_DIR}/${netns}`, '--', this.opts.perl ?? 'perl', RELAY], { stdio: ['pipe', 'pipe', 'pipe'] });
    const r: Relay = { netns, ino, child, decoder: new FrameDecoder(), waiters: [], queue: Promise.resolve(), indexes: new Map() };
    this.relays.set(netns, r);
    // Relays never keep the daemon (or a test) alive on their own.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr] as unknown as { unref?: () => void }[]) s.unref?.();
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 4096) stderr += d; });
    child.stdin!.on('error', () => { /* the relay is gone: its close reports it */ });
    child.on('error', (err) => this.end(r, `cannot start the relay: ${err.message}`, true));
    child.on('close', (code, signal) => this.end(r, `the relay ended (${signal ?? `exit ${code}`})${stderr ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : ''}`, code !== 0));
    child.stdout!.on('data', (chunk: Buffer) => this.onData(r, chunk));
    child.stdout!.on('end', () => { try { r.decoder.end(); } catch (err) { this.end(r, (err as Error).message, true); } });
    this.startSweep();
    return r;
  }

  /** The relay's output: replies to the oldest waiter, link removals to `onLinkRemoved`; anything else ends it. */
  private onData(r: Relay, chunk: Buffer): void {
    if (r.ended) return;
    try {
      for (const f of r.decoder.push(chunk)) {
        if (f.kind === FRAME.LINK_REMOVED) { this.linkRemoved(r, f.body); continue; }
        const w = r.waiters.shift();
        if (!w) throw new RelayProtocolError(`a reply (frame '${f.kind}') with no batch waiting`);
        this.restarts.delete(r.netns); // it works: a later death starts the back-off afresh
        w.resolve(f);
      }
    } catch (err) {
      this.end(r, (err as Error).message, true);
    }
    this.holdOpen(r);
  }

  private linkRemoved(r: Relay, msg: Buffer): void {
    const [m] = parseMessages(msg);
    const gone = m && m.type === RTM.DELLINK ? removedLink(m.data) : undefined;
    if (!gone) return;
    for (const [name, i] of r.indexes) if (i === gone.index || name === gone.ifname) r.indexes.delete(name);
    this.opts.onLinkRemoved?.(r.netns, gone.ifname);
  }

  /** A relay with frames in flight keeps the event loop alive (their answers must arrive); an idle one does not. */
  private holdOpen(r: Relay): void {
    const out = r.child.stdout as unknown as { ref(): void; unref(): void };
    if (r.waiters.length > 0 && !r.ended) { r.child.ref(); out.ref(); } else { r.child.unref(); out.unref(); }
  }

  /** Ends `r` (stdin closed; killed if `kill` or still there in 1 s); `unasked`: started again after a back-off. */
  private end(r: Relay, why: string, unasked = false): void {
    if (r.ended) return;
    r.ended = why;
    const mine = this.relays.get(r.netns) === r;
    if (mine) this.relays.delete(r.netns);
    // Closing stdin ends it; the kill is for one out of protocol or stuck in the kernel.
    r.child.stdin!.end();
    if (unasked && r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    else if (r.child.exitCode === null) setTimeout(() => { if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL'); }, 1000).unref();
    for (const w of r.waiters) w.reject(new NetlinkRequestError(`in netns ${r.netns}: ${why}`, 0));
    r.waiters = [];
    this.holdOpen(r);
    if (unasked && mine && !this.closed) this.scheduleRestart(r.netns, r.ino);
    if (this.relays.size === 0 && this.sweep) { clearInterval(this.sweep); this.sweep = undefined; }
  }

  /** Starts the relay of `netns` again after a back-off, if the namespace is still that instance and nothing started it meanwhile. */
  private scheduleRestart(netns: string, ino: number): void {
    const s = this.restarts.get(netns) ?? { n: 0 };
    if (s.timer) return;
    const wait = Math.min(30_000, (this.opts.restartMs ?? 200) * 2 ** s.n);
    s.n++;
    s.timer = setTimeout(() => {
      s.timer = undefined;
      if (this.closed || this.relays.has(netns)) return;
      let now: number | undefined;
      try { now = NetnsNetlink.inode(netns); } catch { now = undefined; }
      if (now !== ino) { this.restarts.delete(netns); return; }
      try { this.relay(netns); } catch { /* the next batch tries again */ }
    }, wait);
    s.timer.unref();
    this.restarts.set(netns, s);
  }

  /** Stops a pending restart; `keepCount`: a relay started now still counts its earlier deaths. */
  private cancelRestart(netns: string, keepCount = false): void {
    const s = this.restarts.get(netns);
    if (!s) return;
    if (s.timer) clearTimeout(s.timer);
    s.timer = undefined;
    if (!keepCount) this.restarts.delete(netns);
  }

  private startSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(() => {
      for (const r of [...this.relays.values()]) {
        let ino: number | undefined;
        try { ino = statSync(`${NETNS_RUN_DIR}/${r.netns}`).ino; } catch { ino = undefined; }
        if (ino !== r.ino) this.close(r.netns);
      }
    }, this.opts.sweepMs ?? 2000);
    this.sweep.unref();
  }
}

/** Whether `name` in `req` must be an index: a neighbour's device, a link's master or lower, an `index` request; a link itself goes by name. */
function needsIndex(req: NlRequest, name: string): boolean {
  if (req.method === 'index' || req.method === 'newNeighbor' || req.method === 'delNeighbor' || req.method === 'newAddr') return name === req.dev;
  return name === req.master || name === req.lower;
}
