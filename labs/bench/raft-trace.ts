/**
 * The raft benchmark member's stage trace (`RAFT_BENCH_TRACE=1`; off, nothing here runs):
 * where a write's time goes, per stage, as a distribution (n, p50, p90, p99, max in ms),
 * plus the process's GC pauses and event-loop delay over the same window, so a latency tail
 * can be pinned on a stage, on a collection or on a blocked loop. `raft.ts` reads it from
 * every member after each load round (`POST /debug/trace`, which also starts a new window)
 * and puts it in its JSON beside the switch.
 *
 * Stages, keyed by entry index (a batch's entries share its times):
 * - leader: `client_to_request` (the load generator sent the put → its headers parsed here,
 *   from the `x-sent-ms` header: loopback plus the wait for this loop to read the socket),
 *   `request_to_propose` (the HTTP request's headers parsed → its body parsed and
 *   proposed: time the request waits on the leader's loop before raft sees it),
 *   `propose_to_sent` (HTTP body parsed and proposed → append sent to the followers),
 *   `sent_to_own_sync` (→ the leader's own write and fdatasync done), `sent_to_first_ack`
 *   (→ the first follower's acknowledgement), `ready_to_applied` (the later of those two →
 *   applied: the Ready that commits and applies it), `propose_to_applied` (all of it);
 * - every member: `save` (one synced `save` call: write + fdatasync, thread-pool hops included);
 * - follower: `recv_to_ack` (append received → its acknowledgement sent).
 *
 * `slow` (leader) looks at the writes at or over the window's p99 of `propose_to_applied`:
 * how many waited on the leader's own sync (it came after the first ack) or on the first
 * ack, and how many overlapped one of this process's GC pauses — so a tail can be split
 * between the disk, a follower and the leader's own collector.
 */
import type { Session } from 'node:inspector/promises';
import { PerformanceObserver, monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** A distribution's summary in ms (null when empty). */
export interface Dist { n: number; p50: number; p90: number; p99: number; max: number }

/** Summarises `xs` (sorts it in place). */
export function dist(xs: number[]): Dist | null {
  if (xs.length === 0) return null;
  xs.sort((a, b) => a - b);
  const q = (p: number) => +xs[Math.min(xs.length - 1, Math.floor(p * xs.length))].toFixed(3);
  return { n: xs.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: +xs[xs.length - 1].toFixed(3) };
}

const STAGES = ['client_to_request', 'request_to_propose', 'propose_to_sent', 'sent_to_own_sync', 'sent_to_first_ack', 'ready_to_applied', 'propose_to_applied', 'save', 'recv_to_ack'] as const;
type Stage = (typeof STAGES)[number];

/** Per-index timestamps kept at most this long (a follower's saves and entries proposed elsewhere are never resolved here). */
export const MAX_PENDING = 100_000;

export class StageTrace {
  private readonly samples = new Map<Stage, number[]>(STAGES.map((s) => [s, []]));
  private readonly sent = new Map<number, number>();
  private readonly synced = new Map<number, number>();
  private readonly acked = new Map<number, number>();
  /** Indexes sent and not yet acknowledged, ascending. */
  private unacked: number[] = [];
  /** Follower: last index of each append received, with its time, ascending. */
  private received: [number, number][] = [];
  private gc = { minor: [] as number[], major: [] as number[] };
  /** GC pauses of the window as [start, end] (performance.now() ms), in order. */
  private pauses: [number, number][] = [];
  /** Leader: each applied write's [proposed, sent, own sync, first ack, applied] (NaN: not seen). */
  private writes: [number, number, number, number, number][] = [];
  private readonly loop: IntervalHistogram;
  private readonly obs: PerformanceObserver;

  constructor() {
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
    // kind 1 = minor (scavenge), anything else counted as major/incremental work.
    this.obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        (((e as { detail?: { kind?: number } }).detail?.kind === 1) ? this.gc.minor : this.gc.major).push(e.duration);
        if (this.pauses.length >= MAX_PENDING) this.pauses = [];
        this.pauses.push([e.startTime, e.startTime + e.duration]);
      }
    });
    this.obs.observe({ entryTypes: ['gc'] });
  }

  private add(s: Stage, ms: number): void {
    this.samples.get(s)!.push(ms);
  }

  /** Leader: an append carrying entries up to `last` (from `first`) went out. */
  appendSent(first: number, last: number, now: number): void {
    for (let i = first; i <= last; i++) {
      if (this.sent.has(i)) continue;
      this.sent.set(i, now);
      this.unacked.push(i);
    }
    if (this.sent.size > MAX_PENDING) this.forget();
  }

  /** Leader: a follower acknowledged everything up to `index`. */
  appendAcked(index: number, now: number): void {
    let k = 0;
    while (k < this.unacked.length && this.unacked[k] <= index) this.acked.set(this.unacked[k++], now);
    if (k) this.unacked = this.unacked.slice(k);
  }

  /** A synced save of entries `first..last` (none: `first` > `last`) took `ms`, ending `now`. */
  saved(first: number, last: number, ms: number, now: number): void {
    this.add('save', ms);
    for (let i = first; i <= last; i++) this.synced.set(i, now);
    if (this.synced.size > MAX_PENDING) this.forget();
  }

  /** Follower: an append with entries up to `last` arrived. */
  appendReceived(last: number, now: number): void {
    this.received.push([last, now]);
  }

  /** Follower: it acknowledged everything up to `index`. */
  ackSent(index: number, now: number): void {
    let k = 0;
    while (k < this.received.length && this.received[k][0] <= index) this.add('recv_to_ack', now - this.received[k++][1]);
    if (k) this.received = this.received.slice(k);
  }

  /** Leader: a put whose headers were parsed at `start` was proposed at `t0` (sent by the client at `sentEpochMs`, epoch ms). */
  requested(start: number, t0: number, sentEpochMs?: number): void {
    this.add('request_to_propose', t0 - start);
    if (sentEpochMs !== undefined && Number.isFinite(sentEpochMs)) this.add('client_to_request', performance.timeOrigin + start - sentEpochMs);
  }

  /** Leader: the proposal made at `t0` was applied at `index` (now). */
  applied(index: number, t0: number, now: number): void {
    const sent = this.sent.get(index);
    const synced = this.synced.get(index);
    const acked = this.acked.get(index);
    this.add('propose_to_applied', now - t0);
    if (this.writes.length >= MAX_PENDING) this.writes = [];
    this.writes.push([t0, sent ?? NaN, synced ?? NaN, acked ?? NaN, now]);
    if (sent !== undefined) {
      this.add('propose_to_sent', sent - t0);
      if (synced !== undefined) this.add('sent_to_own_sync', synced - sent);
      if (acked !== undefined) this.add('sent_to_first_ack', acked - sent);
    }
    if (synced !== undefined && acked !== undefined) this.add('ready_to_applied', now - Math.max(synced, acked));
    this.sent.delete(index);
    this.synced.delete(index);
    this.acked.delete(index);
  }

  private forget(): void {
    this.sent.clear();
    this.synced.clear();
    this.acked.clear();
    this.unacked = [];
  }

  /** Stops the GC observer and the loop-delay timer. */
  close(): void {
    this.obs.disconnect();
    this.loop.disable();
  }

  /** The window's figures; starts a new window. */
  take(extra: Record<string, unknown>): Record<string, unknown> {
    const stages = Object.fromEntries([...this.samples].map(([s, xs]) => [s, dist(xs)]));
    for (const xs of this.samples.values()) xs.length = 0;
    const ns = (x: number) => +(x / 1e6).toFixed(3);
    const out: Record<string, unknown> = {
      ...extra,
      stages,
      gc_minor_ms: dist(this.gc.minor), gc_major_ms: dist(this.gc.major),
      loop_delay_ms: this.loop.count ? { p50: ns(this.loop.percentile(50)), p99: ns(this.loop.percentile(99)), max: ns(this.loop.max) } : null,
    };
    out.slow = slowWrites(this.writes, this.pauses);
    this.writes = [];
    this.pauses = [];
    this.gc = { minor: [], major: [] };
    this.loop.reset();
    return out;
  }
}

/**
 * The writes at or over the p99 of proposal → applied: their count and threshold, how many
 * waited on the own sync (later than the first ack) or on the first ack, how many
 * overlapped a GC pause (and its median share of their time), and their median stages.
 * `writes` are [proposed, sent, own sync, first ack, applied]; `pauses` [start, end], sorted.
 */
export function slowWrites(writes: [number, number, number, number, number][], pauses: [number, number][]): Record<string, number> | null {
  if (writes.length === 0) return null;
  const total = writes.map((w) => w[4] - w[0]).sort((a, b) => a - b);
  const threshold = total[Math.min(total.length - 1, Math.floor(0.99 * total.length))];
  const slow = writes.filter((w) => w[4] - w[0] >= threshold);
  const med = (xs: number[]) => {
    const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    return v.length ? +v[Math.floor(v.length / 2)].toFixed(3) : NaN;
  };
  let ownBound = 0, ackBound = 0, inGc = 0;
  const gcShare: number[] = [];
  for (const [t0, , sync, ack, end] of slow) {
    if (!Number.isNaN(sync) && !Number.isNaN(ack)) { if (sync > ack) ownBound++; else ackBound++; }
    let paused = 0;
    for (const [a, b] of pauses) if (b > t0 && a < end) paused += Math.min(b, end) - Math.max(a, t0);
    if (paused > 0) inGc++;
    gcShare.push(paused / (end - t0));
  }
  return {
    n: slow.length, threshold_ms: +threshold.toFixed(3), own_sync_bound: ownBound, first_ack_bound: ackBound, overlapping_gc: inGc,
    gc_share_p50: med(gcShare), propose_to_sent_p50: med(slow.map((w) => w[1] - w[0])), sent_to_own_sync_p50: med(slow.map((w) => w[2] - w[1])),
    sent_to_first_ack_p50: med(slow.map((w) => w[3] - w[1])), ready_to_applied_p50: med(slow.map((w) => w[4] - Math.max(w[2], w[3]))),
  };
}

interface SampleNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: SampleNode[] }

/**
 * V8's sampling heap profiler with the garbage kept in (`includeObjectsCollectedBy*GC`), so
 * it shows what allocates, not what survives: a development aid for the young-generation
 * pauses (`RAFT_BENCH_ALLOC_PROF=1`, read by `raft-prof.ts --alloc`).
 */
export class AllocSampler {
  private constructor(private readonly session: Session) {}

  static async start(): Promise<AllocSampler> {
    // Loaded only when sampling: a member that does not sample never loads the inspector.
    const { Session } = await import('node:inspector/promises');
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true } as never);
    return new AllocSampler(session);
  }

  /** The 25 call sites with the most bytes allocated since the last read (sampled), then restarts sampling. */
  async take(): Promise<{ fn: string; at: string; kib: number }[]> {
    const { profile } = (await this.session.post('HeapProfiler.stopSampling')) as { profile: { head: SampleNode } };
    const bySite = new Map<string, number>();
    const walk = (n: SampleNode) => {
      const f = n.callFrame;
      const key = `${f.functionName || '(anonymous)'}\t${f.url.replace(/^.*\/(node_modules|work\/main)\//, '')}:${f.lineNumber + 1}`;
      bySite.set(key, (bySite.get(key) ?? 0) + n.selfSize);
      for (const c of n.children) walk(c);
    };
    walk(profile.head);
    await this.session.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true } as never);
    return [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => {
      const [fn, at] = k.split('\t');
      return { fn, at, kib: Math.round(v / 1024) };
    });
  }
}
