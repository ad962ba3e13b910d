/**
 * The certificate work of a root rotation (SwarmKit's `CrossSignCACertificate` and
 * `IssuerInfo`): the new root cross-signed by the old root's key, so a certificate the
 * new key issues chains to the old root through it; splitting PEM bundles; and which
 * certificate issued a node's leaf (its "issuer info"), the thing rotation converges on.
 */
import { EC_ALG, fromPem, importPrivateKeyPem, toPem, x509, type X509 } from './crypto.ts';
import { CertificateError } from './errors.ts';
import { webcrypto } from 'node:crypto';

/** Every certificate of a PEM bundle, each as its own PEM block (in order). */
export function splitPemCerts(pem: string): string[] {
  const out: string[] = [];
  const re = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g;
  for (const m of pem.matchAll(re)) out.push(toPem(fromPem(m[0], 'CERTIFICATE'), 'CERTIFICATE'));
  return out;
}

/**
 * The new root cross-signed by the old one: the new root's subject, public key and key
 * identifier, issued (and signed) by the old root, valid no longer than either. A leaf
 * signed by the new key, sent with this certificate, verifies for a node that trusts only
 * the old root; one that trusts the new root verifies the leaf directly. `now`: epoch ms.
 * Throws `CertificateError` when `oldKeyPem` is not the old root's key.
 */
export async function crossSignRoot(newRootPem: string, oldRoot: { certPem: string; keyPem: string }, opts: { now: number }): Promise<string> {
  const fresh = new x509.X509Certificate(newRootPem);
  const old = new x509.X509Certificate(oldRoot.certPem);
  const key = await importPrivateKeyPem(oldRoot.keyPem);
  await assertKeyMatches(old, key);
  const notAfter = Math.min(fresh.notAfter.getTime(), old.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    // The subject's DER must be the new root's byte for byte: chains are built by name.
    subject: new x509.Name(fresh.subjectName.toArrayBuffer()),
    issuer: new x509.Name(old.subjectName.toArrayBuffer()),
    publicKey: fresh.publicKey,
    signingKey: key,
    signingAlgorithm: EC_ALG,
    serialNumber: serial(),
    notBefore: new Date(Math.min(fresh.notBefore.getTime(), opts.now)),
    notAfter: new Date(notAfter),
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(fresh.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(old.publicKey),
    ],
  });
  return cert.toString('pem');
}

/** Throws `CertificateError` unless `key` is the private key of `cert`. */
export async function assertKeyMatches(cert: X509.X509Certificate, key: webcrypto.CryptoKey): Promise<void> {
  const probe = new Uint8Array([7, 1, 7]);
  const sig = await webcrypto.subtle.sign(EC_ALG, key, probe);
  const ok = await webcrypto.subtle.verify(EC_ALG, await cert.publicKey.export(EC_ALG, ['verify']), sig, probe);
  if (!ok) throw new CertificateError('ca: the CA key does not match the CA certificate');
}

/**
 * Who issued a certificate, as Docker's `TLSInfo` says it: the issuer's raw subject and
 * raw SubjectPublicKeyInfo, base64 (Go's `[]byte` in JSON). Two nodes whose leaves have
 * equal issuer info were issued by the same key under the same name.
 */
export interface IssuerInfo {
  subject: string;
  publicKey: string;
}

/** The issuer info of a CA certificate itself (the issuer it is for the leaves it signs). */
export function issuerInfoOf(caCertPem: string): IssuerInfo {
  const c = new x509.X509Certificate(splitPemCerts(caCertPem)[0] ?? caCertPem);
  return { subject: b64(c.subjectName.toArrayBuffer()), publicKey: b64(c.publicKey.rawData) };
}

/**
 * The issuer info of the leaf at the head of `chainPem`: the next certificate of the chain
 * when it signed the leaf (an intermediate, such as a cross-signed root), else the root of
 * `trustPem` that did. Throws `CertificateError` when neither did.
 */
export async function leafIssuerInfo(chainPem: string, trustPem: string): Promise<IssuerInfo> {
  const [leafPem, ...rest] = splitPemCerts(chainPem);
  if (!leafPem) throw new CertificateError('ca: no certificate in the chain');
  const leaf = new x509.X509Certificate(leafPem);
  for (const pem of [...rest, ...splitPemCerts(trustPem)]) {
    const c = new x509.X509Certificate(pem);
    if (await leaf.verify({ publicKey: c.publicKey, signatureOnly: true }).catch(() => false)) return issuerInfoOf(pem);
  }
  throw new CertificateError('ca: the certificate was issued by none of the certificates given');
}

function b64(buf: ArrayBuffer): string {
  return Buffer.from(buf).toString('base64');
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] & 0x7f) | 0x01;
  return Buffer.from(b).toString('hex');
}
