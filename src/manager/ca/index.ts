/** The cluster CA: root CA and signer (managers), node TLS identity, join tokens, renewal timing. */
export { createRootCA, CASigner, issueNodeCertificate, ROOT_CA_EXPIRY_MS, DEFAULT_NODE_CERT_EXPIRY_MS, MIN_NODE_CERT_EXPIRY_MS } from './ca-signer.ts';
export type { RootCA, IssueOptions } from './ca-signer.ts';
export { issueForJoin, issueForRenewal } from './ca-server.ts';
export type { CAPolicy, IssuedNode } from './ca-server.ts';
export { CA_ROLE, MANAGER_ROLE, WORKER_ROLE, createCSR, parseCSR, parseNodeCertificate, verifyChain, roleFromOU, roleToOU } from './certificates.ts';
export type { NodeCertificateInfo } from './certificates.ts';
export { generateKeyPair, exportPrivateKeyPem, certDigest } from './crypto.ts';
export { CertificateError } from './errors.ts';
export {
  generateJoinToken, parseJoinToken, tokenMatchesCA, roleForJoinToken, constantTimeEqual, INVALID_JOIN_TOKEN, WRONG_JOIN_TOKEN,
} from './join-token.ts';
export type { ParsedJoinToken } from './join-token.ts';
export { NodeTLS, newNodeKeyAndCSR, serverTlsOptions, clientTlsOptions, bootstrapClientTlsOptions, peerRole, peerIdentity } from './node-tls.ts';
export { shouldRenew, renewalTime, renewalDelay } from './renewal.ts';
export type { Validity } from './renewal.ts';
export { crossSignRoot, issuerInfoOf, leafIssuerInfo, splitPemCerts } from './cross-sign.ts';
export type { IssuerInfo } from './cross-sign.ts';
export {
  rotationRequest, withRotation, withoutRotation, desiredIssuer, clusterTLSInfo, nodeHasIssuer, rotationProgress, finishedRotation, caTarget, issuerDigest,
} from './rotation.ts';
export type { CAConfigRequest, RotationRequest, RotationProgress, CATarget } from './rotation.ts';
export { beginRotation, loadClusterSigner, signerIdentity } from './root-rotation.ts';
export type { KeyOpener } from './root-rotation.ts';
export { ExternalCASigner, externalCAURLs, validateExternalCAs } from './external-ca.ts';
export type { NodeCertSigner, ExternalCA, JsonPoster } from './external-ca.ts';
