/**
 * AES-256-GCM with associated data, the one cipher of the key hierarchy, and HKDF to
 * derive purpose-bound keys from an unlock key. Sealed bytes are `iv (12) ‖ ciphertext ‖
 * tag (16)`; the IV is random per seal (injected for tests), so a key seals at most
 * ~2^32 messages safely, far more than a Raft log writes between DEK rotations.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes of every key here (AES-256). */
export const KEY_BYTES = 32;

/** Random bytes; `crypto.randomBytes` unless a test injects its own. */
export type RandomSource = (n: number) => Buffer;
export const defaultRandom: RandomSource = (n) => randomBytes(n);

/** The smallest sealed message (empty plaintext). */
export const SEAL_OVERHEAD = IV_BYTES + TAG_BYTES;

/** Encrypts and authenticates `plain`, binding `aad` (not stored; the opener supplies it again). */
export function seal(key: Uint8Array, plain: Uint8Array, aad: Uint8Array, rand: RandomSource = defaultRandom): Buffer {
  if (key.byteLength !== KEY_BYTES) throw new Error(`keys: an AES-256 key has ${KEY_BYTES} bytes, not ${key.byteLength}`);
  const iv = rand(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]);
}

/**
 * The inverse of `seal`. Throws when `sealed` was not made by `key` with this `aad` or was
 * changed since (GCM's tag check): a wrong key never yields garbage.
 */
export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  if (sealed.byteLength < SEAL_OVERHEAD) throw new Error('keys: sealed data is too short');
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const d = createDecipheriv('aes-256-gcm', key, buf.subarray(0, IV_BYTES));
  d.setAAD(aad);
  d.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
  return Buffer.concat([d.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)), d.final()]);
}

/** A 32-byte key for one purpose, derived from `secret` (HKDF-SHA256, `purpose` as info). */
export function deriveKey(secret: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), Buffer.from(`shoal ${purpose}`), KEY_BYTES));
}

/** UTF-8 bytes of `s` (associated data is always a short label). */
export function label(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}
