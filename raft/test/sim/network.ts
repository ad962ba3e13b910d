/**
 * A simulated message network for the deterministic cluster simulator. Every message
 * gets a delivery time (now + a random delay), so messages overtake one another
 * (reordering); faults are seeded: loss, duplication, long delays, and blocked links
 * (symmetric partitions, isolated nodes, one-way cuts). A blocked link drops a message
 * when it is due, so a partition also eats what was already in flight; a lost message is
 * reported as dropped at the time it would have arrived.
 *
 * Messages are deep-copied on send (structuredClone): a receiver never shares objects
 * with the sender's log, as over a real wire.
 */
import type { Prng } from './prng.ts';

/** The probabilities and delays of the network; all times in simulation steps. */
export interface NetworkFaults {
  /** Probability that a message is lost. Default 0. */
  loss: number;
  /** Probability that a message is delivered twice (each copy with its own delay). Default 0. */
  duplicate: number;
  /** Delay range for ordinary messages, inclusive, ≥ 1. Default 1..3. */
  minDelay: number;
  maxDelay: number;
  /** Probability that a message is held back for up to `longDelay` steps instead. Default 0. */
  longDelayChance: number;
  longDelay: number;
}

export const CALM: NetworkFaults = { loss: 0, duplicate: 0, minDelay: 1, maxDelay: 3, longDelayChance: 0, longDelay: 0 };

/** What the network needs to know about a message: its endpoints. */
export interface Addressed {
  from: string;
  to: string;
}

/**
 * A message leaving the network: delivered, or dropped — `lost` at random, or `cut` by a
 * link blocked at its due time. Drops surface when the message would have arrived, so a
 * sender that can notice failures (a snapshot stream) learns of them then.
 */
export interface Delivery<T> {
  msg: T;
  dropped: false | 'lost' | 'cut';
}

interface InFlight<T> {
  msg: T;
  lost: boolean;
  at: number;
  /** Random tie-break among messages due at the same step. */
  order: number;
}

export class SimNetwork<T extends Addressed> {
  faults: NetworkFaults = { ...CALM };
  private readonly blocked = new Set<string>();
  private heap: InFlight<T>[] = [];
  /** Counters, for the reports of the simulation. */
  readonly stats = { sent: 0, lost: 0, duplicated: 0, dropped: 0, delivered: 0 };

  constructor(private readonly rand: Prng, private readonly clone: (m: T) => T = structuredClone) {}

  /** Queues `msg` (sent at step `now`), applying loss, duplication and delay. */
  send(msg: T, now: number): void {
    this.stats.sent++;
    if (this.rand.chance(this.faults.loss)) {
      this.stats.lost++;
      this.push(msg, now + this.delay(), true);
      return;
    }
    this.push(this.clone(msg), now + this.delay(), false);
    if (this.rand.chance(this.faults.duplicate)) {
      this.stats.duplicated++;
      this.push(this.clone(msg), now + this.delay(), false);
    }
  }

  /**
   * Removes and returns the messages due at or before `now`, in delivery order, with
   * lost ones and those on a link blocked at this moment marked as dropped.
   */
  due(now: number): Delivery<T>[] {
    const out: Delivery<T>[] = [];
    while (this.heap.length > 0 && this.heap[0].at <= now) {
      const f = this.pop();
      const dropped = f.lost ? 'lost' : this.linkUp(f.msg.from, f.msg.to) ? false : 'cut';
      if (dropped === 'cut') this.stats.dropped++;
      else if (!dropped) this.stats.delivered++;
      out.push({ msg: f.msg, dropped });
    }
    return out;
  }

  /** Number of messages in flight. */
  get inFlight(): number {
    return this.heap.length;
  }

  /** Whether messages from `from` currently reach `to`. */
  linkUp(from: string, to: string): boolean {
    return !this.blocked.has(`${from}>${to}`);
  }

  /** Blocks messages from `from` to `to` (one way). */
  cut(from: string, to: string): void {
    this.blocked.add(`${from}>${to}`);
  }

  /** Splits `groups` from one another in both directions (nodes in no group are untouched). */
  partition(groups: string[][]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i]) for (const b of groups[j]) this.cut(a, b);
      }
    }
  }

  /** Cuts `id` off from every node of `others`, both ways. */
  isolate(id: string, others: string[]): void {
    this.partition([[id], others.filter((o) => o !== id)]);
  }

  /** Restores every link (messages already lost stay lost). */
  heal(): void {
    this.blocked.clear();
  }

  /** A description of the blocked links, for traces. */
  describeCuts(): string {
    return [...this.blocked].sort().join(' ') || 'none';
  }

  private delay(): number {
    const f = this.faults;
    if (this.rand.chance(f.longDelayChance)) return this.rand.int(f.maxDelay, Math.max(f.maxDelay, f.longDelay));
    return this.rand.int(f.minDelay, f.maxDelay);
  }

  // A binary min-heap on (at, order).
  private less(a: InFlight<T>, b: InFlight<T>): boolean {
    return a.at < b.at || (a.at === b.at && a.order < b.order);
  }

  private push(msg: T, at: number, lost: boolean): void {
    const h = this.heap;
    h.push({ msg, lost, at, order: this.rand.nextU32() });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): InFlight<T> {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
