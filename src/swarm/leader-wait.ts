/**
 * Sessions that reach a manager while no leader is known (an election after the leader
 * died) wait here for one, instead of being answered "no leader" and closed at once.
 *
 * Why: a closed session tries again within half a second, with a full mTLS handshake.
 * After a leader of a thousand nodes was killed, every node did that against the two
 * followers over and over — thousands of handshakes a second on a 2-core machine — and
 * the followers, starved, ran their election timers and heartbeats late: their logs went
 * silent for 14 s before anyone was elected. Held, each node costs one handshake, and
 * all of them learn the new leader the moment it is known.
 *
 * A session is held at most `maxHoldMs`; then it is answered without a leader as before
 * (a cluster without quorum must not hold connections forever, and the node should try
 * another manager it knows). At most `maxHeld` are held at once: one more is answered at
 * once, as before, so a flood of connections cannot pile up sockets and timers. No I/O
 * here: the caller sends the redirect.
 */

/** Timers, injected so tests run on a manual clock. */
export interface HoldClock {
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** Called once per held session with the leader's address (undefined: the hold ran out). */
export type LeaderAnswer = (leaderAddr: string | undefined) => void;

export interface LeaderWaitOptions {
  clock: HoldClock;
  /** The longest a session is held, ms. */
  maxHoldMs: number;
  /**
   * Runs a batch of answers in a later turn (default: at once). The leader is learned inside
   * Raft's loop, and a new leader answering a thousand sessions there in one stretch sends
   * its first heartbeats late: answers go out `batch` at a time, a turn each.
   */
  defer?: (fn: () => void) => void;
  /** Answers per turn (default 100). */
  batch?: number;
  /** The most sessions held at once (default 10,000); more are answered at once, without a leader. */
  maxHeld?: number;
}

/** The sessions held for a leader; each is answered exactly once, or released unanswered. */
export class LeaderWait {
  private readonly held = new Map<number, { answer: LeaderAnswer; cancel: () => void }>();
  private next = 0;
  private closed = false;

  constructor(private readonly o: LeaderWaitOptions) {
    if (!(o.maxHoldMs > 0)) throw new Error(`leader-wait: maxHoldMs must be positive, got ${o.maxHoldMs}`);
    if (o.batch !== undefined && !(Number.isSafeInteger(o.batch) && o.batch > 0)) throw new Error(`leader-wait: batch must be a positive integer, got ${o.batch}`);
    if (o.maxHeld !== undefined && !(Number.isSafeInteger(o.maxHeld) && o.maxHeld > 0)) throw new Error(`leader-wait: maxHeld must be a positive integer, got ${o.maxHeld}`);
  }

  /** How many sessions wait now. */
  get size(): number {
    return this.held.size;
  }

  /**
   * Holds a session until a leader is known (or `maxHoldMs`). Returns a release for when
   * the session ends first (its connection closed): it is then never answered. Closed, or
   * `maxHeld` sessions held already: answered at once without a leader.
   */
  hold(answer: LeaderAnswer): () => void {
    if (this.closed || this.held.size >= (this.o.maxHeld ?? 10_000)) {
      answer(undefined);
      return () => {};
    }
    const id = this.next++;
    const cancel = this.o.clock.setTimer(this.o.maxHoldMs, () => this.answer(id, undefined));
    this.held.set(id, { answer, cancel });
    return () => {
      const h = this.held.get(id);
      if (!h) return;
      this.held.delete(id);
      h.cancel();
    };
  }

  /** A leader is known: every session held now is answered with its address (`batch` a turn). */
  leaderKnown(addr: string): void {
    const ids = [...this.held.keys()];
    const batch = this.o.batch ?? 100;
    const defer = this.o.defer ?? ((fn: () => void) => fn());
    const step = (from: number) => {
      const end = Math.min(ids.length, from + batch);
      for (let i = from; i < end; i++) this.answer(ids[i], addr);
      if (end < ids.length) defer(() => step(end));
    };
    if (ids.length) defer(() => step(0));
  }

  /** Answers every held session without a leader (the manager stops) and holds no more. */
  close(): void {
    this.closed = true;
    for (const id of [...this.held.keys()]) this.answer(id, undefined);
  }

  private answer(id: number, addr: string | undefined): void {
    const h = this.held.get(id);
    if (!h) return;
    this.held.delete(id);
    h.cancel();
    h.answer(addr);
  }
}
