/**
 * One controller pass per turn of the event loop. A commit wakes every leader controller
 * at once; run back to back (one `setImmediate` each, all in the same check phase) their
 * passes held the leader's event loop for the sum of them — past the Raft election
 * timeout while 10,000 tasks were written, so heartbeats went out late and the leader
 * lost its lease. Through `Turns`, each queued pass starts in a turn of its own, with
 * timers (Raft ticks) and socket reads (heartbeats, acks) in between.
 */

/** Runs `fn` in a later turn of the event loop (default `setImmediate`). */
export type Defer = (fn: () => void) => void;

/** A first-in first-out queue of callbacks, one run per deferred turn. */
export class Turns {
  private readonly queue: (() => void)[] = [];
  private pumping = false;

  constructor(private readonly defer: Defer = (fn) => void setImmediate(fn)) {}

  /** Queues `fn`; it runs in a turn of its own, after those queued before it. */
  next(fn: () => void): void {
    this.queue.push(fn);
    if (this.pumping) return;
    this.pumping = true;
    this.defer(() => this.pump());
  }

  /** Callbacks waiting for their turn. */
  get waiting(): number {
    return this.queue.length;
  }

  private pump(): void {
    const fn = this.queue.shift();
    try {
      fn?.();
    } finally {
      // Deferred from inside a deferred callback: the next one waits for the next turn.
      if (this.queue.length > 0) this.defer(() => this.pump());
      else this.pumping = false;
    }
  }
}

const byStore = new WeakMap<object, Turns>();

/**
 * The turns shared by every controller of one store (keyed by the store object, so two
 * stores in one process, as in tests, never wait on each other).
 */
export function turnsOf(store: object): Turns {
  let t = byStore.get(store);
  if (!t) byStore.set(store, (t = new Turns()));
  return t;
}
