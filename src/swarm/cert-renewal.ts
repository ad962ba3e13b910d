/**
 * What a node does about its certificate when the leader names a CA target on its
 * session (root CA rotation, `manager/ca/rotation.ts`), decided without I/O:
 *
 * - its leaf was issued by another key than the target issuer → `renew` (the CA signs
 *   with the new root's key and sends the cross-signed chain, which the node's current
 *   root verifies);
 * - its leaf is right but it trusts another root → `trust` the root the leader sent (its
 *   leaf must verify against it, which the caller checks when it builds the new `NodeTLS`);
 * - otherwise `none`.
 *
 * Expiry-driven renewal stays in `manager/ca/renewal.ts`.
 */
import { certDigest, issuerDigest, leafIssuerInfo } from '../manager/ca/index.ts';
import type { NodeTLSInfo } from '../wire/types.ts';

/** Digests of what a node holds, comparable with the leader's target. */
export interface OwnCA {
  /** SHA-256 (hex) of the trusted root's DER. */
  root: string;
  /** SHA-256 (hex) of its leaf's issuer (see `issuerDigest`). */
  issuer: string;
}

/** What the leader says a node should converge on (the `ca` of a heartbeat answer). */
export interface CATargetFrame {
  root: string;
  issuer: string;
  /** The root to trust, PEM, sent while the leader does not know the node trusts it. */
  rootPem?: string;
}

export type CertificateAction = 'none' | 'renew' | 'trust';

/** A node's TLS state as it reports it (Docker's `TLSInfo`) and as it compares it. */
export async function nodeTLSState(tls: { certPem: string; rootPem: string }): Promise<{ info: NodeTLSInfo; own: OwnCA }> {
  const issuer = await leafIssuerInfo(tls.certPem, tls.rootPem);
  return {
    info: { TrustRoot: tls.rootPem, CertIssuerSubject: issuer.subject, CertIssuerPublicKey: issuer.publicKey },
    own: { root: Buffer.from(certDigest(tls.rootPem)).toString('hex'), issuer: issuerDigest(issuer) },
  };
}

/** See the file comment. `none` while either side is unknown. */
export function certificateAction(own: OwnCA | undefined, target: CATargetFrame | undefined): CertificateAction {
  if (!own || !target) return 'none';
  if (own.issuer !== target.issuer) return 'renew';
  if (own.root !== target.root) return target.rootPem ? 'trust' : 'none';
  return 'none';
}
