/** Errors of the image subsystem, one class per kind; the HTTP layer maps them to status codes. */

/** Base of image errors: `status` is the HTTP status Docker's API uses for it. */
export class ImageError extends Error {
  override name = 'ImageError';
  readonly status: number = 500;
  readonly retryable: boolean = false;
}

/** No such image (or tag) locally. */
export class ImageNotFoundError extends ImageError {
  override name = 'ImageNotFoundError';
  override readonly status = 404;
  constructor(ref: string) { super(`images: No such image: ${ref}`); }
}

/** The registry does not have the repository, tag or digest. */
export class ManifestUnknownError extends ImageError {
  override name = 'ManifestUnknownError';
  override readonly status = 404;
  constructor(ref: string, detail = 'manifest unknown') { super(`images: manifest for ${ref} not found: ${detail}`); }
}

/** The registry could not be reached (DNS, connection refused, TLS, timeout). */
export class RegistryUnreachableError extends ImageError {
  override name = 'RegistryUnreachableError';
  override readonly status = 500;
  override readonly retryable = true;
  constructor(host: string, cause: unknown) {
    super(`images: registry ${host} unreachable: ${describe(cause)}`, { cause });
  }
}

/** The registry refused our credentials or gave no token. */
export class RegistryAuthError extends ImageError {
  override name = 'RegistryAuthError';
  override readonly status = 401;
  constructor(message: string) { super(`images: ${message}`); }
}

/** Any other registry answer we cannot use. */
export class RegistryError extends ImageError {
  override name = 'RegistryError';
  override readonly status = 500;
  constructor(message: string, readonly httpStatus?: number) { super(`images: ${message}`); }
}

/** Content did not match its digest. */
export class DigestMismatchError extends ImageError {
  override name = 'DigestMismatchError';
  override readonly status = 500;
  constructor(what: string, expected: string, actual: string) { super(`images: digest mismatch for ${what}: expected ${expected}, got ${actual}`); }
}

/** The image is used by a container. */
export class ImageInUseError extends ImageError {
  override name = 'ImageInUseError';
  override readonly status = 409;
  constructor(ref: string, id: string) { super(`images: conflict: unable to remove ${ref} (must force) - image ${id.slice(7, 19)} is being used by a task`); }
}

/** A tarball or layout we cannot load. */
export class BadArchiveError extends ImageError {
  override name = 'BadArchiveError';
  override readonly status = 400;
  constructor(message: string) { super(`images: load: ${message}`); }
}

/** A manifest, index or config (from a registry or a tarball) whose shape or digests we cannot use. */
export class BadDocumentError extends ImageError {
  override name = 'BadDocumentError';
  override readonly status = 400;
  constructor(message: string) { super(`images: ${message}`); }
}

/** No manifest for our platform in an index. */
export class PlatformError extends ImageError {
  override name = 'PlatformError';
  override readonly status = 404;
  constructor(ref: string, platform: string) { super(`images: no matching manifest for ${platform} in the manifest list entries of ${ref}`); }
}

function describe(e: unknown): string {
  let last = e instanceof Error ? e.message : String(e);
  for (let c: any = e, i = 0; c && i < 5; c = c.cause, i++) {
    if (c.code) return `${c.code}${c.message ? `: ${c.message}` : ''}`;
    if (c.name === 'TimeoutError') return 'timeout';
    if (Array.isArray(c.errors) && c.errors[0]?.code) return `${c.errors[0].code}: ${c.errors[0].message}`;
    if (c.message) last = c.message;
  }
  return last;
}
