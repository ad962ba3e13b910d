/**
 * The manager's recent swarm events: a bounded ring fed from the store's watch, so
 * `GET /events?since=…` replays what is still retained and a client that reconnects
 * with the time of the last event it saw misses nothing retained. Listeners get each
 * new event synchronously, so reading the ring and listening happen in one tick
 * without a gap or a repeat.
 */
import type { MemoryStore } from '../../store/index.ts';
import { deriveContainerEvent, deriveEvent, type RetainedEvent } from './events-derive.ts';

/** Events kept by default (Docker keeps 256 in its events service; a swarm makes more). */
export const DEFAULT_RING_SIZE = 2048;

export interface EventRingOptions {
  /** Events kept; the oldest goes first. Default {@link DEFAULT_RING_SIZE}. */
  size?: number;
  /** Clock in ms (tests inject one). Default `Date.now`. */
  now?: () => number;
  /** This node's ID, for the container events of its tasks; none without it. */
  localNodeId?: () => string | undefined;
}

/** A bounded ring of derived events with live listeners. */
export class EventRing {
  private readonly buf: RetainedEvent[] = [];
  private readonly size: number;
  private readonly listeners = new Set<(e: RetainedEvent) => void>();
  private unsubscribe?: () => void;
  private readonly now: () => number;
  private lastMs = 0;
  private readonly localNodeId: () => string | undefined;

  constructor(opts: EventRingOptions = {}) {
    this.size = Math.max(1, opts.size ?? DEFAULT_RING_SIZE);
    this.now = opts.now ?? Date.now;
    this.localNodeId = opts.localNodeId ?? (() => undefined);
  }

  /**
   * Follows `store` from now on (events of its replay before this call are state, not
   * news). A watch the store closes (restore, overflow) is opened again.
   */
  attach(store: Pick<MemoryStore, 'subscribe'>): void {
    this.detach();
    const sub = (): void => {
      this.unsubscribe = store.subscribe((e) => {
        if (e.kind === 'commit') return;
        // Times never go backwards, so `since` of the last seen event selects what followed.
        const ms = Math.max(this.now(), this.lastMs);
        this.lastMs = ms;
        const r = deriveEvent(e, ms) ?? deriveContainerEvent(e, ms, this.localNodeId());
        if (r) this.add(r);
      }, { commits: false, onClose: (err) => { if (err && this.unsubscribe) queueMicrotask(sub); } });
    };
    sub();
  }

  /** Stops following the store. */
  detach(): void {
    const u = this.unsubscribe;
    this.unsubscribe = undefined;
    u?.();
  }

  /** Appends one event (dropping the oldest past the size) and tells the listeners. */
  add(r: RetainedEvent): void {
    this.buf.push(r);
    if (this.buf.length > this.size) this.buf.splice(0, this.buf.length - this.size);
    for (const l of [...this.listeners]) l(r);
  }

  /** The retained events, oldest first (a copy). */
  retained(): RetainedEvent[] {
    return [...this.buf];
  }

  /** Calls `fn` for each new event; returns the function that stops it. */
  listen(fn: (e: RetainedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
