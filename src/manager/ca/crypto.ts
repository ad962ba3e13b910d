/**
 * The X.509 toolkit the CA uses: `@peculiar/x509` over Node's webcrypto, ECDSA P-256
 * with SHA-256 everywhere (as SwarmKit). `reflect-metadata` must load before
 * `@peculiar/x509`; this module is the only place that loads it, so import X.509 from
 * here. Also the PEM and key helpers shared by the signer and the node side.
 *
 * `x509` is loaded on first use, not at import: evaluating it costs about 150 ms of CPU,
 * which a daemon in no swarm (and every CLI command) never needs. In type positions use
 * `X509.Name` (`import type { X509 }`).
 */
import { createRequire } from 'node:module';
import type * as X509 from '@peculiar/x509';
import { createHash, webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { CertificateError } from './errors.ts';

export type { X509 };

/** Webcrypto key types (Node's; the project has no DOM lib). */
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

const loadCommonJs = createRequire(import.meta.url);
let loaded: typeof X509 | undefined;

function loadX509(): typeof X509 {
  if (!loaded) {
    loadCommonJs('reflect-metadata');
    const lib = loadCommonJs('@peculiar/x509') as typeof X509;
    // The provider is process-wide in @peculiar/x509; setting it to Node's webcrypto is idempotent.
    lib.cryptoProvider.set(webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0]);
    loaded = lib;
  }
  return loaded;
}

/** `@peculiar/x509`, loaded (with its crypto provider set) at the first property read. */
export const x509: typeof X509 = new Proxy({} as typeof X509, {
  get: (_t, key) => (loadX509() as unknown as Record<PropertyKey, unknown>)[key],
});

/** ECDSA P-256 with SHA-256: key generation, signing and verification parameters in one. */
export const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A fresh P-256 key pair (extractable, so the private key can be stored as PKCS#8). */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', key));
  return toPem(der, 'PRIVATE KEY');
}

/** Imports a PKCS#8 PEM P-256 private key for signing. Throws `CertificateError` if it is not one. */
export async function importPrivateKeyPem(pem: string): Promise<CryptoKey> {
  try {
    return (await webcrypto.subtle.importKey('pkcs8', fromPem(pem, 'PRIVATE KEY'), EC_ALG, false, ['sign'])) as CryptoKey;
  } catch (cause) {
    throw new CertificateError('ca: not a PKCS#8 ECDSA P-256 private key', { cause });
  }
}

/** PEM armour around DER bytes, 64 columns, trailing newline. */
export function toPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The DER bytes of the first `label` block in `pem`. Throws `CertificateError` if there is none. */
export function fromPem(pem: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!m) throw new CertificateError(`ca: no ${label} in PEM`);
  return new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
}

/** Parses the first certificate of a PEM with Node's X.509 parser. Throws `CertificateError`. */
export function parseCertPem(pem: string): NodeX509 {
  try {
    return new NodeX509(toPem(fromPem(pem, 'CERTIFICATE'), 'CERTIFICATE'));
  } catch (cause) {
    if (cause instanceof CertificateError) throw cause;
    throw new CertificateError('ca: malformed certificate', { cause });
  }
}

/** SHA-256 of the DER bytes of the first certificate in `pem`. */
export function certDigest(pem: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(fromPem(pem, 'CERTIFICATE')).digest());
}
