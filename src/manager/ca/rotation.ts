/**
 * The root CA rotation state machine (SwarmKit's `ca_rotation.go` and root rotation
 * reconciler), pure: values in, values out; the crypto that builds a new root lives in
 * `root-rotation.ts`, the loop that drives it on the leader in
 * `controllers/ca-rotation.ts`.
 *
 *   idle ──(ForceRotate changed | a new SigningCACert)──▶ rotating
 *   rotating ──(every node's leaf issued by the new root's key)──▶ idle, new root alone
 *   rotating ──(SigningCACert = the current root)──▶ idle, rotation abandoned
 *
 * While rotating, `RootCA.CACert` (the old root) stays the root every node trusts; the
 * CA signs with the new key and sends the new root cross-signed by the old one after each
 * leaf, so new certificates verify for nodes that trust only the old root. A node whose
 * leaf was not issued by the new key (its `Description.TLSInfo`, reported on its session)
 * is told to renew. When none is left — a node that is down holds the rotation until it
 * returns or is removed, as in SwarmKit — the new root becomes `CACert` alone and the
 * join tokens are made again with its digest; nodes then renew once more to trust it.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../api/errors.ts';
import type { TLSInfo } from '../../api/types/swarm.ts';
import type { Node } from '../../api/types/node.ts';
import type { StoredRootCA } from '../../store/index.ts';
import type { JoinTokens } from '../../api/types/swarm.ts';
import { issuerInfoOf, splitPemCerts, type IssuerInfo } from './cross-sign.ts';
import { certDigest } from './crypto.ts';
import { generateJoinToken, type RandomBytes } from './join-token.ts';
import { externalCAURLs, type ExternalCA } from './external-ca.ts';

/** The CA part of a swarm spec a `swarm update` may carry (Docker's `CAConfig`). */
export interface CAConfigRequest {
  SigningCACert?: string;
  SigningCAKey?: string;
  ForceRotate?: number;
  /** The external CAs the spec will have (one signing for a new cert stands in for its key). */
  ExternalCAs?: readonly ExternalCA[];
}

/** What a `swarm update` asks of the root CA. */
export type RotationRequest =
  | { kind: 'none' }
  /** A new root made by the CA; `forceRotate` is recorded as `LastForcedRotation`. */
  | { kind: 'generate'; forceRotate: number }
  /** Rotate to the given root and key ('' when an external CA signs for it). */
  | { kind: 'use'; certPem: string; keyPem: string; forceRotate: number }
  /** The desired root is the current one: the rotation in progress is abandoned. */
  | { kind: 'cancel'; forceRotate: number };

/** The same certificate, whatever its PEM text. */
function sameCert(a: string, b: string | undefined): boolean {
  if (!b) return false;
  try {
    return Buffer.from(certDigest(a)).equals(Buffer.from(certDigest(b)));
  } catch {
    return false;
  }
}

/**
 * What the CA part of a `swarm update` asks for, given the stored root CA (SwarmKit's
 * `validateCAConfig`): a `ForceRotate` other than the last one answered asks for a new
 * root; a `SigningCACert` other than the current and the desired root asks to rotate to
 * it (with `SigningCAKey`, or an external CA in `ExternalCAs` that signs for it); the current
 * root while rotating cancels. Throws `InvalidArgumentError` for a bad combination.
 */
export function rotationRequest(root: StoredRootCA, ca: CAConfigRequest | undefined): RotationRequest {
  const last = root.LastForcedRotation ?? 0;
  const force = ca?.ForceRotate ?? last;
  if (!Number.isInteger(force) || force < 0) throw new InvalidArgumentError('invalid CAConfig.ForceRotate: must be a non-negative integer');
  const certPem = ca?.SigningCACert?.trim() ? ca.SigningCACert : undefined;
  const keyPem = ca?.SigningCAKey?.trim() ? ca.SigningCAKey : undefined;
  if (keyPem && !certPem) throw new InvalidArgumentError('invalid CAConfig: SigningCAKey requires SigningCACert (the certificate of that key)');
  if (!certPem) return force !== last ? { kind: 'generate', forceRotate: force } : { kind: 'none' };
  if (splitPemCerts(certPem).length !== 1) throw new InvalidArgumentError('invalid CAConfig.SigningCACert: must be exactly one PEM certificate');
  if (sameCert(certPem, root.CACert)) return root.RootRotation ? { kind: 'cancel', forceRotate: force } : { kind: 'none' };
  if (sameCert(certPem, root.RootRotation?.CACert) && force === last) return { kind: 'none' };
  if (!keyPem && externalCAURLs(ca?.ExternalCAs, certPem, root.CACert).length === 0) {
    throw new InvalidArgumentError('invalid CAConfig: a new SigningCACert requires its SigningCAKey or an external CA whose CACert it is');
  }
  return { kind: 'use', certPem, keyPem: keyPem ?? '', forceRotate: force };
}

/** The root CA with `rotation` in progress (replacing any other), answering `forceRotate`. */
export function withRotation(root: StoredRootCA, rotation: NonNullable<StoredRootCA['RootRotation']>, forceRotate: number): StoredRootCA {
  return { CACert: root.CACert, CAKey: root.CAKey, RootRotation: rotation, LastForcedRotation: forceRotate };
}

/** The root CA with no rotation (a cancelled one is dropped), answering `forceRotate`. */
export function withoutRotation(root: StoredRootCA, forceRotate: number): StoredRootCA {
  return { CACert: root.CACert, CAKey: root.CAKey, LastForcedRotation: forceRotate };
}

/** The certificate node leaves must be issued by now: the new root while rotating, else the root. */
export function desiredIssuer(root: StoredRootCA): IssuerInfo {
  return issuerInfoOf(root.RootRotation?.CACert ?? root.CACert);
}

/**
 * The cluster's `TLSInfo` as Docker shows it on `GET /swarm`: the root nodes trust now,
 * and the issuer their leaves should have (the new root during a rotation).
 */
export function clusterTLSInfo(root: StoredRootCA): TLSInfo {
  const issuer = desiredIssuer(root);
  return { TrustRoot: root.CACert, CertIssuerSubject: issuer.subject, CertIssuerPublicKey: issuer.publicKey };
}

/** Whether a node's reported leaf was issued by `issuer`. */
export function nodeHasIssuer(node: Pick<Node, 'Description'>, issuer: IssuerInfo): boolean {
  const t = node.Description.TLSInfo;
  return !!t && t.CertIssuerSubject === issuer.subject && t.CertIssuerPublicKey === issuer.publicKey;
}

/** How far a rotation is, counted as `docker swarm ca --rotate` counts it. */
export interface RotationProgress {
  total: number;
  /** Nodes whose leaf has the desired issuer. */
  certsRotated: number;
  /** Nodes that trust the cluster's current root. */
  rootsRotated: number;
  /** IDs of the nodes still to renew onto the desired issuer. */
  unconverged: string[];
}

/** Counts the nodes that hold a leaf from the desired issuer and that trust the current root. */
export function rotationProgress(root: StoredRootCA, nodes: readonly Pick<Node, 'ID' | 'Description'>[]): RotationProgress {
  const issuer = desiredIssuer(root);
  const unconverged = nodes.filter((n) => !nodeHasIssuer(n, issuer)).map((n) => n.ID);
  const rootsRotated = nodes.filter((n) => sameTrust(n.Description.TLSInfo?.TrustRoot, root.CACert)).length;
  return { total: nodes.length, certsRotated: nodes.length - unconverged.length, rootsRotated, unconverged };
}

function sameTrust(a: string | undefined, b: string): boolean {
  return a === b || (a !== undefined && sameCert(b, a) && splitPemCerts(a).length === 1);
}

/**
 * The root CA and join tokens once the rotation in `root` is complete — every node of
 * `nodes` holds a leaf the new key issued — or undefined while it is not (or none is in
 * progress). The new root becomes the only one; the join tokens are made again with its
 * digest (`rand` for their secrets), so tokens of the old root no longer work.
 */
export function finishedRotation(
  root: StoredRootCA,
  nodes: readonly Pick<Node, 'ID' | 'Description'>[],
  rand: RandomBytes,
): { root: StoredRootCA; tokens: JoinTokens } | undefined {
  const next = root.RootRotation;
  if (!next || rotationProgress(root, nodes).unconverged.length > 0) return undefined;
  return {
    root: { CACert: next.CACert, CAKey: next.CAKey, LastForcedRotation: root.LastForcedRotation ?? 0 },
    tokens: { Worker: generateJoinToken(next.CACert, rand), Manager: generateJoinToken(next.CACert, rand) },
  };
}

/**
 * What a node hears on its session about the CA (in each heartbeat answer): the digest of
 * the root to trust and of the issuer its leaf should have. Short, so it rides along.
 */
export interface CATarget {
  /** SHA-256 (hex) of the root certificate's DER. */
  root: string;
  /** SHA-256 (hex) of the desired issuer's subject and public key. */
  issuer: string;
}

/** The target nodes converge on for `root`. */
export function caTarget(root: StoredRootCA): CATarget {
  return { root: Buffer.from(certDigest(root.CACert)).toString('hex'), issuer: issuerDigest(desiredIssuer(root)) };
}

/** A digest of issuer info, to compare without sending the whole of it. */
export function issuerDigest(i: IssuerInfo): string {
  return createHash('sha256').update(`${i.subject}|${i.publicKey}`).digest('hex');
}
