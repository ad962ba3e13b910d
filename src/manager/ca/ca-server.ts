/**
 * The decisions of the manager's CA endpoint, without the transport: a joining node
 * presents a join token and a CSR and gets a certificate for a new node ID with the
 * role its token grants; a member renews with its current (mTLS-authenticated)
 * identity and keeps its node ID and role. The HTTP handler around this is thin.
 */
import type { NodeRole } from '../../api/types/node.ts';
import type { JoinTokens } from '../../api/types/swarm.ts';
import type { NodeCertSigner } from './external-ca.ts';
import { roleForJoinToken } from './join-token.ts';

/** Cluster settings the CA applies. Durations and times in ms. */
export interface CAPolicy {
  clusterId: string;
  /** The cluster's current join tokens (a rotated token no longer matches). */
  tokens: JoinTokens;
  /** Node certificate lifetime in ms (the cluster's `CAConfig.NodeCertExpiry`); default 90 days. */
  expiry?: number;
}

/** What a node receives: its identity, its certificate and the root to trust. */
export interface IssuedNode {
  nodeId: string;
  role: NodeRole;
  certPem: string;
  rootPem: string;
}

/**
 * Handles a join: checks the token (`InvalidArgumentError` "invalid join token" when
 * malformed, Docker's "A valid join token is necessary to join this cluster" when wrong
 * or rotated) before anything else, then issues a certificate for `newNodeId()`.
 * Nothing is recorded here; the caller creates the Node object once this succeeds.
 */
export async function issueForJoin(
  signer: NodeCertSigner,
  req: { token: string; csrPem: string },
  opts: CAPolicy & { now: number; newNodeId: () => string },
): Promise<IssuedNode> {
  const role = roleForJoinToken(req.token, opts.tokens);
  const nodeId = opts.newNodeId();
  const certPem = await signer.issue({ csrPem: req.csrPem, nodeId, role, clusterId: opts.clusterId, expiry: opts.expiry, now: opts.now });
  return { nodeId, role, certPem, rootPem: signer.rootPem };
}

/**
 * Handles a renewal from an authenticated member (`peer` from `peerIdentity`): same node
 * ID; the role is the node's current role in the store (`role`), so a promotion or
 * demotion takes effect at the next renewal.
 */
export async function issueForRenewal(
  signer: NodeCertSigner,
  req: { csrPem: string; peer: { nodeId: string }; role: NodeRole },
  opts: Omit<CAPolicy, 'tokens'> & { now: number },
): Promise<IssuedNode> {
  const certPem = await signer.issue({
    csrPem: req.csrPem,
    nodeId: req.peer.nodeId,
    role: req.role,
    clusterId: opts.clusterId,
    expiry: opts.expiry,
    now: opts.now,
  });
  return { nodeId: req.peer.nodeId, role: req.role, certPem, rootPem: signer.rootPem };
}
