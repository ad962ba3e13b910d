/**
 * The manager side of the cluster CA: the root CA and the signer holding its key.
 * Only managers construct a `CASigner` (the key lives in the replicated cluster object,
 * which workers never receive); nodes hold a `NodeTLS` (cert, key, root) instead.
 */
import { InvalidArgumentError } from '../../api/errors.ts';
import type { NodeRole } from '../../api/types/node.ts';
import { CA_ROLE, parseCSR, roleToOU } from './certificates.ts';
import { EC_ALG, exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, parseCertPem, x509 } from './crypto.ts';
import type { CryptoKey, X509 } from './crypto.ts';
import { CertificateError } from './errors.ts';
import { webcrypto } from 'node:crypto';

/** A root CA as stored: certificate and PKCS#8 key, PEM. The key must never leave managers. */
export interface RootCA {
  certPem: string;
  keyPem: string;
}

const HOUR = 3600_000;
/** SwarmKit's root CA lifetime: 20 years. */
export const ROOT_CA_EXPIRY_MS = 20 * 365 * 24 * HOUR;
/** Docker's default node certificate lifetime (`--cert-expiry`): 90 days. */
export const DEFAULT_NODE_CERT_EXPIRY_MS = 90 * 24 * HOUR;
/** Docker's minimum node certificate lifetime: 1 hour. */
export const MIN_NODE_CERT_EXPIRY_MS = HOUR;
/** Certificates start this long before `now`, to tolerate clock skew between nodes (SwarmKit's backdate). */
export const CERT_BACKDATE_MS = HOUR;

/**
 * A new self-signed ECDSA P-256 root CA, `CN=swarm-ca` (and `O=clusterId` when given).
 * `expiry`: lifetime in ms (default 20 years); `now`: epoch ms.
 */
export async function createRootCA(opts: { clusterId?: string; expiry?: number; now: number }): Promise<RootCA> {
  const keys = await generateKeyPair();
  const name = opts.clusterId ? `CN=${CA_ROLE}, O=${opts.clusterId}` : `CN=${CA_ROLE}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    signingAlgorithm: EC_ALG,
    serialNumber: randomSerial(),
    notBefore: new Date(opts.now - CERT_BACKDATE_MS),
    notAfter: new Date(opts.now + (opts.expiry ?? ROOT_CA_EXPIRY_MS)),
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** What a node certificate is issued for. Times and durations in ms. */
export interface IssueOptions {
  /** The joining node's CSR (PEM); only its public key is used. */
  csrPem: string;
  /** Becomes the CN. */
  nodeId: string;
  /** Becomes the OU (`swarm-worker` / `swarm-manager`). */
  role: NodeRole;
  /** Becomes the O. */
  clusterId: string;
  /** Lifetime in ms; default 90 days, at least 1 hour. */
  expiry?: number;
  /** Epoch ms. */
  now: number;
}

/** Signs node certificates with the root CA key. Managers only. */
export class CASigner {
  private constructor(
    /** The root certificate nodes trust, PEM (public); during a root rotation the old root, not the signing one. */
    readonly rootPem: string,
    private readonly root: X509.X509Certificate,
    private readonly key: CryptoKey,
    /** CA certificates sent after each leaf (the cross-signed new root during a rotation), PEM; '' for none. */
    private readonly chainPem = '',
  ) {}

  /**
   * Loads a root CA; throws `CertificateError` if the key does not belong to the
   * certificate. During a root rotation `ca` is the new root, `chainPem` its
   * cross-signed copy (appended to every certificate issued) and `trustRootPem` the
   * root nodes still trust (what `rootPem` returns); both default to none / `ca.certPem`.
   */
  static async load(ca: RootCA, opts: { chainPem?: string; trustRootPem?: string } = {}): Promise<CASigner> {
    const root = new x509.X509Certificate(ca.certPem);
    const key = await importPrivateKeyPem(ca.keyPem);
    // Prove the pair: sign a probe and verify it with the certificate's public key.
    const probe = new Uint8Array([1, 2, 3]);
    const sig = await webcrypto.subtle.sign(EC_ALG, key, probe);
    const ok = await webcrypto.subtle.verify(EC_ALG, await root.publicKey.export(EC_ALG, ['verify']), sig, probe);
    if (!ok) throw new CertificateError('ca: the CA key does not match the root certificate');
    if (!parseCertPem(ca.certPem).ca) throw new CertificateError('ca: the root certificate is not a CA');
    return new CASigner(opts.trustRootPem ?? ca.certPem, root, key, opts.chainPem ?? '');
  }

  /**
   * Issues a node certificate from a CSR: CN = node ID, OU = role, O = cluster ID; SAN
   * DNS = role OU and node ID, plus `swarm-ca` for managers (they serve CA requests; a
   * worker must not be able to pose as one); serverAuth + clientAuth. Throws
   * `InvalidArgumentError` for a bad CSR, node ID or lifetime. Returns the PEM.
   */
  async issue(opts: IssueOptions): Promise<string> {
    const csr = await parseCSR(opts.csrPem);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(opts.nodeId)) throw new InvalidArgumentError('ca: invalid node ID');
    if (opts.clusterId && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(opts.clusterId)) throw new InvalidArgumentError('ca: invalid cluster ID');
    const expiry = opts.expiry ?? DEFAULT_NODE_CERT_EXPIRY_MS;
    if (!(expiry >= MIN_NODE_CERT_EXPIRY_MS)) throw new InvalidArgumentError('ca: minimum certificate expiry time is 1h0m0s');
    const ou = roleToOU(opts.role);
    const dns = [ou, opts.nodeId, ...(opts.role === 'manager' ? [CA_ROLE] : [])];
    const cert = await x509.X509CertificateGenerator.create({
      subject: `CN=${opts.nodeId}, OU=${ou}${opts.clusterId ? `, O=${opts.clusterId}` : ''}`,
      issuer: this.root.subjectName,
      publicKey: csr.publicKey,
      signingKey: this.key,
      signingAlgorithm: EC_ALG,
      serialNumber: randomSerial(),
      notBefore: new Date(opts.now - CERT_BACKDATE_MS),
      notAfter: new Date(Math.min(opts.now + expiry, this.root.notAfter.getTime(), this.chainNotAfter())),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(dns.map((value) => ({ type: 'dns' as const, value }))),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.root.publicKey),
      ],
    });
    const pem = cert.toString('pem');
    return this.chainPem ? `${pem.trimEnd()}\n${this.chainPem}` : pem;
  }

  /** The end of the chain's validity (a leaf must not outlive its intermediate), epoch ms. */
  private chainNotAfter(): number {
    return this.chainPem ? Date.parse(parseCertPem(this.chainPem).validTo) : Infinity;
  }
}

/** `signer.issue(opts)`, as a function. */
export function issueNodeCertificate(signer: CASigner, opts: IssueOptions): Promise<string> {
  return signer.issue(opts);
}

/** A positive 128-bit serial number in hex (RFC 5280 allows up to 20 octets). */
function randomSerial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] &= 0x7f;
  b[0] |= 0x01;
  return Buffer.from(b).toString('hex');
}
