/** A binary min-heap of nodes, ordered by a comparison given at construction. */
import type { NodeInfo } from './node-info.ts';

export class NodeHeap {
  private readonly items: NodeInfo[] = [];
  constructor(private readonly less: (a: NodeInfo, b: NodeInfo) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(n: NodeInfo): void {
    const a = this.items;
    a.push(n);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  /** Removes and returns the least node, or undefined when empty. */
  pop(): NodeInfo | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}
