/**
 * Node certificates as Docker's swarm shapes them (SwarmKit `ca/certificates.go`):
 * CN = node ID, OU = role (`swarm-worker` / `swarm-manager`), O = cluster ID, issued by
 * the root `CN=swarm-ca`. This file is the node side: CSRs, parsing, chain checks. It
 * never sees the CA key (see `ca-signer.ts`).
 */
import { InvalidArgumentError } from '../../api/errors.ts';
import type { NodeRole } from '../../api/types/node.ts';
import { EC_ALG, parseCertPem, x509 } from './crypto.ts';
import type { CryptoKeyPair, X509 } from './crypto.ts';
import { CertificateError } from './errors.ts';
import { splitPemCerts } from './cross-sign.ts';
import type { X509Certificate as NodeX509 } from 'node:crypto';

/** CN of the root CA, and the SAN managers carry so they can serve CA requests. */
export const CA_ROLE = 'swarm-ca';
/** OU (and SAN) of manager certificates. */
export const MANAGER_ROLE = 'swarm-manager';
/** OU (and SAN) of worker certificates. */
export const WORKER_ROLE = 'swarm-worker';

/** The OU that encodes a role. */
export function roleToOU(role: NodeRole): string {
  return role === 'manager' ? MANAGER_ROLE : WORKER_ROLE;
}

/** The role an OU encodes, or undefined for any other OU. */
export function roleFromOU(ou: string | undefined): NodeRole | undefined {
  return ou === MANAGER_ROLE ? 'manager' : ou === WORKER_ROLE ? 'worker' : undefined;
}

/** What a node certificate says about its holder. Times are epoch milliseconds. */
export interface NodeCertificateInfo {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  notBefore: number;
  notAfter: number;
}

/**
 * A PKCS#10 request signed by `keys.privateKey`, PEM. The subject is informational
 * (`CN=nodeId` when given): the CA takes only the public key from a CSR.
 */
export async function createCSR(keys: CryptoKeyPair, opts: { nodeId?: string } = {}): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: opts.nodeId ? `CN=${opts.nodeId}` : '',
    keys,
    signingAlgorithm: EC_ALG,
  });
  return csr.toString('pem');
}

/**
 * Parses a CSR and checks its self-signature and key type (ECDSA P-256 or P-384).
 * Throws `InvalidArgumentError` (it comes from a joining node) when it is bad.
 */
export async function parseCSR(csrPem: string): Promise<X509.Pkcs10CertificateRequest> {
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (cause) {
    throw new InvalidArgumentError('ca: malformed certificate signing request', { cause });
  }
  const alg = csr.publicKey.algorithm as { name: string; namedCurve: string };
  if (alg.name !== 'ECDSA' || !['P-256', 'P-384'].includes(alg.namedCurve)) {
    throw new InvalidArgumentError('ca: certificate signing request must use an ECDSA P-256 or P-384 key');
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch (cause) {
    throw new InvalidArgumentError('ca: certificate signing request signature is invalid', { cause });
  }
  if (!ok) throw new InvalidArgumentError('ca: certificate signing request signature is invalid');
  return csr;
}

/** Reads `K=V` lines of Node's subject string into a map (first value of each key). */
function subjectFields(subject: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of subject.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && !out.has(line.slice(0, i))) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

/**
 * The node ID, role, cluster ID and validity of a node certificate (the first in `pem`).
 * Does not verify the signature (`verifyChain` does). Throws `CertificateError` when it
 * is not a node certificate (no CN, or an OU that is not a swarm role).
 */
export function parseNodeCertificate(pem: string): NodeCertificateInfo {
  const cert = parseCertPem(pem);
  const f = subjectFields(cert.subject);
  const role = roleFromOU(f.get('OU'));
  const nodeId = f.get('CN');
  if (!role || !nodeId) throw new CertificateError('ca: not a swarm node certificate (CN must be a node ID, OU a swarm role)');
  return {
    nodeId,
    role,
    clusterId: f.get('O') ?? '',
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
  };
}

/**
 * Checks that the node certificate at the head of `certPem` chains to a root of `rootPem`
 * (one root, or a bundle) — signed by it directly, or through a CA certificate that
 * follows it in `certPem` (the cross-signed new root during a root rotation) — and that
 * every certificate on that path is valid at `now` (epoch ms, default the current time).
 * Returns what the certificate says; throws `CertificateError` saying why not.
 */
export function verifyChain(certPem: string, rootPem: string, opts: { now?: number } = {}): NodeCertificateInfo {
  const now = opts.now ?? Date.now();
  const cert = parseCertPem(certPem);
  const rootPems = splitPemCerts(rootPem);
  const roots = rootPems.length ? rootPems.map(parseCertPem) : [parseCertPem(rootPem)];
  if (roots.some((r) => !r.ca)) throw new CertificateError('ca: the root certificate is not a CA');
  const signedBy = (c: NodeX509, by: NodeX509) => c.checkIssued(by) && c.verify(by.publicKey);
  let path: [NodeX509, string][] | undefined;
  const root = roots.find((r) => signedBy(cert, r));
  if (root) path = [[cert, 'certificate'], [root, 'root CA certificate']];
  for (const mid of splitPemCerts(certPem).slice(1).map(parseCertPem)) {
    if (path) break;
    if (!mid.ca || !signedBy(cert, mid)) continue;
    const top = roots.find((r) => signedBy(mid, r));
    if (top) path = [[cert, 'certificate'], [mid, 'intermediate CA certificate'], [top, 'root CA certificate']];
  }
  if (!path) throw new CertificateError('ca: certificate is not signed by the cluster root CA');
  for (const [c, what] of path) {
    if (now < Date.parse(c.validFrom)) throw new CertificateError(`ca: ${what} is not valid yet`);
    if (now > Date.parse(c.validTo)) throw new CertificateError(`ca: ${what} has expired`);
  }
  return parseNodeCertificate(certPem);
}
