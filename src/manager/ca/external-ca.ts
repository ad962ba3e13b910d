/**
 * Signing node certificates through an external CA that speaks cfssl's sign API
 * (Docker's `--external-ca protocol=cfssl,url=…`, SwarmKit's `ca/external.go`): the CSR
 * goes to the URL over HTTPS as a cfssl `SignRequest` (subject CN = node ID, OU = role,
 * O = cluster ID, hosts = the SANs a swarm certificate carries), and what comes back is
 * checked before anyone gets it — issued by the root the swarm wants, for the key in the
 * CSR and the identity asked for — so a misconfigured or hostile signer cannot hand out
 * another identity. The external CA's HTTPS certificate must chain to its CA certificate
 * or to the swarm's root.
 */
import https from 'node:https';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { InvalidArgumentError, UnavailableError } from '../../api/errors.ts';
import type { IssueOptions } from './ca-signer.ts';
import { CA_ROLE, parseCSR, parseNodeCertificate, roleToOU } from './certificates.ts';
import { splitPemCerts } from './cross-sign.ts';
import { certDigest } from './crypto.ts';
import { CertificateError } from './errors.ts';

/** What signs node certificates for a manager's CA endpoint: the local key or an external CA. */
export interface NodeCertSigner {
  /** The root nodes are told to trust (PEM). */
  readonly rootPem: string;
  /** A node certificate for `opts` (leaf PEM, then any chain to send with it). */
  issue(opts: IssueOptions): Promise<string>;
}

/** One external CA as the swarm spec has it (Docker's `ExternalCA`). */
export interface ExternalCA {
  Protocol: string;
  URL: string;
  /** The CA certificate it signs with (PEM); empty means the swarm's current root. */
  CACert?: string;
  Options?: Record<string, string>;
}

/** Sends a JSON body to an HTTPS URL trusting `ca`; resolves with the parsed answer. */
export type JsonPoster = (url: string, body: unknown, opts: { ca: string; timeoutMs: number }) => Promise<unknown>;

/**
 * The URLs of the external CAs that sign for `desiredPem` (SwarmKit's
 * `filterExternalCAURLs`): cfssl ones whose CA certificate is the desired one, an empty
 * CA certificate standing for `defaultPem` (the swarm's current root).
 */
export function externalCAURLs(cas: readonly ExternalCA[] | undefined, desiredPem: string, defaultPem: string): string[] {
  const same = (a: string, b: string) => {
    try {
      return Buffer.from(certDigest(a)).equals(Buffer.from(certDigest(b)));
    } catch {
      return false;
    }
  };
  return (cas ?? []).filter((c) => c.Protocol.toLowerCase() === 'cfssl' && same(c.CACert?.trim() ? c.CACert : defaultPem, desiredPem)).map((c) => c.URL);
}

/**
 * Checks external CA entries as a `swarm update` gives them: protocol cfssl, an https URL,
 * a CA certificate (when given) that is one PEM CA certificate. Throws `InvalidArgumentError`.
 */
export function validateExternalCAs(cas: readonly ExternalCA[] | undefined): void {
  for (const [i, c] of (cas ?? []).entries()) {
    const where = `CAConfig.ExternalCAs[${i}]`;
    if (String(c.Protocol).toLowerCase() !== 'cfssl') throw new InvalidArgumentError(`invalid ${where}.Protocol: unrecognized external CA protocol "${c.Protocol}" (only cfssl)`);
    let url: URL;
    try {
      url = new URL(c.URL);
    } catch {
      throw new InvalidArgumentError(`invalid ${where}.URL: "${c.URL}" is not a URL`);
    }
    if (url.protocol !== 'https:') throw new InvalidArgumentError(`invalid ${where}.URL: an external CA is reached over https only`);
    if (c.CACert?.trim()) {
      const certs = splitPemCerts(c.CACert);
      if (certs.length !== 1 || !new NodeX509(certs[0]).ca) throw new InvalidArgumentError(`invalid ${where}.CACert: must be one PEM CA certificate`);
    }
  }
}

/** A `NodeCertSigner` that asks external cfssl CAs, in order, until one signs. */
export class ExternalCASigner implements NodeCertSigner {
  constructor(private readonly o: {
    /** Sign endpoints, tried in order. */
    urls: string[];
    /** The certificate leaves must be issued by (the desired root), PEM. */
    issuerPem: string;
    /** The root nodes trust (see `NodeCertSigner.rootPem`). */
    rootPem: string;
    /** CA certificates trusted for the external CA's HTTPS (its CA certificate, the swarm's roots). */
    httpsTrustPem: string;
    /** Sent after each leaf (the cross-signed new root during a rotation); default none. */
    chainPem?: string;
    post?: JsonPoster;
    timeoutMs?: number;
  }) {
    if (o.urls.length === 0) throw new Error('ca: an external CA signer needs at least one URL');
  }

  get rootPem(): string {
    return this.o.rootPem;
  }

  async issue(opts: IssueOptions): Promise<string> {
    const csr = await parseCSR(opts.csrPem);
    const ou = roleToOU(opts.role);
    const req = {
      certificate_request: opts.csrPem,
      subject: { CN: opts.nodeId, names: [{ OU: ou, O: opts.clusterId }] },
      hosts: [ou, opts.nodeId, ...(opts.role === 'manager' ? [CA_ROLE] : [])],
    };
    const post = this.o.post ?? postJson;
    const errors: string[] = [];
    for (const url of this.o.urls) {
      try {
        const answer = await post(url, req, { ca: this.o.httpsTrustPem, timeoutMs: this.o.timeoutMs ?? 10_000 });
        const pem = certificateFrom(answer);
        this.check(pem, opts, Buffer.from(csr.publicKey.rawData));
        const leaf = splitPemCerts(pem)[0];
        return this.o.chainPem ? `${leaf.trimEnd()}\n${this.o.chainPem}` : leaf;
      } catch (err) {
        errors.push(`${url}: ${(err as Error).message}`);
      }
    }
    throw new UnavailableError(`ca: no external CA signed the certificate (${errors.join('; ')})`);
  }

  /** The answer must be a leaf of the desired issuer, for the CSR's key and the identity asked. */
  private check(pem: string, opts: IssueOptions, spki: Buffer): void {
    const leafPem = splitPemCerts(pem)[0];
    if (!leafPem) throw new CertificateError('ca: the external CA answered no certificate');
    const leaf = new NodeX509(leafPem);
    const issuer = new NodeX509(splitPemCerts(this.o.issuerPem)[0]);
    if (!leaf.checkIssued(issuer) || !leaf.verify(issuer.publicKey)) throw new CertificateError('ca: the external CA signed with another CA than the swarm\'s');
    if (!leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(spki)) throw new CertificateError('ca: the external CA certified another key than the CSR\'s');
    const info = parseNodeCertificate(leafPem);
    if (info.nodeId !== opts.nodeId || info.role !== opts.role || info.clusterId !== opts.clusterId) {
      throw new CertificateError('ca: the external CA issued another identity than the one asked for');
    }
    if (Date.now() > info.notAfter) throw new CertificateError('ca: the external CA issued an expired certificate');
  }
}

/** The certificate of a cfssl API answer (`{success, result: {certificate}}`); throws why not. */
function certificateFrom(answer: unknown): string {
  const a = answer as { success?: boolean; result?: { certificate?: unknown }; errors?: { message?: string }[] };
  if (!a || a.success !== true || typeof a.result?.certificate !== 'string') {
    const why = a?.errors?.map((e) => e.message).filter(Boolean).join(', ');
    throw new CertificateError(`ca: the external CA refused${why ? `: ${why}` : ''}`);
  }
  return a.result.certificate;
}

/** POST JSON over HTTPS trusting only `ca`; the answer's JSON (cfssl answers errors as JSON too). */
function postJson(url: string, body: unknown, opts: { ca: string; timeoutMs: number }): Promise<unknown> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: 'POST', ca: opts.ca, rejectUnauthorized: true, timeout: opts.timeoutMs, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 1 << 20) req.destroy(new Error('answer too large'));
        else chunks.push(c);
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new Error(`HTTP ${res.statusCode}: not a JSON answer`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(text);
  });
}
