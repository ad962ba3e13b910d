/**
 * The node side of the cluster PKI: what every node (worker or manager) holds — its
 * certificate, its private key and the root certificate, never the CA key — and the
 * TLS options built from it for Node's `tls`, `https` and `ws` (mutual TLS on 2377),
 * plus reading the role of an authenticated peer, so manager-only endpoints can refuse
 * worker certificates.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { createSecureContext, type ConnectionOptions, type SecureContext, type TLSSocket, type TlsOptions } from 'node:tls';
import type { NodeRole } from '../../api/types/node.ts';
import { CA_ROLE, MANAGER_ROLE, createCSR, roleFromOU, verifyChain } from './certificates.ts';
import type { NodeCertificateInfo } from './certificates.ts';
import { exportPrivateKeyPem, generateKeyPair, parseCertPem } from './crypto.ts';
import { CertificateError } from './errors.ts';

/** A new node key (PKCS#8 PEM) and a CSR for it, to send to a manager's CA. */
export async function newNodeKeyAndCSR(opts: { nodeId?: string } = {}): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await generateKeyPair();
  return { keyPem: await exportPrivateKeyPem(keys.privateKey), csrPem: await createCSR(keys, opts) };
}

/** A node's TLS identity. Immutable: a renewed certificate makes a new `NodeTLS`. */
export class NodeTLS {
  private constructor(
    readonly certPem: string,
    readonly keyPem: string,
    readonly rootPem: string,
    /** What the certificate says: node ID, role, cluster ID, validity. */
    readonly info: NodeCertificateInfo,
  ) {}

  /**
   * Checks that `certPem` chains to `rootPem` and is valid at `now` (epoch ms, default
   * the current time) and that `keyPem` is its key; throws `CertificateError` otherwise.
   */
  static create(parts: { certPem: string; keyPem: string; rootPem: string }, opts: { now?: number } = {}): NodeTLS {
    const info = verifyChain(parts.certPem, parts.rootPem, opts);
    let keySpki: Buffer;
    try {
      keySpki = createPublicKey(createPrivateKey(parts.keyPem)).export({ type: 'spki', format: 'der' });
    } catch (cause) {
      throw new CertificateError('ca: malformed node private key', { cause });
    }
    const certSpki = parseCertPem(parts.certPem).publicKey.export({ type: 'spki', format: 'der' });
    if (!keySpki.equals(certSpki)) throw new CertificateError('ca: the node key does not match its certificate');
    return new NodeTLS(parts.certPem, parts.keyPem, parts.rootPem, info);
  }

  get nodeId(): string {
    return this.info.nodeId;
  }

  get role(): NodeRole {
    return this.info.role;
  }

  /** See `serverTlsOptions`. */
  serverOptions(opts?: { allowAnonymous?: boolean }): TlsOptions {
    return serverTlsOptions(this, opts);
  }

  /** See `clientTlsOptions`. */
  clientOptions(opts?: { servername?: string }): ConnectionOptions {
    return clientTlsOptions(this, opts);
  }

  private context?: SecureContext;

  /**
   * The same as `clientOptions`, with one secure context built once for every connection
   * of this identity: building one per connection parses the key, the certificate and the
   * root again, about a quarter of a client handshake's CPU (2.2 → 1.6 ms here), and a
   * session reconnects after every failover. Only for connections no agent pools
   * (WebSockets): an `https` agent keys its pool by the `ca`/`cert`/`key` options, not by a
   * context, so sockets of two identities could be mixed there.
   */
  unpooledClientOptions(opts?: { servername?: string }): ConnectionOptions {
    // The context takes what makes one (credentials, trust, protocol floor); the rest stays per connection.
    const { ca, cert, key, minVersion, ...perConnection } = clientTlsOptions(this, opts);
    this.context ??= createSecureContext({ ca, cert, key, minVersion });
    return { ...perConnection, secureContext: this.context };
  }
}

/**
 * Options for a node's TLS server (`tls.createServer`, `https.createServer`, the server
 * under `ws`): this node's certificate, the cluster root as the only trust anchor, and
 * a client certificate requested. By default peers without a certificate from this root
 * are refused in the handshake; with `allowAnonymous` (the port also serves CA requests
 * from joining nodes) they are let in unauthenticated, and each endpoint decides with
 * `peerRole`, which then returns undefined for them.
 */
export function serverTlsOptions(node: NodeTLS, opts: { allowAnonymous?: boolean } = {}): TlsOptions {
  return {
    ca: node.rootPem,
    cert: node.certPem,
    key: node.keyPem,
    requestCert: true,
    rejectUnauthorized: !opts.allowAnonymous,
    minVersion: 'TLSv1.2',
  };
}

/**
 * Options for connecting to another node with mutual TLS: this node's certificate, the
 * cluster root as the only trust anchor, and the server name checked against the
 * server's SANs (default `swarm-manager`: nodes connect to managers, as in SwarmKit).
 */
export function clientTlsOptions(node: NodeTLS, opts: { servername?: string } = {}): ConnectionOptions {
  return {
    ca: node.rootPem,
    cert: node.certPem,
    key: node.keyPem,
    servername: opts.servername ?? MANAGER_ROLE,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
}

/**
 * Options for a joining node's certificate request, before it has a certificate: trust
 * only `rootPem` (already checked against the join token's digest) and require the
 * server to be a CA-serving manager (SAN `swarm-ca`).
 */
export function bootstrapClientTlsOptions(rootPem: string): ConnectionOptions {
  return { ca: rootPem, servername: CA_ROLE, rejectUnauthorized: true, minVersion: 'TLSv1.2' };
}

/** The role of an authenticated peer from its certificate's OU; undefined if unauthenticated or not a node certificate. */
export function peerRole(socket: TLSSocket): NodeRole | undefined {
  return peerIdentity(socket)?.role;
}

/** Node ID, role and cluster ID of an authenticated peer; undefined if unauthenticated or not a node certificate. */
export function peerIdentity(socket: TLSSocket): { nodeId: string; role: NodeRole; clusterId: string } | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const role = roleFromOU(first(cert.subject.OU));
  const nodeId = first(cert.subject.CN);
  if (!role || !nodeId) return undefined;
  return { nodeId, role, clusterId: first(cert.subject.O) ?? '' };
}
