/**
 * The leader's publisher of node network views: one store watch over networks, services,
 * tasks and nodes; after a commit that changed what views are made of (`affectsViews`:
 * not a task's steps towards running, not a node's status writes) it recomputes every node's
 * view (`computeNetworkViews`, pure) and hands each subscribed session its view when it
 * differs from the one that session last got. Recomputing is coalesced: many commits in
 * one turn of the event loop cost one computation.
 */
import type { MemoryStore } from '../store/index.ts';
import type { NodeNetworkView } from '../wire/network-view-types.ts';
import { affectsViews, computeNetworkViews } from './network-view.ts';

type Send = (view: NodeNetworkView) => void;

interface Subscriber {
  nodeId: string;
  send: Send;
  /** JSON of the view last sent ('' before the first). */
  last: string;
}

const EMPTY_VIEW_VTEP = '';

export class NetworkViews {
  private readonly subscribers = new Set<Subscriber>();
  private unsubscribe?: () => void;
  private dirty = false;
  private scheduled = false;
  private views = new Map<string, NodeNetworkView>();

  constructor(private readonly store: MemoryStore) {}

  /** Sends `nodeId`'s view now and whenever it changes, until the returned function is called. */
  subscribe(nodeId: string, send: Send): () => void {
    this.start();
    const sub: Subscriber = { nodeId, send, last: '' };
    this.subscribers.add(sub);
    if (this.dirty || this.views.size === 0) this.recompute();
    else this.deliver(sub);
    return () => {
      this.subscribers.delete(sub);
      if (this.subscribers.size === 0) this.stop();
    };
  }

  close(): void {
    this.subscribers.clear();
    this.stop();
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
      kinds: ['network', 'service', 'task', 'node'],
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
    }));
    for (const sub of this.subscribers) this.deliver(sub);
  }

  private deliver(sub: Subscriber): void {
    const view = this.views.get(sub.nodeId) ?? { vtep: EMPTY_VIEW_VTEP, networks: [] };
    const json = JSON.stringify(view);
    if (json === sub.last) return;
    sub.last = json;
    sub.send(view);
  }
}
