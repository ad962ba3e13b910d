/**
 * The dashboard's live feed: follows this node's manager store and hands each listener
 * a fresh {@link ClusterView} after every change. Store events only mark the view stale;
 * the view is rebuilt once per burst of commits (`coalesceMs` after the first), so a
 * scale of fifty tasks costs a handful of views, not hundreds. Nothing is read while no
 * one listens.
 */
import type { Manager } from '../manager/manager.ts';
import type { Clock } from '../agent/exec/health.ts';
import { buildView, type ClusterView } from './view.ts';

/** Where the feed finds this node's manager and identity (undefined while not a manager). */
export interface FeedSource {
  manager(): Manager | undefined;
  nodeId(): string;
}

export interface LiveFeedOptions {
  clock: Clock;
  /** How long a burst of commits is gathered into one view (ms). Default 40. */
  coalesceMs?: number;
  /** How often the feed checks whether this node's manager was replaced (promote, demote, leave) or the leader changed (ms). Default 1000. */
  recheckMs?: number;
}

/** A listener gets views, or `undefined` while this node is not a manager. */
export type FeedListener = (view: ClusterView | undefined) => void;

export class LiveFeed {
  private readonly listeners = new Set<FeedListener>();
  private current?: Manager;
  private unsubscribe?: () => void;
  private cancelFlush?: () => void;
  private cancelRecheck?: () => void;
  private readonly coalesceMs: number;
  private readonly recheckMs: number;
  /** The leader the last view showed: a new one is news the store does not announce. */
  private leaderId?: string;

  constructor(private readonly source: FeedSource, private readonly opts: LiveFeedOptions) {
    this.coalesceMs = opts.coalesceMs ?? 40;
    this.recheckMs = opts.recheckMs ?? 1000;
  }

  /** The view now, or undefined when this node runs no manager. */
  snapshot(): ClusterView | undefined {
    const m = this.source.manager();
    if (!m) return undefined;
    const self = { nodeId: this.source.nodeId(), leader: m.isLeader };
    this.leaderId = m.leaderId;
    const input = { self, leaderId: m.leaderId, reachability: (id: string) => m.reachability(id) };
    return m.store.view((tx) => buildView({ ...input, nodes: tx.list('node'), services: tx.list('service'), tasks: tx.list('task') }, { now: this.opts.clock.now() }));
  }

  /** Calls `fn` with the view now and after each change; returns the function that stops it. */
  listen(fn: FeedListener): () => void {
    this.listeners.add(fn);
    if (this.listeners.size === 1) this.follow();
    fn(this.safeSnapshot());
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.unfollow();
    };
  }

  /** Stops following; listeners are dropped. */
  close(): void {
    this.listeners.clear();
    this.unfollow();
  }

  private safeSnapshot(): ClusterView | undefined {
    try {
      return this.snapshot();
    } catch {
      return undefined; // a locked swarm or a manager stopping: shown as "not a manager"
    }
  }

  private follow(): void {
    this.attach();
    const recheck = () => {
      this.cancelRecheck = this.opts.clock.setTimer(this.recheckMs, recheck);
      const m = this.safeManager();
      if (m !== this.current) {
        this.attach();
        this.flush();
      } else if (m && m.leaderId !== this.leaderId) this.flush();
    };
    this.cancelRecheck = this.opts.clock.setTimer(this.recheckMs, recheck);
  }

  private unfollow(): void {
    this.cancelRecheck?.();
    this.cancelRecheck = undefined;
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.current = undefined;
  }

  private safeManager(): Manager | undefined {
    try {
      return this.source.manager();
    } catch {
      return undefined;
    }
  }

  /** Subscribes to the current manager's store (commit markers only mark the view stale). */
  private attach(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const m = this.safeManager();
    this.current = m;
    if (!m) return;
    const sub = () => {
      this.unsubscribe = m.store.subscribe((e) => {
        if (e.kind === 'commit') this.stale();
      }, {
        // A store restored from a snapshot closes its watches: follow it again and redraw.
        onClose: (err) => { if (err && this.current === m && this.listeners.size) queueMicrotask(() => { sub(); this.stale(); }); },
      });
    };
    sub();
  }

  private stale(): void {
    if (this.cancelFlush) return;
    this.cancelFlush = this.opts.clock.setTimer(this.coalesceMs, () => {
      this.cancelFlush = undefined;
      this.flush();
    });
  }

  private flush(): void {
    if (!this.listeners.size) return;
    const view = this.safeSnapshot();
    for (const l of [...this.listeners]) l(view);
  }
}
