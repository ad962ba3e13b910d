/**
 * The embedded DNS server: answers A questions for swarm names from a `DnsTable`
 * (`records.ts`) on any number of `dgram` sockets — one per task netns, each with the
 * networks of the tasks behind it — and forwards other names to upstream resolvers.
 * Sockets are passed in, so a socket bound inside another netns and handed to the
 * daemon (DESIGN.md, plane 6) is served like a local one.
 */
import dgram, { type RemoteInfo, type Socket } from 'node:dgram';
import type { Server as TcpServer, Socket as TcpSocket } from 'node:net';
import { decodeQuery, encodeAnswer, encodeRefused, encodeServfail, messageId, TCP_LIMIT, UDP_LIMIT } from './packets.ts';
import { resolve, type DnsAnswer, type DnsTable } from './records.ts';
import { QCLASS_IN, RCODE_NOERROR, RCODE_NXDOMAIN, RCODE_REFUSED, RCODE_SERVFAIL, readPlainQuery, writeReply, type PlainQuery } from './wire.ts';
import { DnsConfigError } from './errors.ts';

/** Timers, injected so tests can fire a timeout without waiting. */
export interface DnsClock {
  /** Calls `fn` once after `ms` milliseconds unless the returned cancel function runs first. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** What the server needs; only `table` is required. */
export interface DnsServerOptions {
  /**
   * The current records; called on every question (keep it cheap: return the table held).
   * A table is never changed in place: a change is a new object (answers come from an index
   * kept per table object, records.ts `tableIndex`).
   */
  table: () => DnsTable;
  /** Upstream resolvers as `IP` or `IP:PORT` (port 53 by default), tried in order. None: forwarded names get SERVFAIL. */
  upstreams?: readonly string[];
  /** How long to wait for each upstream, in ms. Default 1000. */
  timeoutMs?: number;
  /**
   * Forwarded queries in flight at most (each holds one UDP socket until its reply or
   * last timeout); a query beyond it gets SERVFAIL at once, so a task flooding names
   * outside the swarm cannot exhaust the process's file descriptors (Docker's embedded
   * DNS bounds its concurrent external queries the same way). Default 256.
   */
  maxForwards?: number;
  /** TTL of swarm answers, in seconds. Default 600, as Docker's. */
  ttl?: number;
  /** Random source in [0, 1) to rotate multi-address answers. Default `Math.random`. */
  rand?: () => number;
  /** Timers. Default: the real `setTimeout`. */
  clock?: DnsClock;
  /** Called with a short text on dropped packets and upstream failures; default: silent. */
  debug?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Which networks the tasks behind a socket are on (read on every question). */
export interface DnsScope {
  networks: () => readonly string[];
  /**
   * False: names outside the swarm are answered REFUSED and never sent upstream (tasks
   * only on internal networks, which have no way out; Docker does the same since
   * CVE-2024-29018). Default true.
   */
  forward?: boolean;
}

/** Upper bounds (ms) of the forwarded-query latency buckets in {@link DnsStats}. */
export const DNS_LATENCY_BUCKETS_MS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

/**
 * Counts since the server started (for metrics): queries by how they were answered, and
 * the latency of forwarded ones (cumulative buckets per {@link DNS_LATENCY_BUCKETS_MS}, sum in ms).
 */
export interface DnsStats {
  queries: { answer: number; nxdomain: number; refused: number; forward: number; malformed: number };
  /** Latency of forwards an upstream answered; `servfail`: forwards answered SERVFAIL instead (none reached, too many in flight). */
  forwarded: { buckets: number[]; count: number; sumMs: number; servfail: number };
}

/** Forwarded queries in flight at most, by default: every task of a node shares them. */
export const DEFAULT_MAX_FORWARDS = 256;

const realClock: DnsClock = {
  setTimer(ms, fn) { const t = setTimeout(fn, ms); return () => clearTimeout(t); },
};

/** Serves DNS on sockets it is given. `close()` detaches from all of them and ends forwards. */
export class DnsServer {
  private readonly opts: Required<Omit<DnsServerOptions, 'debug'>> & Pick<DnsServerOptions, 'debug'>;
  private readonly upstreams: { address: string; port: number }[];
  private readonly detach = new Set<() => void>();
  /** Forwards in flight: each entry abandons one (cancels its timer, closes its socket). */
  private readonly pending = new Set<() => void>();
  private closed = false;
  /** Counts for metrics (read with {@link stats}). */
  private readonly counts: DnsStats = {
    queries: { answer: 0, nxdomain: 0, refused: 0, forward: 0, malformed: 0 },
    forwarded: { buckets: DNS_LATENCY_BUCKETS_MS.map(() => 0), count: 0, sumMs: 0, servfail: 0 },
  };

  constructor(opts: DnsServerOptions) {
    this.opts = {
      table: opts.table, upstreams: opts.upstreams ?? [], timeoutMs: opts.timeoutMs ?? 1000, ttl: opts.ttl ?? 600,
      maxForwards: opts.maxForwards ?? DEFAULT_MAX_FORWARDS,
      rand: opts.rand ?? Math.random, clock: opts.clock ?? realClock, debug: opts.debug,
    };
    this.upstreams = this.opts.upstreams.map(parseUpstream);
    if (!Number.isInteger(this.opts.maxForwards) || this.opts.maxForwards < 1) {
      throw new DnsConfigError(`invalid maxForwards ${this.opts.maxForwards} (want an integer ≥ 1)`);
    }
  }

  /** A copy of the counts since start (metrics). */
  stats(): DnsStats {
    return structuredClone(this.counts);
  }

  /** Forwarded queries in flight now (each holds one socket). */
  get forwarding(): number {
    return this.pending.size;
  }

  /**
   * Answers queries arriving on `socket` (bound by the caller) for tasks on
   * `scope.networks()`. Returns a function that stops serving it; the socket stays open
   * and remains the caller's.
   */
  serve(socket: Socket, scope: DnsScope): () => void {
    const onMessage = (msg: Buffer, rinfo: RemoteInfo) => {
      this.onQuery(msg, scope, UDP_LIMIT, (reply) => send(socket, reply, rinfo), rinfo.address);
    };
    socket.on('message', onMessage);
    const off = () => { socket.off('message', onMessage); this.detach.delete(off); };
    this.detach.add(off);
    return off;
  }

  /**
   * Answers DNS over TCP (2-byte length framing, RFC 1035 4.2.2) on a listening `server`,
   * for clients that retry there after a truncated UDP answer: swarm answers are not cut
   * below 64 KiB; forwarded names go upstream over UDP. A malformed frame closes its
   * connection. Returns a function that stops serving (open connections are closed).
   */
  serveTcp(server: TcpServer, scope: DnsScope): () => void {
    const conns = new Set<TcpSocket>();
    const onConnection = (conn: TcpSocket) => {
      conns.add(conn);
      conn.on('close', () => conns.delete(conn));
      conn.on('error', () => conn.destroy());
      let buf = Buffer.alloc(0);
      conn.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          const ok = this.onQuery(msg, scope, TCP_LIMIT, (reply) => {
            if (conn.destroyed) return;
            const len = Buffer.alloc(2);
            len.writeUInt16BE(reply.length);
            conn.write(Buffer.concat([len, reply]));
          }, conn.remoteAddress ?? '');
          if (!ok) { conn.destroy(); return; }
        }
      });
    };
    server.on('connection', onConnection);
    const off = () => {
      server.off('connection', onConnection);
      for (const c of conns) c.destroy();
      this.detach.delete(off);
    };
    this.detach.add(off);
    return off;
  }

  /** Stops serving every socket and abandons forwards in flight (their sockets close). */
  close(): void {
    this.closed = true;
    for (const off of [...this.detach]) off();
    for (const abandon of [...this.pending]) abandon();
  }

  /** Answers one query through `reply` (now, or after forwarding); false when it was dropped as malformed. */
  private onQuery(msg: Buffer, scope: DnsScope, limit: number, reply: (buf: Buffer) => void, from: string): boolean {
    const plain = readPlainQuery(msg);
    if (plain) {
      this.onPlainQuery(msg, plain, scope, limit, reply);
      return true;
    }
    const query = decodeQuery(msg);
    if (!query) { this.counts.queries.malformed++; this.opts.debug?.('dns: dropped malformed packet', { from, bytes: msg.length }); return false; }
    const q = query.questions![0];
    const answer = q.class === 'IN' || q.class === undefined
      ? resolve(this.opts.table(), q.name, scope.networks())
      : { kind: 'forward' as const };
    if (answer.kind === 'forward') {
      if (scope.forward === false) { this.counts.queries.refused++; reply(encodeRefused(query)); }
      else { this.counts.queries.forward++; this.forward(msg, reply, () => encodeServfail(query)); }
      return true;
    }
    if (answer.kind === 'answer') this.counts.queries.answer++;
    else this.counts.queries.nxdomain++;
    const ips = answer.kind === 'answer' ? rotate(answer.ips, this.opts.rand) : [];
    reply(encodeAnswer(query, answer.kind === 'answer' ? { kind: 'answer', ips } : answer, this.opts.ttl, limit));
    return true;
  }

  /** {@link onQuery} for a plain query, read and answered without the general codec (wire.ts). */
  private onPlainQuery(msg: Buffer, q: PlainQuery, scope: DnsScope, limit: number, reply: (buf: Buffer) => void): void {
    const answer: DnsAnswer = q.qclass === QCLASS_IN ? resolve(this.opts.table(), q.name, scope.networks()) : { kind: 'forward' };
    if (answer.kind === 'forward') {
      if (scope.forward === false) {
        this.counts.queries.refused++;
        reply(writeReply(msg, q, { rcode: RCODE_REFUSED, limit, authoritative: false, recursion: false }));
      } else {
        this.counts.queries.forward++;
        this.forward(msg, reply, () => writeReply(msg, q, { rcode: RCODE_SERVFAIL, limit, authoritative: false, recursion: true }));
      }
      return;
    }
    if (answer.kind === 'answer') this.counts.queries.answer++;
    else this.counts.queries.nxdomain++;
    const ips = answer.kind === 'answer' ? rotate(answer.ips, this.opts.rand) : undefined;
    reply(writeReply(msg, q, { rcode: answer.kind === 'answer' ? RCODE_NOERROR : RCODE_NXDOMAIN, ips, ttl: this.opts.ttl, limit, authoritative: true, recursion: true }));
  }

  private observeForward(ms: number): void {
    const f = this.counts.forwarded;
    f.count++;
    f.sumMs += ms;
    DNS_LATENCY_BUCKETS_MS.forEach((le, i) => { if (ms <= le) f.buckets[i]++; });
  }

  /** Relays `msg` to the upstreams in turn, each with the timeout; the first reply with the same id goes back. */
  private forward(msg: Buffer, reply: (buf: Buffer) => void, servfail: () => Buffer): void {
    if (this.upstreams.length === 0) { this.counts.forwarded.servfail++; reply(servfail()); return; }
    if (this.pending.size >= this.opts.maxForwards) {
      this.opts.debug?.('dns: too many forwarded queries in flight, answering SERVFAIL', { limit: this.opts.maxForwards });
      this.counts.forwarded.servfail++;
      reply(servfail());
      return;
    }
    const id = messageId(msg);
    const started = performance.now();
    const up = dgram.createSocket('udp4');
    let cancel = () => {};
    let done = false;
    // `fromUpstream`: an upstream's answer (timed); otherwise our SERVFAIL (counted), or none when abandoned.
    const finish = (answer: Buffer | undefined, fromUpstream = false) => {
      if (done) return;
      done = true;
      cancel();
      this.pending.delete(abandon);
      up.close();
      if (fromUpstream) this.observeForward(performance.now() - started);
      else if (answer) this.counts.forwarded.servfail++;
      if (answer && !this.closed) reply(answer);
    };
    const abandon = () => finish(undefined);
    this.pending.add(abandon);
    const attempt = (i: number) => {
      if (i >= this.upstreams.length) {
        this.opts.debug?.('dns: no upstream answered', { upstreams: this.opts.upstreams });
        finish(servfail());
        return;
      }
      const target = this.upstreams[i];
      up.send(msg, target.port, target.address, (err) => { if (err) this.opts.debug?.('dns: upstream send failed', { err: String(err) }); });
      cancel = this.opts.clock.setTimer(this.opts.timeoutMs, () => attempt(i + 1));
    };
    up.on('message', (answer, from) => {
      const known = this.upstreams.some((u) => u.address === from.address && u.port === from.port);
      if (known && messageId(answer) === id) finish(answer, true);
    });
    up.on('error', (err) => { this.opts.debug?.('dns: upstream socket error', { err: String(err) }); finish(servfail()); });
    attempt(0);
  }
}

function send(socket: Socket, buf: Buffer, to: RemoteInfo): void {
  try { socket.send(buf, to.port, to.address); } catch { /* socket closed meanwhile: the client retries */ }
}

/** The addresses rotated by a random offset (round-robin for clients that take the first). */
function rotate(ips: readonly string[], rand: () => number): readonly string[] {
  if (ips.length < 2) return ips;
  const k = Math.floor(rand() * ips.length) % ips.length;
  return [...ips.slice(k), ...ips.slice(0, k)];
}

function parseUpstream(text: string): { address: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw new DnsConfigError(`invalid upstream "${text}" (want IPv4[:port])`);
  return { address: m[1], port: m[2] ? Number(m[2]) : 53 };
}
