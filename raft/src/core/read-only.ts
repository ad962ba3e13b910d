import type { Message, NodeId } from '../types.ts';

/** A ReadIndex request waiting for a heartbeat quorum (ReadOnlySafe). */
export interface ReadIndexStatus {
  req: Message;
  /** The leader's commit index when the request arrived: the read must wait for it. */
  index: number;
  acks: Set<NodeId>;
}

/** The key a request context is tracked under. */
export function ctxKey(ctx: Uint8Array | undefined): string {
  return ctx ? Buffer.from(ctx).toString('base64') : '';
}

/**
 * The queue of ReadIndex requests on a leader (etcd's readOnly, ReadOnlySafe): each waits
 * for a quorum to answer a heartbeat carrying its context; acknowledging one request
 * acknowledges every request queued before it.
 */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Queues a request (from the message's `context`) to be answered at `index`. Duplicates are ignored. */
  addRequest(index: number, m: Message): void {
    const key = ctxKey(m.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req: m, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records a heartbeat acknowledgement; returns the acks so far (undefined if unknown). */
  recvAck(id: NodeId, ctx: Uint8Array | undefined): Set<NodeId> | undefined {
    const rs = this.pending.get(ctxKey(ctx));
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Dequeues and returns every request up to and including the one with `ctx`. */
  advance(ctx: Uint8Array | undefined): ReadIndexStatus[] {
    const key = ctxKey(ctx);
    const i = this.queue.indexOf(key);
    if (i < 0) return [];
    const keys = this.queue.slice(0, i + 1);
    this.queue = this.queue.slice(i + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of keys) {
      out.push(this.pending.get(k)!);
      this.pending.delete(k);
    }
    return out;
  }

  /** The context of the newest pending request, carried on heartbeats. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1])!.req.context;
  }

  get size(): number {
    return this.queue.length;
  }
}
