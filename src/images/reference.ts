/**
 * Image references as Docker names them: `[DOMAIN/]PATH[:TAG][@DIGEST]`.
 *
 * The first path component is a registry domain when it contains `.` or `:`, or is
 * `localhost`; otherwise the reference lives on Docker Hub (`docker.io`), where a
 * one-component path gets the `library/` prefix. A reference without tag and digest
 * means `:latest`. Pure: no I/O.
 */

/** A parsed, normalized image reference. */
export interface ImageReference {
  /** Registry host (and port), e.g. `docker.io`, `127.0.0.1:5000`. */
  domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  path: string;
  /** Tag, or undefined when the reference pins only a digest. */
  tag?: string;
  /** `sha256:<64 hex>` when pinned. */
  digest?: string;
}

/** A reference that does not parse. */
export class InvalidReferenceError extends Error {
  override readonly name = 'InvalidReferenceError';
  readonly retryable = false;
  constructor(readonly reference: string, reason: string) {
    super(`images: invalid reference format "${reference}": ${reason}`);
  }
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;

/** Docker Hub's canonical domain. */
export const DEFAULT_DOMAIN = 'docker.io';

/** Parses and normalizes `ref`; throws InvalidReferenceError. */
export function parseReference(ref: string): ImageReference {
  if (!ref || ref.length > 4096) throw new InvalidReferenceError(ref, 'empty or too long');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw new InvalidReferenceError(ref, 'digest must be sha256:<64 hex>');
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new InvalidReferenceError(ref, 'bad tag');
  }
  const parts = rest.split('/');
  let domain = DEFAULT_DOMAIN;
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    domain = parts.shift()!;
    if (!DOMAIN.test(domain)) throw new InvalidReferenceError(ref, 'bad registry domain');
  }
  if (parts.length === 0 || parts.some((p) => !PATH_COMPONENT.test(p))) {
    throw new InvalidReferenceError(ref, 'repository name must be lowercase [a-z0-9._-] components');
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && parts.length === 1) parts.unshift('library');
  if (!tag && !digest) tag = 'latest';
  const out: ImageReference = { domain, path: parts.join('/') };
  if (tag) out.tag = tag;
  if (digest) out.digest = digest;
  return out;
}

/** The repository name as Docker prints it (`busybox`, `127.0.0.1:5000/test/bb`). */
export function familiarName(r: ImageReference): string {
  if (r.domain === DEFAULT_DOMAIN) return r.path.startsWith('library/') ? r.path.slice(8) : r.path;
  return `${r.domain}/${r.path}`;
}

/** `name:tag` (or `name@digest`) in familiar form; this is what image records store. */
export function familiarString(r: ImageReference): string {
  const name = familiarName(r);
  if (r.tag) return `${name}:${r.tag}${r.digest ? `@${r.digest}` : ''}`;
  return `${name}@${r.digest}`;
}

/** True when `s` looks like an image ID or its short prefix (hex, ≥ 12 chars) rather than a name. */
export function looksLikeId(s: string): boolean {
  return /^(sha256:)?[a-f0-9]{12,64}$/.test(s);
}
