/**
 * The cluster's network-view watermark: the newest view generation that every node with a
 * session has applied to its kernel. A task that leaves every rotation (DNS, VIP, routing
 * mesh) is only safe to stop once no node can still send it a new connection, that is once
 * the watermark reaches the generation whose views first left it out; the node that runs
 * the task waits for that before the stop signal (`RotationWaiters`).
 *
 * Generations are the store index a set of views was computed at. A node that applied the
 * last view it was sent is caught up with the newest computation, even when newer ones did
 * not change its view (nothing was sent to it); a node still applying is only as far as the
 * generation it last acknowledged. A node that has never acknowledged counts as caught up:
 * a daemon from before acknowledgements would otherwise hold every drain to its timeout.
 * Pure: no I/O, no clock.
 */
export class ViewWatermark<K> {
  private current = 0;
  private readonly nodes = new Map<K, { sent: number; acked: number }>();

  /** The generation of the newest set of views computed. */
  computed(generation: number): void {
    if (generation > this.current) this.current = generation;
  }

  /** A node's session started (nothing sent, nothing acknowledged yet). */
  add(node: K): void {
    if (!this.nodes.has(node)) this.nodes.set(node, { sent: 0, acked: -1 });
  }

  /** A node's session ended: it no longer holds the watermark back. */
  remove(node: K): void {
    this.nodes.delete(node);
  }

  /** A view of `generation` was sent to `node`. */
  sent(node: K, generation: number): void {
    const n = this.nodes.get(node);
    if (n && generation > n.sent) n.sent = generation;
  }

  /**
   * `node` applied the view of `generation`. An acknowledgement of a generation never sent
   * to it (a confused or hostile peer) is capped at what was sent, so it cannot lift the
   * watermark past views it has not seen.
   */
  acked(node: K, generation: number): void {
    const n = this.nodes.get(node);
    if (!n || !Number.isSafeInteger(generation)) return;
    const capped = Math.min(generation, n.sent);
    if (capped > n.acked) n.acked = capped;
  }

  /** The newest generation every node has applied (the newest computed when all are caught up). */
  get value(): number {
    let low = this.current;
    for (const n of this.nodes.values()) {
      if (n.acked < 0 || n.acked >= n.sent) continue;
      if (n.acked < low) low = n.acked;
    }
    return low;
  }
}
