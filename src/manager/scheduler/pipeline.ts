/**
 * Runs the filters against nodes for one task group and counts, per filter, the nodes
 * it refused (each node counted once, by the first filter that refused it), so a task
 * that fits nowhere gets Docker's explanation:
 * `no suitable node (insufficient resources on 2 nodes; 1 node not available for new tasks)`,
 * reasons ordered by the number of nodes, most first, as SwarmKit's `Pipeline.Explain`.
 */
import type { Task } from '../../api/types/task.ts';
import { defaultFilters, type Filter } from './filters.ts';
import type { NodeInfo } from './node-info.ts';

export class Pipeline {
  private enabled: Filter[] = [];
  private enabledIdx: number[] = [];
  private readonly failures: number[];

  /** `filters` run in the given order; the default is {@link defaultFilters}. */
  constructor(private readonly filters: Filter[] = defaultFilters()) {
    this.failures = filters.map(() => 0);
  }

  /** Prepares every filter for `task` (a representative of its group) and clears the counts. */
  setTask(task: Task): void {
    this.enabledIdx = [];
    this.filters.forEach((f, i) => f.setTask(task) && this.enabledIdx.push(i));
    this.enabled = this.enabledIdx.map((i) => this.filters[i]);
    this.failures.fill(0);
  }

  /** Whether `node` passes every enabled filter; a refusal is counted against the first filter that refused. */
  process(node: NodeInfo): boolean {
    const en = this.enabled;
    for (let i = 0; i < en.length; i++) {
      if (!en[i].check(node)) {
        this.failures[this.enabledIdx[i]]++;
        return false;
      }
    }
    return true;
  }

  /** Clears the refusal counts (kept filters stay enabled). */
  resetCounts(): void {
    this.failures.fill(0);
  }

  /**
   * The reasons counted since the last reset, joined with `; `, most nodes first (ties in
   * pipeline order); filters with the same wording are summed. Empty when nothing refused.
   */
  explain(): string {
    const byText = new Map<string, { filter: Filter; count: number; order: number }>();
    this.filters.forEach((f, i) => {
      const c = this.failures[i];
      if (!c) return;
      const key = f.explain(1);
      const e = byText.get(key);
      if (e) e.count += c;
      else byText.set(key, { filter: f, count: c, order: i });
    });
    return [...byText.values()]
      .sort((a, b) => b.count - a.count || a.order - b.order)
      .map((e) => e.filter.explain(e.count))
      .join('; ');
  }
}

/** Docker's message for a task left pending: `no suitable node (…)`, or `no suitable node` with no reason. */
export function noSuitableNode(explanation: string): string {
  return explanation ? `no suitable node (${explanation})` : 'no suitable node';
}
