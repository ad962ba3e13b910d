/**
 * `swarm ca --rotate`'s progress, counted as docker's CLI counts it
 * (`cli/command/swarm/progress/root_rotation.go`): a node's certificate is rotated when
 * its leaf's issuer (subject and public key) is the swarm's desired issuer, its CA when
 * it trusts the swarm's root; CA certificates count as 0 until every TLS certificate is
 * rotated and the swarm says the rotation is over. Pure; the command polls and prints.
 */
import { createHash } from 'node:crypto';
import type { Node } from '../src/api/types/node.ts';
import type { Swarm } from '../src/api/types/swarm.ts';

/** One look at a rotation. */
export interface RootRotationProgress {
  /** `sha256:…` of the desired root PEM, as docker shows it. */
  digest: string;
  total: number;
  certsRotated: number;
  rootsRotated: number;
  /** Every node has both: the rotation has converged. */
  done: boolean;
}

/** Counts `nodes` against the swarm's `TLSInfo` and `RootRotationInProgress`. */
export function rootRotationProgress(swarm: Pick<Swarm, 'TLSInfo' | 'RootRotationInProgress'>, nodes: readonly Pick<Node, 'Description'>[]): RootRotationProgress {
  const want = swarm.TLSInfo;
  const certsRotated = nodes.filter((n) => n.Description.TLSInfo?.CertIssuerPublicKey === want.CertIssuerPublicKey
    && n.Description.TLSInfo?.CertIssuerSubject === want.CertIssuerSubject).length;
  const trusting = nodes.filter((n) => n.Description.TLSInfo?.TrustRoot === want.TrustRoot).length;
  const total = nodes.length;
  const certsDone = certsRotated === total && !swarm.RootRotationInProgress;
  return {
    digest: `sha256:${createHash('sha256').update(want.TrustRoot).digest('hex')}`,
    total,
    certsRotated,
    rootsRotated: certsDone ? trusting : 0,
    done: certsDone && trusting === total,
  };
}

/** The progress as docker prints it, one line each. */
export function progressLines(p: RootRotationProgress): string[] {
  return [
    `desired root digest: ${p.digest}`,
    `  rotated TLS certificates: ${p.certsRotated}/${p.total} nodes`,
    `  rotated CA certificates: ${p.rootsRotated}/${p.total} nodes`,
  ];
}
