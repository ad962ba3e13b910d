/**
 * The network key controller (leader only): keeps `Cluster.ShoalNetworkKey`, the swarm's
 * key for encrypted overlays, made once the swarm has an encrypted network, rotated every `rotateMs` and at once
 * when a node that held it leaves the swarm (`schedule.ts` decides). The key reaches each
 * node inside its network view, over the node's mTLS session (`src/swarm/network-view.ts`).
 */
import type { MemoryStore, ObjectEvent } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { generateNetworkKey } from '../../../net/wireguard/keys.ts';
import { StoreController } from '../controllers/store-controller.ts';
import { applyKeyAction, nextKeyAction, DEFAULT_ROTATE_MS } from './schedule.ts';

export interface NetworkKeyControllerOptions {
  /** Rotation period, ms (default 12 h, Docker's). */
  rotateMs?: number;
  /** Clock, ms since the epoch (default `Date.now`). */
  now?: () => number;
  /** A new key (default 32 random bytes, base64). */
  newKey?: () => string;
}

export class NetworkKeyController extends StoreController {
  private dirty = false;
  private timerFor = 0;
  private readonly rotateMs: number;
  private readonly now: () => number;
  private readonly newKey: () => string;

  constructor(store: MemoryStore, logger: Logger, opts: NetworkKeyControllerOptions = {}) {
    super(store, logger, ['cluster', 'node', 'network']);
    this.rotateMs = opts.rotateMs ?? DEFAULT_ROTATE_MS;
    this.now = opts.now ?? Date.now;
    this.newKey = opts.newKey ?? (() => generateNetworkKey());
  }

  protected markAll(): void {
    this.dirty = true;
    // Called on every start: a stop cleared the timer, so none is pending whatever
    // timerFor says (a leader that lost and regained leadership with the key not rotated
    // meanwhile otherwise never armed it again, and the key stopped rotating).
    this.timerFor = 0;
  }

  protected onEvent(e: ObjectEvent): void {
    if (e.kind === 'node.created' || e.kind === 'node.deleted' || e.kind === 'cluster.created' || e.kind === 'network.created') this.dirty = true;
  }

  protected async pass(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      const { value } = await this.store.update((tx) => {
        const cluster = tx.list('cluster')[0];
        if (!cluster) return undefined;
        const now = this.now();
        const current = cluster.ShoalNetworkKey;
        // Only a swarm with an encrypted network keeps a key (no cluster writes otherwise).
        const needed = tx.list('network').some((n) => Object.hasOwn(n.Spec.Options ?? {}, 'encrypted'));
        const action = nextKeyAction(current, { now, nodes: tx.list('node').map((n) => n.ID), rotateMs: this.rotateMs, needed });
        if (action.kind !== 'none') {
          const next = applyKeyAction(current, action, { now, key: action.kind === 'rotate' ? this.newKey() : '' });
          tx.update('cluster', { ...cluster, ShoalNetworkKey: next });
        }
        return { action, dueAt: action.kind === 'rotate' ? now + this.rotateMs : action.dueAt };
      });
      if (!value) return;
      if (value.action.kind === 'rotate') this.logger.info('network key rotated', { reason: value.action.reason, nodes: value.action.nodes.length });
      if (value.dueAt !== this.timerFor && Number.isFinite(value.dueAt)) {
        this.timerFor = value.dueAt;
        // Once it fired, no timer is pending: a pass that finds the period not quite over
        // (the timer measures monotonic time, `now` is the wall clock) arms a new one.
        this.at(value.dueAt - this.now(), () => { this.dirty = true; this.timerFor = 0; });
      }
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }
}
