/**
 * Object IDs in Docker's form (SwarmKit `identity.NewID`): 128 random bits written in
 * base 36, left-padded with zeros to 25 lowercase characters.
 */

/** A source of random bytes; returns `n` fresh bytes. Injected so a failing seed replays. */
export type RandomBytes = (n: number) => Uint8Array;

/** Length of an ID: ceil(log36(2^128)). */
export const ID_LENGTH = 25;

const ID_PATTERN = /^[0-9a-z]{25}$/;

/** A new 25-character base-36 ID from 16 bytes of `rand`. */
export function newId(rand: RandomBytes): string {
  const bytes = rand(16);
  if (bytes.length !== 16) throw new Error('store: random source returned the wrong number of bytes');
  return bytesToBase36(bytes, ID_LENGTH);
}

/** Whether `s` has the shape of an ID made by `newId`. */
export function isId(s: string): boolean {
  return ID_PATTERN.test(s);
}

/** The big-endian unsigned integer in `bytes`, in base 36, left-padded with zeros to `width`. */
export function bytesToBase36(bytes: Uint8Array, width: number): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n.toString(36).padStart(width, '0');
}

/**
 * A deterministic random source for tests and simulations (xorshift128+ seeded from a
 * number). Not for secrets.
 */
export function seededRandom(seed: number): RandomBytes {
  let s0 = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  let s1 = BigInt.asUintN(64, (s0 ^ 0xbf58476d1ce4e5b9n) * 0x94d049bb133111ebn);
  const next = (): bigint => {
    let x = s0;
    const y = s1;
    s0 = y;
    x = BigInt.asUintN(64, x ^ (x << 23n));
    s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return BigInt.asUintN(64, s1 + y);
  };
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 8) {
      let v = next();
      for (let j = i; j < Math.min(i + 8, n); j++) {
        out[j] = Number(v & 0xffn);
        v >>= 8n;
      }
    }
    return out;
  };
}
