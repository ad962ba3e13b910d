/**
 * The one digest form Shoal accepts: `sha256:` followed by 64 lowercase hex digits.
 * Digests arrive from registries, image configs, `image load` tarballs and our own
 * records on disk, and some become paths (`blobs/sha256/<hex>`, `layers/<hex>/`):
 * every such digest passes `checkDigest` where it is parsed and again where it
 * becomes a path, so `sha256:../../swarm` can never name a folder. Pure.
 */
import { ImageError } from './errors.ts';

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** A digest that is not `sha256:<64 lowercase hex>`. */
export class InvalidDigestError extends ImageError {
  override name = 'InvalidDigestError';
  override readonly status = 400;
  constructor(readonly digest: unknown, readonly what: string) {
    super(`images: invalid digest ${JSON.stringify(typeof digest === 'string' ? digest.slice(0, 100) : digest)} for ${what}: want sha256:<64 lowercase hex>`);
  }
}

/** True when `d` is `sha256:<64 lowercase hex>`. */
export function isDigest(d: unknown): d is string {
  return typeof d === 'string' && DIGEST.test(d);
}

/**
 * Returns `d` when it is a well-formed digest; throws InvalidDigestError naming
 * `what` (e.g. `diff_ids[2]`, `layer 0 of the manifest`) otherwise.
 */
export function checkDigest(d: unknown, what: string): string {
  if (!isDigest(d)) throw new InvalidDigestError(d, what);
  return d;
}

/** The 64-hex part of a checked digest: the only thing that may become a file name. */
export function digestHex(d: unknown, what: string): string {
  return checkDigest(d, what).slice(7);
}
