/**
 * Join tokens in Docker's v1 format (SwarmKit `ca/config.go`):
 *
 *   SWMTKN-1-<root CA digest: SHA-256 as base 36, 0-padded to 50>-<secret: 128 random bits as base 36, 0-padded to 25>
 *
 * A joining node checks the root CA a manager sends against the digest before trusting
 * it; the manager checks the whole token (in constant time) to decide the role.
 *
 * Difference from SwarmKit: the digest is taken over the certificate's DER bytes, not
 * its PEM text, so reformatted PEM (line endings, bundles) still matches.
 */
import { timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from '../../api/errors.ts';
import type { NodeRole } from '../../api/types/node.ts';
import type { JoinTokens } from '../../api/types/swarm.ts';
import { certDigest } from './crypto.ts';

/** A source of random bytes (the store's `RandomBytes`); returns `n` fresh bytes. */
export type RandomBytes = (n: number) => Uint8Array;

const PREFIX = 'SWMTKN';
const DIGEST_LEN = 50; // ceil(log36(2^256))
const SECRET_LEN = 25; // ceil(log36(2^128))
const SECRET_BYTES = 16;
const BASE36 = /^[0-9a-z]+$/;

/** Docker's message for a token that is not in the format. */
export const INVALID_JOIN_TOKEN = 'invalid join token';
/** Docker's message for a well-formed token that is not one of the cluster's. */
export const WRONG_JOIN_TOKEN = 'A valid join token is necessary to join this cluster';

/** The parts of a v1 join token. */
export interface ParsedJoinToken {
  version: 1;
  /** SHA-256 of the root CA certificate (DER), lowercase hex, 64 characters. */
  rootDigest: string;
  /** The secret part, as in the token (25 base-36 characters). */
  secret: string;
}

/** A new join token for the root CA in `rootCertPem`, with 128 bits from `rand`. */
export function generateJoinToken(rootCertPem: string, rand: RandomBytes): string {
  const secretBytes = rand(SECRET_BYTES);
  if (secretBytes.length !== SECRET_BYTES) throw new Error('ca: random source returned the wrong number of bytes');
  const digest = bytesToBigInt(certDigest(rootCertPem)).toString(36).padStart(DIGEST_LEN, '0');
  const secret = bytesToBigInt(secretBytes).toString(36).padStart(SECRET_LEN, '0');
  return `${PREFIX}-1-${digest}-${secret}`;
}

/**
 * Splits a token into its digest and secret. Throws `InvalidArgumentError('invalid join
 * token')` for anything not exactly in the v1 format (wrong prefix, version, lengths,
 * characters, or values out of range).
 */
export function parseJoinToken(token: string): ParsedJoinToken {
  if (typeof token !== 'string') throw new InvalidArgumentError(INVALID_JOIN_TOKEN);
  const parts = token.split('-');
  if (parts.length !== 4 || parts[0] !== PREFIX || parts[1] !== '1') throw new InvalidArgumentError(INVALID_JOIN_TOKEN);
  const [, , digest, secret] = parts;
  if (digest.length !== DIGEST_LEN || secret.length !== SECRET_LEN || !BASE36.test(digest) || !BASE36.test(secret)) {
    throw new InvalidArgumentError(INVALID_JOIN_TOKEN);
  }
  const d = base36ToBigInt(digest);
  if (d >= 1n << 256n || base36ToBigInt(secret) >= 1n << 128n) throw new InvalidArgumentError(INVALID_JOIN_TOKEN);
  return { version: 1, rootDigest: d.toString(16).padStart(64, '0'), secret };
}

/** Whether the token's digest is that of the root CA in `rootPem`. Throws for a malformed token. */
export function tokenMatchesCA(token: string, rootPem: string): boolean {
  const { rootDigest } = parseJoinToken(token);
  return constantTimeEqual(rootDigest, Buffer.from(certDigest(rootPem)).toString('hex'));
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) return false;
  return timingSafeEqual(x, y);
}

/**
 * The role a presented token grants, comparing it with the cluster's current tokens in
 * constant time (both are always compared). Throws `InvalidArgumentError` with
 * `'invalid join token'` when malformed, or Docker's "A valid join token is necessary
 * to join this cluster" when it is not one of them (wrong or rotated).
 */
export function roleForJoinToken(presented: string, tokens: JoinTokens): NodeRole {
  parseJoinToken(presented);
  const worker = constantTimeEqual(presented, tokens.Worker);
  const manager = constantTimeEqual(presented, tokens.Manager);
  if (manager) return 'manager';
  if (worker) return 'worker';
  throw new InvalidArgumentError(WRONG_JOIN_TOKEN);
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function base36ToBigInt(s: string): bigint {
  let n = 0n;
  for (const c of s) n = n * 36n + BigInt(parseInt(c, 36));
  return n;
}
