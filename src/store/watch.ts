/**
 * Store events and their delivery. Each applied transaction publishes its object events
 * (`task.created`, `service.updated`, …) in order, then one commit marker
 * `{ kind: 'commit', index }`. Controllers mark IDs dirty on object events and do the
 * work on the marker (SwarmKit's shape).
 *
 * Two ways to subscribe: a callback (called synchronously inside the apply, so it must
 * be cheap and must not write to the store), or an async iterator with a bounded queue:
 * a subscriber that falls `limit` events behind is closed with `WatchResyncError` rather
 * than slowing the store; it re-reads the state (`view`) and watches again.
 */
import type { Kind, StoreObjects } from './objects.ts';

type EventsOf<K extends Kind> =
  | { kind: `${K}.created`; object: StoreObjects[K] }
  | { kind: `${K}.updated`; object: StoreObjects[K]; old: StoreObjects[K] }
  | { kind: `${K}.deleted`; object: StoreObjects[K] };

/** A change of one object. `object` is the new state (for deletes, the deleted object); `old` the previous one. */
export type ObjectEvent = { [K in Kind]: EventsOf<K> }[Kind];

/** Sent after the object events of each applied transaction; `index` is its log index. */
export interface CommitEvent {
  kind: 'commit';
  index: number;
}

export type StoreEvent = ObjectEvent | CommitEvent;

/** The object kind an object event is about (`'task.updated'` → `'task'`). */
export function eventObjectKind(e: ObjectEvent): Kind {
  return e.kind.slice(0, e.kind.indexOf('.')) as Kind;
}

export interface WatchOptions {
  /** Object kinds to receive events for. Default: all. */
  kinds?: readonly Kind[];
  /** Further filter on object events (called synchronously; keep it cheap). Default: all pass. */
  filter?: (e: ObjectEvent) => boolean;
  /** Whether to receive commit markers. Default true. */
  commits?: boolean;
  /** Iterator watches: events queued before the watch is closed with `WatchResyncError`. Default 10000. */
  limit?: number;
}

/** The watch was closed by the store (queue overflow, store restored): re-read the state and watch again. */
export class WatchResyncError extends Error {
  override name = 'WatchResyncError';
  readonly retryable = true;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`store: watch closed, re-sync needed (${reason})`, options);
  }
}

/** A subscriber as the hub sees it. */
interface Subscriber {
  /** Delivers one event (the subscriber may close itself meanwhile). */
  push(e: StoreEvent): void;
  fail(err: Error): void;
}

/** Fans events out to subscribers. Owned by the store; one per store. */
export class WatchHub {
  private readonly subs = new Map<Subscriber, WatchOptions>();

  get size(): number {
    return this.subs.size;
  }

  add(sub: Subscriber, opts: WatchOptions): void {
    this.subs.set(sub, opts);
  }

  remove(sub: Subscriber): void {
    this.subs.delete(sub);
  }

  /** Publishes one transaction's events and its commit marker. */
  publish(events: readonly ObjectEvent[], index: number): void {
    const commit: CommitEvent = { kind: 'commit', index };
    for (const [sub, opts] of [...this.subs]) {
      for (const e of events) {
        if (!this.subs.has(sub)) break;
        if (opts.kinds && !opts.kinds.includes(eventObjectKind(e))) continue;
        if (opts.filter && !opts.filter(e)) continue;
        sub.push(e);
      }
      if (opts.commits !== false && this.subs.has(sub)) sub.push(commit);
    }
  }

  /** Closes every subscriber with `err`. */
  failAll(err: Error): void {
    const subs = [...this.subs.keys()];
    this.subs.clear();
    for (const s of subs) s.fail(err);
  }
}

/**
 * An async-iterable watch with a bounded queue. Iteration ends (`done`) after `close()`;
 * it throws `WatchResyncError` when the store closed it.
 */
export class Watch implements AsyncIterableIterator<StoreEvent> {
  private queue: StoreEvent[] = [];
  private head = 0;
  private waiter: ((r: IteratorResult<StoreEvent>) => void) | undefined;
  private waiterFail: ((e: Error) => void) | undefined;
  private error: Error | undefined;
  private closed = false;
  private readonly limit: number;

  /** @internal created by `MemoryStore.watch`. */
  constructor(
    private readonly hub: WatchHub,
    opts: WatchOptions,
  ) {
    this.limit = opts.limit ?? 10_000;
    hub.add(this, opts);
  }

  /** Number of events queued and not yet read. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** @internal */
  push(e: StoreEvent): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = this.waiterFail = undefined;
      w({ value: e, done: false });
      return;
    }
    if (this.pending >= this.limit) {
      this.fail(new WatchResyncError(`queue overflow: more than ${this.limit} events behind`));
      return;
    }
    this.queue.push(e);
  }

  /** @internal */
  fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.error = err;
    this.queue = [];
    this.head = 0;
    this.hub.remove(this);
    if (this.waiterFail) {
      const f = this.waiterFail;
      this.waiter = this.waiterFail = undefined;
      this.error = undefined;
      f(err);
    }
  }

  /** Stops the watch; a pending or later `next()` resolves `done`. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.hub.remove(this);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = this.waiterFail = undefined;
      w({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<StoreEvent>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++];
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.error) {
      const err = this.error;
      this.error = undefined;
      return Promise.reject(err);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter) return Promise.reject(new Error('store: concurrent next() on one watch'));
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.waiterFail = reject;
    });
  }

  return(): Promise<IteratorResult<StoreEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** A callback subscription. A throwing callback ends it (reported through `onClose`). */
export class CallbackSubscriber implements Subscriber {
  private closed = false;

  constructor(
    private readonly hub: WatchHub,
    private readonly onEvent: (e: StoreEvent) => void,
    private readonly onClose: ((err?: Error) => void) | undefined,
    opts: WatchOptions,
  ) {
    hub.add(this, opts);
  }

  push(e: StoreEvent): void {
    if (this.closed) return;
    try {
      this.onEvent(e);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this);
    this.onClose?.(err);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove(this);
    this.onClose?.();
  }
}
