/**
 * A node's WireGuard key pair (Curve25519, made with node:crypto so no `wg genkey` is
 * needed to state the public key) and the swarm's network key. The private key is kept
 * in one owner-only file and never leaves the node.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { isWgKey } from './plan.ts';
import { WireGuardSpecError } from './errors.ts';

/** A key pair, base64 as `wg` writes them. */
export interface WgKeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

const b64 = (u: string) => Buffer.from(u, 'base64url').toString('base64');

/** A new Curve25519 key pair. */
export function generateKeyPair(): WgKeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return { privateKey: b64(jwk.d!), publicKey: b64(jwk.x!) };
}

/** PKCS#8 DER before a raw X25519 private key (RFC 8410): version 0, algorithm 1.3.101.110. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The public key of a base64 private key; throws `WireGuardSpecError` when it is none. */
export function publicKeyOf(privateKey: string): string {
  if (!isWgKey(privateKey)) throw new WireGuardSpecError('invalid private key');
  // From PKCS#8 rather than a JWK without `x`: Node 24 refuses such a JWK, Node 20 took it.
  const der = Buffer.concat([X25519_PKCS8_PREFIX, Buffer.from(privateKey, 'base64')]);
  const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  return b64(pub.export({ format: 'jwk' }).x!);
}

/** A new network key (32 random bytes, base64): WireGuard's preshared key. `rand` for tests. */
export function generateNetworkKey(rand: (n: number) => Buffer = randomBytes): string {
  return rand(32).toString('base64');
}

/**
 * Key pairs this process has read or made, by file: the node's description (which states
 * the public key) is built for every task the agent starts, and reading the file and
 * deriving the public key each time would put file I/O and key arithmetic on that path.
 * The daemon owns the file; `removeKeyPair` forgets it here too.
 */
const known = new Map<string, WgKeyPair>();

/**
 * The key pair kept in `file` (the private key, base64, mode 0600), made there when
 * missing or unreadable. Written to a temporary file and renamed: a crash never leaves half a key.
 */
export function loadOrCreateKeyPair(file: string): WgKeyPair {
  const cached = known.get(file);
  if (cached) return cached;
  const pair = readOrMakeKeyPair(file);
  known.set(file, pair);
  return pair;
}

function readOrMakeKeyPair(file: string): WgKeyPair {
  try {
    const priv = readFileSync(file, 'utf8').trim();
    if (isWgKey(priv)) return { privateKey: priv, publicKey: publicKeyOf(priv) };
  } catch { /* missing: made below */ }
  const pair = generateKeyPair();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, pair.privateKey + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return pair;
}

/** Forgets the key pair (leaving the swarm): the next join states a new public key. */
export function removeKeyPair(file: string): void {
  known.delete(file);
  rmSync(file, { force: true });
}
