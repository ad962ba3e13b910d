/**
 * The unlock key in Docker's human-readable form: `SWMKEY-1-` then 32 random bytes in
 * unpadded standard base64 (SwarmKit's `encryption.HumanReadableKey`), so a key printed
 * by either system reads the same way.
 */
import { createHash } from 'node:crypto';
import { KEY_BYTES, defaultRandom, type RandomSource } from './aead.ts';
import { MalformedUnlockKeyError } from './errors.ts';

const PREFIX = 'SWMKEY-1-';

/** A new unlock key, printable. */
export function generateUnlockKey(rand: RandomSource = defaultRandom): string {
  return formatUnlockKey(rand(KEY_BYTES));
}

/** `SWMKEY-1-<base64 without padding>` of 32 bytes. */
export function formatUnlockKey(raw: Uint8Array): string {
  if (raw.byteLength !== KEY_BYTES) throw new Error(`keys: an unlock key has ${KEY_BYTES} bytes`);
  return PREFIX + Buffer.from(raw).toString('base64').replace(/=+$/, '');
}

/**
 * The 32 bytes of a printed unlock key; surrounding white space is ignored (a key pasted
 * with its newline). Throws `MalformedUnlockKeyError` (400) for anything else.
 */
export function parseUnlockKey(text: string): Buffer {
  const s = text.trim();
  if (!s.startsWith(PREFIX)) throw new MalformedUnlockKeyError(`an unlock key starts with ${PREFIX}`);
  const body = s.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+$/.test(body)) throw new MalformedUnlockKeyError('the key is not base64');
  const raw = Buffer.from(body, 'base64');
  if (raw.byteLength !== KEY_BYTES || formatUnlockKey(raw) !== s) throw new MalformedUnlockKeyError(`the key must hold ${KEY_BYTES} bytes`);
  return raw;
}

/** A short, non-secret name of a key (first 8 bytes of its SHA-256), for logs and file headers. */
export function unlockKeyId(raw: Uint8Array): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}
