/**
 * The leader's publisher of node network views: one store watch over networks, services,
 * tasks and nodes; after a commit that changed what views are made of (`affectsViews`:
 * not a task's steps towards running, not a node's status writes) it recomputes every node's
 * view (`computeNetworkViews`, pure) and hands each subscribed session its view when it
 * differs from the one that session last got. Recomputing is coalesced: many commits in
 * one turn of the event loop cost one computation.
 *
 * Each set of views carries its generation (the store index it was computed at); nodes
 * acknowledge the generation they applied, and the cluster-wide watermark (`ViewWatermark`)
 * goes to every session when it rises, at most every `WATERMARK_COALESCE_MS`, so a node can
 * hold a task's stop until no node routes new connections to it.
 */
import type { MemoryStore } from '../store/index.ts';
import type { NodeNetworkView } from '../wire/network-view-types.ts';
import { affectsViews, computeNetworkViews } from './network-view.ts';
import { ViewWatermark } from './view-watermark.ts';

type Send = (view: NodeNetworkView) => void;

interface Subscriber {
  nodeId: string;
  send: Send;
  /** Told the cluster's watermark when it rises. */
  sendWatermark: (generation: number) => void;
  /** JSON of the view last sent ('' before the first), without its generation. */
  last: string;
}

/** One session's subscription: end it, or report the generation its node applied. */
export interface ViewSubscription {
  close(): void;
  acked(generation: number): void;
}

/** Watermark broadcasts are coalesced: every node's acknowledgement of one change costs one round of frames. */
const WATERMARK_COALESCE_MS = 5;

const EMPTY_VIEW_VTEP = '';

export class NetworkViews {
  private readonly subscribers = new Set<Subscriber>();
  private unsubscribe?: () => void;
  private dirty = false;
  private scheduled = false;
  private views = new Map<string, NodeNetworkView>();
  private generation = 0;
  private readonly watermark = new ViewWatermark<Subscriber>();
  private broadcastWatermark = 0;
  private watermarkTimer: NodeJS.Timeout | undefined;

  constructor(private readonly store: MemoryStore) {}

  /** Sends `nodeId`'s view now and whenever it changes, and the watermark when it rises, until closed. */
  subscribe(nodeId: string, send: Send, sendWatermark: (generation: number) => void = () => {}): ViewSubscription {
    this.start();
    const sub: Subscriber = { nodeId, send, sendWatermark, last: '' };
    this.subscribers.add(sub);
    this.watermark.add(sub);
    // Views out of date: the coalesced recompute (next turn) delivers this one's too. Done
    // here, each session arriving between a commit and that turn recomputed every node's
    // view on its own: a new leader taking a thousand sessions while tasks start.
    if (this.dirty) this.schedule();
    else this.deliver(sub);
    return {
      close: () => {
        this.subscribers.delete(sub);
        this.watermark.remove(sub);
        if (this.subscribers.size === 0) this.stop();
        else this.scheduleWatermark();
      },
      acked: (generation) => {
        this.watermark.acked(sub, generation);
        this.scheduleWatermark();
      },
    };
  }

  close(): void {
    this.subscribers.clear();
    this.stop();
  }

  /**
   * Sends the watermark to every session soon, if it rose since the last broadcast. The
   * value (a pass over every session) is computed once per broadcast, not per
   * acknowledgement: N nodes acknowledging one change cost N, not N².
   */
  private scheduleWatermark(): void {
    if (this.watermarkTimer) return;
    this.watermarkTimer = setTimeout(() => {
      this.watermarkTimer = undefined;
      const value = this.watermark.value;
      if (value <= this.broadcastWatermark) return;
      this.broadcastWatermark = value;
      for (const sub of this.subscribers) sub.sendWatermark(value);
    }, WATERMARK_COALESCE_MS);
    this.watermarkTimer.unref?.();
  }

  private start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.store.subscribe((e) => {
      if (e.kind !== 'commit') {
        if (affectsViews(e)) this.dirty = true;
        return;
      }
      if (this.dirty) this.schedule();
    }, {
      kinds: ['network', 'service', 'task', 'node', 'cluster'],
      onClose: () => {
        // A snapshot restore closed the watch: start over with a full recomputation.
        this.unsubscribe = undefined;
        if (this.subscribers.size === 0) return;
        this.start();
        this.dirty = true;
        this.schedule();
      },
    });
    this.dirty = true;
  }

  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.views.clear();
    clearTimeout(this.watermarkTimer);
    this.watermarkTimer = undefined;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.dirty && this.unsubscribe) this.recompute();
    });
  }

  private recompute(): void {
    this.dirty = false;
    this.views = this.store.view((tx) => computeNetworkViews({
      networks: tx.list('network'), services: tx.list('service'), tasks: tx.list('task'), nodes: tx.list('node'),
      cluster: tx.list('cluster')[0],
    }));
    this.generation = this.store.lastIndex;
    this.watermark.computed(this.generation);
    for (const sub of this.subscribers) this.deliver(sub);
    this.scheduleWatermark();
  }

  private deliver(sub: Subscriber): void {
    const view = this.views.get(sub.nodeId) ?? { vtep: EMPTY_VIEW_VTEP, networks: [] };
    const json = JSON.stringify(view);
    if (json === sub.last) return;
    sub.last = json;
    this.watermark.sent(sub, this.generation);
    sub.send({ ...view, generation: this.generation });
  }
}
