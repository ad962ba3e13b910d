/**
 * The placement-preference tree: nodes grouped level by level by the value of each
 * `spread=node.labels.X` (or `engine.labels.X`) preference, a node without the label
 * under `""`, as SwarmKit does. Each branch counts the group's service tasks already in
 * it (on every node, eligible or not); a task goes to the branch with the fewest, then
 * to the best node inside it (a heap at each leaf).
 */
import type { Node } from '../../api/types/node.ts';
import { ENGINE_LABEL_PREFIX, NODE_LABEL_PREFIX } from '../../api/spec/constraint.ts';
import { NodeHeap } from './node-heap.ts';
import type { NodeInfo } from './node-info.ts';

/** Reads a node's value for one spread descriptor; `""` when absent. */
export function spreadValue(descriptor: string, node: Node): string | undefined {
  const d = descriptor.toLowerCase();
  if (d.startsWith(NODE_LABEL_PREFIX) && d.length > NODE_LABEL_PREFIX.length) {
    return node.Spec?.Labels?.[descriptor.slice(NODE_LABEL_PREFIX.length)] ?? '';
  }
  if (d.startsWith(ENGINE_LABEL_PREFIX) && d.length > ENGINE_LABEL_PREFIX.length) {
    return node.Description?.Engine?.Labels?.[descriptor.slice(ENGINE_LABEL_PREFIX.length)] ?? '';
  }
  return undefined; // unknown descriptors do not split, as in SwarmKit
}

export class SpreadTree {
  /** Tasks of the group's service in this branch. */
  tasks = 0;
  /** Branches by value, sorted by value for determinism; undefined at a leaf. */
  children: SpreadTree[] | undefined;
  private byValue: Map<string, SpreadTree> | undefined;
  /** Eligible nodes at a leaf. */
  heap: NodeHeap | undefined;
  /** Set once the branch could not take a task; it is skipped for the rest of the group. */
  full = false;

  constructor(
    readonly value: string,
    private readonly less: (a: NodeInfo, b: NodeInfo) => boolean,
  ) {}

  /** The child for `value`, created on first use. */
  child(value: string): SpreadTree {
    this.byValue ??= new Map();
    let c = this.byValue.get(value);
    if (!c) {
      c = new SpreadTree(value, this.less);
      this.byValue.set(value, c);
    }
    return c;
  }

  /** Adds an eligible node at this leaf. */
  addNode(n: NodeInfo): void {
    (this.heap ??= new NodeHeap(this.less)).push(n);
  }

  /** Freezes the child order once every node is in (call before placing). */
  seal(): void {
    if (!this.byValue) return;
    this.children = [...this.byValue.values()].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    for (const c of this.children) c.seal();
  }

  /**
   * Picks a node for one task: the branch with the fewest tasks that still has room (ties
   * by value), recursively; at a leaf the least node of the heap. `accept(node)` accounts
   * for the task and says whether the node can take another. Returns the node or undefined.
   */
  place(accept: (n: NodeInfo) => boolean): NodeInfo | undefined {
    if (!this.children) {
      const n = this.heap?.pop();
      if (!n) {
        this.full = true;
        return undefined;
      }
      if (accept(n)) this.heap!.push(n);
      this.tasks++;
      return n;
    }
    for (;;) {
      let best: SpreadTree | undefined;
      for (const c of this.children) if (!c.full && (!best || c.tasks < best.tasks)) best = c;
      if (!best) {
        this.full = true;
        return undefined;
      }
      const n = best.place(accept);
      if (n) {
        this.tasks++;
        return n;
      }
    }
  }
}
