/**
 * The CA part of a node's session (root CA rotation, `manager/ca/rotation.ts`): the leader
 * tells each node, in every heartbeat answer, the root to trust and the issuer its leaf
 * should have (as digests, and the root itself while the node is not known to trust it);
 * each node reports its TLS state on its session, and the leader records it in the
 * node's `Description.TLSInfo` — what the rotation controller and
 * `docker swarm ca --rotate`'s progress count.
 */
import type { MemoryStore } from '../store/index.ts';
import type { Cluster } from '../store/index.ts';
import type { Node } from '../api/types/node.ts';
import { caTarget, signerIdentity } from '../manager/ca/index.ts';
import type { NodeTLSInfo, SessionFrame } from '../wire/types.ts';

type CAAck = NonNullable<Extract<SessionFrame, { type: 'ack' }>['ca']>;

/** Builds the `ca` field of heartbeat answers; caches the digests per root CA. */
export class CASessionTargets {
  private cached?: { id: string; target: { root: string; issuer: string } };

  /** The `ca` answer for `node` under `cluster`'s root CA; undefined before the cluster exists. */
  ackFor(cluster: Cluster | undefined, node: Node | undefined): CAAck | undefined {
    const root = cluster?.RootCA;
    if (!root) return undefined;
    const id = signerIdentity(root);
    if (this.cached?.id !== id) this.cached = { id, target: caTarget(root) };
    const trusted = node?.Description.TLSInfo?.TrustRoot === root.CACert;
    return { ...this.cached.target, ...(trusted ? {} : { rootPem: root.CACert }) };
  }
}

/** Whether `v` is a well-formed TLS report (strings of sane length). */
export function isNodeTLSInfo(v: unknown): v is NodeTLSInfo {
  if (!v || typeof v !== 'object') return false;
  const t = v as Record<string, unknown>;
  return [t.TrustRoot, t.CertIssuerSubject, t.CertIssuerPublicKey].every((s) => typeof s === 'string' && s.length < 64 * 1024);
}

/**
 * Records a node's reported TLS state in its `Description.TLSInfo` when it differs from
 * the stored one. One write at a time per recorder; a failed write is retried on the
 * next call (every heartbeat calls it).
 */
export class TLSInfoRecorder {
  private writing = false;

  constructor(private readonly store: MemoryStore) {}

  async record(nodeId: string, info: NodeTLSInfo | undefined): Promise<void> {
    if (!info || this.writing) return;
    const stored = this.store.view((tx) => tx.get('node', nodeId))?.Description.TLSInfo;
    if (stored && sameInfo(stored, info)) return;
    this.writing = true;
    try {
      await this.store.update((tx) => {
        const n = tx.get('node', nodeId);
        if (!n) return;
        const next = structuredClone(n);
        next.Description = { ...next.Description, TLSInfo: { ...info } };
        tx.update('node', next);
      });
    } catch {
      // Lost a race or no quorum: the next heartbeat tries again.
    } finally {
      this.writing = false;
    }
  }
}

function sameInfo(a: NodeTLSInfo, b: NodeTLSInfo): boolean {
  return a.TrustRoot === b.TrustRoot && a.CertIssuerSubject === b.CertIssuerSubject && a.CertIssuerPublicKey === b.CertIssuerPublicKey;
}
