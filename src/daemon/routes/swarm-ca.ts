/**
 * The root CA side of `/swarm` (what `docker swarm ca` drives): `swarm update` with
 * `CAConfig.ForceRotate`, `SigningCACert` / `SigningCAKey` begins (or cancels) a root
 * rotation (`manager/ca/rotation.ts`); `ExternalCAs` (cfssl signers, checked here) sign
 * instead of the local key for the root they name and stand in for `SigningCAKey`;
 * `GET /swarm` shows `TLSInfo` and
 * `RootRotationInProgress` from the stored root CA. The signing cert and key are never
 * stored in the spec nor shown, as in Docker (the key is secret; the cert would make a
 * read-modify-write of the spec start a rotation).
 */
import { ConflictError } from '../../api/errors.ts';
import type { SwarmSpec, TLSInfo } from '../../api/types/swarm.ts';
import type { Cluster, StoredRootCA } from '../../store/index.ts';
import { beginRotation, clusterTLSInfo, rotationRequest, signerIdentity, validateExternalCAs, withoutRotation, type KeyOpener } from '../../manager/ca/index.ts';

/** What `GET /swarm` shows of the root CA. */
export function swarmCAView(root: StoredRootCA | undefined): { TLSInfo?: TLSInfo; RootRotationInProgress: boolean } {
  if (!root) return { RootRotationInProgress: false };
  return { TLSInfo: clusterTLSInfo(root), RootRotationInProgress: !!root.RootRotation };
}

/** A prepared CA change, applied to the cluster copy inside the update's transaction. */
export interface CAUpdate {
  /** Sets the root CA (and what shows it) on `next`; throws `ConflictError` if the root CA changed since it was prepared. */
  apply(next: Cluster): void;
}

/**
 * Prepares the CA part of a `swarm update` (the crypto runs here, before the
 * transaction): a rotation begun, cancelled, or nothing. Throws `InvalidArgumentError`
 * for a CA request that cannot be served.
 */
export async function prepareCAUpdate(
  cluster: Cluster,
  ca: Partial<SwarmSpec['CAConfig']> | undefined,
  opts: { now: number; openKey?: KeyOpener },
): Promise<CAUpdate> {
  const root = cluster.RootCA;
  let nextRoot: StoredRootCA | undefined;
  validateExternalCAs(ca?.ExternalCAs);
  if (root) {
    // The external CAs the spec will have: the ones sent, else the stored ones.
    const req = rotationRequest(root, { ...ca, ExternalCAs: ca?.ExternalCAs ?? cluster.Spec.CAConfig.ExternalCAs });
    if (req.kind === 'generate' || req.kind === 'use') nextRoot = await beginRotation(root, req, { clusterId: cluster.ID, now: opts.now, openKey: opts.openKey });
    else if (req.kind === 'cancel') nextRoot = withoutRotation(root, req.forceRotate);
  }
  const from = root ? signerIdentity(root) : '';
  return {
    apply(next: Cluster): void {
      // Never kept in the stored spec (see the file comment).
      const { SigningCACert: _c, SigningCAKey: _k, ...kept } = next.Spec.CAConfig;
      next.Spec.CAConfig = kept;
      if (!nextRoot) return;
      if (!next.RootCA || signerIdentity(next.RootCA) !== from) throw new ConflictError('update out of sequence: the root CA changed meanwhile; read the swarm again');
      next.RootCA = nextRoot;
      next.TLSInfo = clusterTLSInfo(nextRoot);
      next.RootRotationInProgress = !!nextRoot.RootRotation;
    },
  };
}
