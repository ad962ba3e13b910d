/**
 * The root CA rotation controller (leader only; SwarmKit's root rotation reconciler):
 * while the cluster has a `RootCA.RootRotation`, watches the nodes' reported
 * `Description.TLSInfo` and, once every node's leaf was issued by the new root's key,
 * makes the new root the cluster's only root and the join tokens new ones with its
 * digest (`finishedRotation` in `ca/rotation.ts` decides). Nodes learn the new target
 * on their sessions and renew or re-trust by themselves; this controller only finishes.
 */
import { randomBytes } from 'node:crypto';
import type { MemoryStore, ObjectEvent } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { clusterTLSInfo, finishedRotation, rotationProgress, signerIdentity } from '../ca/index.ts';
import type { RandomBytes } from '../ca/join-token.ts';
import { StoreController } from './store-controller.ts';

export class CARotationController extends StoreController {
  private dirty = false;
  private lastLogged = '';
  private readonly rand: RandomBytes;

  /** `rand`: random bytes for the new join tokens' secrets (default `crypto.randomBytes`). */
  constructor(store: MemoryStore, logger: Logger, opts: { rand?: RandomBytes } = {}) {
    super(store, logger, ['cluster', 'node']);
    this.rand = opts.rand ?? ((n) => new Uint8Array(randomBytes(n)));
  }

  protected markAll(): void {
    this.dirty = true;
  }

  protected onEvent(e: ObjectEvent): void {
    // Any node change may be the last node converging; any cluster change a new rotation.
    if (e.kind.startsWith('node.') || e.kind.startsWith('cluster.')) this.dirty = true;
  }

  protected async pass(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const { cluster, nodes } = this.store.view((tx) => ({ cluster: tx.list('cluster')[0], nodes: tx.list('node') }));
    const root = cluster?.RootCA;
    if (!root?.RootRotation) return;
    const progress = rotationProgress(root, nodes);
    const line = `${progress.certsRotated}/${progress.total}`;
    if (line !== this.lastLogged) {
      this.lastLogged = line;
      this.logger.info('root rotation: node certificates renewed', { rotated: progress.certsRotated, total: progress.total, waiting: progress.unconverged.join(',') });
    }
    const done = finishedRotation(root, nodes, this.rand);
    if (!done) return;
    const from = signerIdentity(root);
    try {
      await this.store.update((tx) => {
        const current = tx.list('cluster')[0];
        // Another rotation began meanwhile: that one is not finished.
        if (!current?.RootCA || signerIdentity(current.RootCA) !== from) return;
        const next = structuredClone(current);
        next.RootCA = done.root;
        next.JoinTokens = done.tokens;
        next.TLSInfo = clusterTLSInfo(done.root);
        next.RootRotationInProgress = false;
        tx.update('cluster', next);
      });
    } catch (err) {
      this.dirty = true;
      throw err;
    }
    this.logger.info('root rotation complete: the new root CA is the only one; join tokens renewed', { 'cluster.id': cluster.ID });
  }
}
