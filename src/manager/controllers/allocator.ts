/**
 * The allocator controller (leader only, SwarmKit's): gives networks their subnet and
 * VXLAN ID, services their VIPs and published ports, nodes their ingress address, and
 * tasks in state `new` their network attachments, then moves those tasks to `pending`
 * for the scheduler. The IPAM state lives in memory on the leader and is rebuilt from
 * the store each time the controller starts (a new leader), by the same holding rule the
 * passes use, so no address is handed out twice.
 *
 * Each pass reads everything in one transaction and writes what changed; the new state
 * is kept only once the write committed (a lost race leaves the old state and retries).
 */
import type { Node } from '../../api/types/node.ts';
import { isTerminal, type Task } from '../../api/types/task.ts';
import type { MemoryStore, ObjectEvent } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { allocatePass, rebuildState, type AllocatorState } from '../allocator/index.ts';
import { StoreController } from './store-controller.ts';

export interface AllocatorOptions {
  /** Wall clock, ms since the epoch (default Date.now). */
  now?: () => number;
}

export class AllocatorController extends StoreController {
  private dirty = false;
  private state?: AllocatorState;
  /** Warnings of the last pass, so a lasting problem is logged once, not on every pass. */
  private warned = new Set<string>();
  private readonly now: () => number;

  constructor(store: MemoryStore, logger: Logger, opts: AllocatorOptions = {}) {
    super(store, logger, ['cluster', 'network', 'service', 'node', 'task']);
    this.now = opts.now ?? Date.now;
  }

  /** The current state (tests). */
  get allocatorState(): AllocatorState | undefined {
    return this.state;
  }

  protected markAll(): void {
    // (Re)started: a new leader, or a watch restarted after a snapshot restore.
    this.state = undefined;
    this.dirty = true;
  }

  protected onEvent(e: ObjectEvent): void {
    if (e.kind.startsWith('task.')) {
      if (e.kind !== 'task.updated') {
        this.dirty = true;
        return;
      }
      const t = e.object as Task;
      const old = e.old as Task;
      // Work: a task to allocate, or one that just ended (releases its addresses). Not
      // the move to pending this controller wrote, nor the steps of a running task.
      if (t.Status.State === 'new' || (isTerminal(t.Status.State) && !isTerminal(old.Status.State))) this.dirty = true;
      return;
    }
    if (e.kind === 'node.updated') {
      const n = e.object as Node;
      // Status reports change nodes often; only attachment changes matter here.
      if (JSON.stringify(n.Attachments ?? null) === JSON.stringify((e.old as Node).Attachments ?? null) && n.Attachments?.length) return;
    }
    this.dirty = true;
  }

  protected async pass(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const now = this.now();
    try {
      const { value } = await this.store.update((tx) => {
        const input = {
          cluster: tx.list('cluster')[0],
          networks: tx.list('network'),
          services: tx.list('service'),
          tasks: tx.list('task'),
          nodes: tx.list('node'),
        };
        const warnings: string[] = [];
        let state = this.state;
        if (!state) {
          const r = rebuildState(input);
          state = r.state;
          warnings.push(...r.warnings);
        }
        const r = allocatePass(state, input, { now });
        warnings.push(...r.warnings);
        for (const n of r.networks) tx.update('network', n);
        for (const s of r.services) tx.update('service', s);
        for (const n of r.nodes) tx.update('node', n);
        for (const t of r.tasks) tx.update('task', t);
        const rebuilt = this.state === undefined;
        return {
          state: r.state, warnings, rebuilt,
          counts: { networks: r.networks.length, services: r.services.length, nodes: r.nodes.length, tasks: r.tasks.length },
        };
      });
      this.state = value.state;
      if (value.rebuilt) this.logger.info('allocator: state rebuilt from the store', { networks: Object.keys(value.state.ipam.networks).length });
      const c = value.counts;
      if (c.networks + c.services + c.nodes + c.tasks > 0) this.logger.debug('allocator: wrote allocations', c);
      this.report(value.warnings);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  private report(warnings: string[]): void {
    const now = new Set(warnings);
    for (const w of now) if (!this.warned.has(w)) this.logger.warn(`allocator: ${w}`);
    this.warned = now;
  }
}
