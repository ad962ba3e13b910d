/**
 * rtnetlink in named network namespaces through one long-lived helper per namespace
 * (helper.mjs, started as `nsenter --net=/run/netns/NS node helper.mjs`): a netlink socket
 * acts in the namespace it was made in and Node cannot switch namespaces, so the socket
 * lives in a process that does. A batch of requests is one line on the helper's stdin and
 * one line back; the helper also reports every link removed in its namespace.
 *
 *   const nl = new NetnsNetlink({ onLinkRemoved: (ns, dev) => … });
 *   await nl.run('sb-1234', sandboxRequests({ ip: [...], bridge: [...] }));
 *   nl.closeAll();
 *
 * A helper belongs to one namespace *instance*: the inode of `/run/netns/NS` is checked
 * on each batch, so a namespace deleted and made again under the same name gets a new
 * helper (the old one would act in the old, detached namespace). A helper whose
 * namespace file went away is ended within `sweepMs`, so it does not keep a deleted
 * namespace (and its devices) alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { NETNS_RUN_DIR, removedLink, type NlRequest } from './messages.ts';
import { OwnNetlink } from './own-netns.ts';

const HELPER = fileURLToPath(new URL('./helper.mjs', import.meta.url));

/** The kernel refused request `done` of a batch (those before it stay applied), or the helper failed. */
export class NetlinkRequestError extends Error {
  override name = 'NetlinkRequestError';
  /** Retryable: the next view or attach tries again. */
  readonly retryable = true;
  constructor(message: string, readonly done: number, readonly code?: string, opts?: { cause?: unknown }) {
    super(`netlink: ${message}`, opts);
  }
}

export interface NetnsNetlinkOptions {
  /** A link went away in a watched namespace or one with a helper (by us or behind our back); `netns` '' is the daemon's own. */
  onLinkRemoved?: (netns: string, ifname: string) => void;
  /** How often helpers whose namespace file is gone are ended, ms. Default 2000. */
  sweepMs?: number;
  /** The node binary for helpers. Default `process.execPath`. */
  node?: string;
}

interface Pending { resolve: (values: number[]) => void; reject: (e: Error) => void }

interface Helper {
  netns: string;
  ino: number;
  child: ChildProcess;
  pending: Map<number, Pending>;
  /** Why it ended, once it has. */
  ended?: string;
}

/** One rtnetlink helper process per named netns, kept while the namespace lives. */
export class NetnsNetlink {
  private readonly helpers = new Map<string, Helper>();
  private nextId = 1;
  private sweep: NodeJS.Timeout | undefined;
  private closed = false;
  /** The daemon's own netns, in-process (task veths made into other namespaces by fd); closed with the helpers. */
  readonly own = new OwnNetlink();
  /** The in-process watch of the daemon's own netns, once asked for. */
  private ownWatch: { close(): void } | undefined;

  constructor(private readonly opts: NetnsNetlinkOptions = {}) {}

  /** Runs `reqs` in order in netns `netns` (a name under /run/netns); rejects with `NetlinkRequestError` at the first refused one. */
  async run(netns: string, reqs: readonly NlRequest[]): Promise<void> {
    await this.query(netns, reqs);
  }

  /** The index of interface `dev` in netns `netns` (its helper keeps them from link events). */
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
    let h: Helper;
    try { h = this.helper(netns); } catch (err) { return Promise.reject(new NetlinkRequestError(`no helper in netns ${netns}: ${(err as Error).message}`, 0, undefined, { cause: err })); }
    const id = this.nextId++;
    return new Promise<number[]>((resolve, reject) => {
      h.pending.set(id, { resolve, reject });
      this.holdOpen(h);
      h.child.stdin!.write(`${JSON.stringify({ id, reqs })}\n`);
    });
  }

  /**
   * Reports links removed in `netns` (`onLinkRemoved`) from now on: a named netns through
   * its helper; undefined, the daemon's own namespace, in-process (a socket on the
   * RTMGRP_LINK group, no helper needed there).
   */
  watch(netns?: string): void {
    if (this.closed) return;
    if (netns !== undefined) {
      // A namespace that is not there (yet) gets its helper with its first batch.
      try { this.helper(netns); } catch { /* nothing to watch */ }
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
        const r = x.type === 17 /* RTM_DELLINK */ ? removedLink(x.data) : undefined;
        if (r) this.opts.onLinkRemoved?.('', r.ifname);
      }
    });
    this.ownWatch = { close: () => sock.close() };
  }

  /** Namespaces with a live helper (tests, metrics). */
  namespaces(): string[] {
    return [...this.helpers.keys()];
  }

  /** Ends the helper of `netns`, if any (its batches in flight fail). */
  close(netns: string): void {
    const h = this.helpers.get(netns);
    if (!h) return;
    this.helpers.delete(netns);
    this.end(h, 'closed');
  }

  /** Ends every helper; later `run`s fail. */
  closeAll(): void {
    this.closed = true;
    if (this.sweep) clearInterval(this.sweep);
    this.ownWatch?.close();
    this.ownWatch = undefined;
    this.own.close();
    for (const ns of [...this.helpers.keys()]) this.close(ns);
  }

  private helper(netns: string): Helper {
    if (!/^[A-Za-z0-9_.-]+$/.test(netns) || netns.startsWith('.')) throw new Error(`invalid netns name "${netns}"`);
    const ino = statSync(`${NETNS_RUN_DIR}/${netns}`).ino;
    const have = this.helpers.get(netns);
    if (have && have.ino === ino && !have.ended) return have;
    if (have) this.close(netns); // the namespace was made again under its name, or the helper died
    const child = spawn('nsenter', [`--net=${NETNS_RUN_DIR}/${netns}`, '--', this.opts.node ?? process.execPath, HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    const h: Helper = { netns, ino, child, pending: new Map() };
    this.helpers.set(netns, h);
    // Helpers never keep the daemon (or a test) alive on their own.
    child.unref();
    for (const s of [child.stdin, child.stdout, child.stderr] as unknown as { unref?: () => void }[]) s.unref?.();
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 4096) stderr += d; });
    child.stdin!.on('error', () => { /* the helper is gone: its close reports it */ });
    child.on('error', (err) => this.end(h, `cannot start the helper: ${err.message}`));
    child.on('close', (code) => this.end(h, `the helper ended (exit ${code})${stderr ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : ''}`));
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(h, line));
    this.startSweep();
    return h;
  }

  private onLine(h: Helper, line: string): void {
    let msg: { id?: number; done?: number; values?: number[]; error?: string; code?: string; event?: string; ifname?: string };
    try { msg = JSON.parse(line); } catch { return; }
    if (msg.event === 'link-removed' && msg.ifname !== undefined) { this.opts.onLinkRemoved?.(h.netns, msg.ifname); return; }
    if (msg.id === undefined) return;
    const p = h.pending.get(msg.id);
    if (!p) return;
    h.pending.delete(msg.id);
    this.holdOpen(h);
    if (msg.error === undefined) p.resolve(msg.values ?? []);
    else p.reject(new NetlinkRequestError(`in netns ${h.netns}: ${msg.error}`, msg.done ?? 0, msg.code));
  }

  /** A helper with batches in flight keeps the event loop alive (their answers must arrive); an idle one does not. */
  private holdOpen(h: Helper): void {
    const out = h.child.stdout as unknown as { ref(): void; unref(): void };
    if (h.pending.size > 0) { h.child.ref(); out.ref(); } else { h.child.unref(); out.unref(); }
  }

  private end(h: Helper, why: string): void {
    if (h.ended) return;
    h.ended = why;
    if (this.helpers.get(h.netns) === h) this.helpers.delete(h.netns);
    // Closing stdin ends it; the kill is for a helper stuck in the kernel.
    h.child.stdin!.end();
    if (h.child.exitCode === null) setTimeout(() => { if (h.child.exitCode === null) h.child.kill('SIGKILL'); }, 1000).unref();
    for (const p of h.pending.values()) p.reject(new NetlinkRequestError(`in netns ${h.netns}: ${why}`, 0));
    h.pending.clear();
    if (this.helpers.size === 0 && this.sweep) { clearInterval(this.sweep); this.sweep = undefined; }
  }

  private startSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(() => {
      for (const h of [...this.helpers.values()]) {
        let ino: number | undefined;
        try { ino = statSync(`${NETNS_RUN_DIR}/${h.netns}`).ino; } catch { ino = undefined; }
        if (ino !== h.ino) this.close(h.netns);
      }
    }, this.opts.sweepMs ?? 2000);
    this.sweep.unref();
  }
}
