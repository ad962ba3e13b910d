// Certificates for the remote API tests, made with @peculiar/x509 (no openssl): a CA, a
// server certificate for the daemon's IP addresses, a client certificate the CA signed,
// and a client certificate of another CA (which the daemon must refuse). PEM files, as
// dockerd's --tlscacert/--tlscert/--tlskey and docker's client flags take them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Extension, X509Certificate } from '@peculiar/x509';
import { EC_ALG, exportPrivateKeyPem, generateKeyPair, x509, type CryptoKeyPair } from '../../src/manager/ca/crypto.ts';

/** Paths of the PEM files {@link writeTlsFiles} made. */
export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate and key signed by a CA the daemon does not trust. */
  strangerCert: string;
  strangerKey: string;
}

const DAY_MS = 86_400_000;
const serial = () => randomBytes(8).toString('hex').replace(/^[89a-f]/, '1');

async function makeCa(cn: string, now: number): Promise<{ cert: X509Certificate; keys: CryptoKeyPair }> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${cn}`, keys, signingAlgorithm: EC_ALG, serialNumber: serial(),
    notBefore: new Date(now - DAY_MS), notAfter: new Date(now + DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  return { cert, keys };
}

async function issue(ca: { cert: X509Certificate; keys: CryptoKeyPair }, cn: string, opts: { server?: string[]; now: number }): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeyPair();
  const extensions: Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([opts.server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
  ];
  if (opts.server) extensions.push(new x509.SubjectAlternativeNameExtension(opts.server.map((value) => ({ type: 'ip' as const, value }))));
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${cn}`, issuer: ca.cert.subject, publicKey: keys.publicKey, signingKey: ca.keys.privateKey,
    signingAlgorithm: EC_ALG, serialNumber: serial(),
    notBefore: new Date(opts.now - DAY_MS), notAfter: new Date(opts.now + DAY_MS), extensions,
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** Writes a CA, a server certificate for `serverIps`, and two client certificates into `dir`. */
export async function writeTlsFiles(dir: string, serverIps: string[], now = Date.now()): Promise<TlsFiles> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await makeCa('shoal test ca', now);
  const stranger = await makeCa('another ca', now);
  const server = await issue(ca, 'shoal daemon', { server: serverIps, now });
  const client = await issue(ca, 'operator', { now });
  const other = await issue(stranger, 'intruder', { now });
  const files: TlsFiles = {
    ca: join(dir, 'ca.pem'), serverCert: join(dir, 'server-cert.pem'), serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'cert.pem'), clientKey: join(dir, 'key.pem'),
    strangerCert: join(dir, 'stranger-cert.pem'), strangerKey: join(dir, 'stranger-key.pem'),
  };
  const write = (path: string, pem: string) => writeFileSync(path, pem, { mode: 0o600 });
  write(files.ca, ca.cert.toString('pem'));
  write(files.serverCert, server.certPem);
  write(files.serverKey, server.keyPem);
  write(files.clientCert, client.certPem);
  write(files.clientKey, client.keyPem);
  write(files.strangerCert, other.certPem);
  write(files.strangerKey, other.keyPem);
  return files;
}
