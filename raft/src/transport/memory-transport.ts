/**
 * An in-memory network for tests and simulations, after etcd's `network` in raft_test.go:
 * every node gets a `MemoryTransport` from one `MemoryNetwork`, and the test cuts links,
 * isolates nodes or partitions the cluster. Delivery is asynchronous (a microtask), in
 * send order, with no timers, so a manual-clock test settles with one macrotask turn.
 */
import { MessageType, type Message, type NodeId } from '../types.ts';
import type { Transport, TransportHandler } from './transport.ts';

const NULL_HANDLER: TransportHandler = { onMessage() {}, onUnreachable() {}, onSnapshotStatus() {} };

/** The hub: which transports are up and which links are cut. */
export class MemoryNetwork {
  private readonly nodes = new Map<NodeId, MemoryTransport>();
  private readonly cut = new Set<string>();
  /** Messages delivered so far, by type (for assertions on traffic). */
  readonly delivered = new Map<MessageType, number>();
  /** Optional filter: return false to drop a message. */
  filter: ((m: Message) => boolean) | undefined;

  /** A transport for node `id`, attached once it is started. */
  transport(id: NodeId): MemoryTransport {
    return new MemoryTransport(this, id);
  }

  /** Cuts both directions between `a` and `b`. */
  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}\u0000${b}`);
    this.cut.add(`${b}\u0000${a}`);
  }

  /** Cuts `id` off from every other node, present or future, until `heal`. */
  isolate(id: NodeId): void {
    this.cut.add(`${id}\u0000*`);
  }

  /** Splits the nodes into groups; links between groups are cut. */
  partition(...groups: NodeId[][]): void {
    for (const g of groups) for (const h of groups) if (g !== h) for (const a of g) for (const b of h) this.cut.add(`${a}\u0000${b}`);
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear();
  }

  /** Whether a message from `from` to `to` would be delivered now. */
  canDeliver(from: NodeId, to: NodeId): boolean {
    if (!this.nodes.has(to)) return false;
    if (this.cut.has(`${from}\u0000*`) || this.cut.has(`${to}\u0000*`)) return false;
    return !this.cut.has(`${from}\u0000${to}`);
  }

  /** @internal */
  attach(t: MemoryTransport): void {
    this.nodes.set(t.id, t);
  }

  /** @internal A stopped node is like a dead process: every other node sees its connection drop. */
  detach(t: MemoryTransport): void {
    if (this.nodes.get(t.id) !== t) return;
    this.nodes.delete(t.id);
    for (const other of this.nodes.values()) queueMicrotask(() => other.peerDown(t.id));
  }

  /** @internal Returns whether the message was accepted for delivery. */
  route(m: Message): boolean {
    if (!this.canDeliver(m.from, m.to)) return false;
    if (this.filter && !this.filter(m)) return false;
    const target = this.nodes.get(m.to)!;
    this.delivered.set(m.type, (this.delivered.get(m.type) ?? 0) + 1);
    queueMicrotask(() => {
      // Re-check at delivery time: the link may have been cut or the node stopped meanwhile.
      if (this.nodes.get(m.to) === target && this.canDeliver(m.from, m.to)) target.deliver(m);
    });
    return true;
  }
}

/**
 * One node's end of a `MemoryNetwork`. Peer addresses are ignored (every attached node is
 * reachable by ID), but `removePeer` stops traffic to that peer as a real transport would.
 */
export class MemoryTransport implements Transport {
  private handler: TransportHandler = NULL_HANDLER;
  private readonly removed = new Set<NodeId>();
  private started = false;

  constructor(private readonly network: MemoryNetwork, readonly id: NodeId) {}

  setHandler(handler: TransportHandler): void {
    this.handler = handler;
  }

  async start(): Promise<void> {
    this.started = true;
    this.network.attach(this);
  }

  send(messages: Message[]): void {
    if (!this.started) return;
    for (const m of messages) {
      const ok = !this.removed.has(m.to) && this.network.route(m);
      if (m.type === MessageType.Snap) queueMicrotask(() => this.handler.onSnapshotStatus(m.to, ok));
      if (!ok) queueMicrotask(() => this.handler.onUnreachable(m.to));
    }
  }

  addPeer(id: NodeId, _address: string): void {
    this.removed.delete(id);
  }

  removePeer(id: NodeId): void {
    this.removed.add(id);
  }

  async close(): Promise<void> {
    this.started = false;
    this.network.detach(this);
  }

  /** @internal */
  peerDown(id: NodeId): void {
    if (this.started) this.handler.onPeerDown?.(id);
  }

  /** @internal */
  deliver(m: Message): void {
    if (this.started) this.handler.onMessage(m);
  }
}
