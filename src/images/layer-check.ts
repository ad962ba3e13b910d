/**
 * What a layer may hold, checked entry by entry before the entry reaches `tar`
 * (pure). A layer is refused (UnsafeLayerError) when an entry:
 * - has an absolute path, or a `..` component, or is empty (other than the root dir);
 * - is a whiteout of nothing, `.` or `..` (`.wh.`, `.wh..`, `.wh...`);
 * - lies under a path that is a symlink in this layer (a write through the link), or
 *   replaces such a symlink with something else;
 * - is a hard link whose target is absolute, has `..`, or lies under such a symlink;
 * - sets an xattr outside `user.*`, `security.capability` and POSIX ACLs: `trusted.*`
 *   (overlayfs reads `trusted.overlay.*` as its own metadata) and the rest of
 *   `security.*` are refused.
 * The layer dir starts empty, so only links this layer made can lead out of it.
 */

import type { TarEntryHeader } from './tar-reader.ts';
import { ImageError } from './errors.ts';

/** A layer that would write outside its folder or set metadata it may not. */
export class UnsafeLayerError extends ImageError {
  override name = 'UnsafeLayerError';
  override readonly status = 400;
  constructor(message: string) { super(`images: unsafe layer: ${message}`); }
}

/** xattrs a layer may set (the `tar --xattrs-include` list matches). */
export const ALLOWED_XATTRS = ['user.*', 'security.capability', 'system.posix_acl_access', 'system.posix_acl_default'];

function xattrAllowed(name: string): boolean {
  return ALLOWED_XATTRS.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/**
 * The components of a relative tar path, `.` and empty ones dropped; throws for an
 * absolute path or a `..` component. `what` names the field in errors.
 */
export function pathParts(path: string, what = 'path'): string[] {
  if (path.startsWith('/')) throw new UnsafeLayerError(`absolute ${what} ${JSON.stringify(path)}`);
  if (path.includes('\0')) throw new UnsafeLayerError(`${what} with a NUL byte`);
  const parts = path.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new UnsafeLayerError(`${what} ${JSON.stringify(path)} has a .. component`);
  return parts;
}

/**
 * The whiteout target of a file name, or undefined when it is no whiteout; `null`
 * for the opaque marker and AUFS metadata (`.wh..wh.*`). Throws for `.wh.`, `.wh..`, `.wh...`.
 */
export function whiteoutTarget(name: string): string | null | undefined {
  if (!name.startsWith('.wh.')) return undefined;
  if (name.startsWith('.wh..wh.')) return null;
  const target = name.slice(4);
  if (target === '' || target === '.' || target === '..' || target.includes('/')) throw new UnsafeLayerError(`whiteout ${JSON.stringify(name)} names no file of its directory`);
  return target;
}

/** Checks the entries of one layer, in archive order. */
export class LayerChecker {
  /** Paths (joined parts) that are symlinks in this layer. */
  private readonly links = new Set<string>();

  /** Throws UnsafeLayerError unless `e` is safe to hand to the extractor now. */
  check(e: TarEntryHeader): void {
    const parts = pathParts(e.path);
    const where = JSON.stringify(e.path);
    if (parts.length === 0) {
      if (e.type !== '5') throw new UnsafeLayerError(`entry of type ${e.type} with an empty path`);
      return;
    }
    whiteoutTarget(parts[parts.length - 1]);
    this.notThroughLink(parts, where);
    const key = parts.join('/');
    for (const k of Object.keys(e.pax)) {
      const m = /^(?:SCHILY|LIBARCHIVE)\.xattr\.(.*)$/s.exec(k);
      if (m && !xattrAllowed(m[1])) throw new UnsafeLayerError(`${where} sets xattr ${m[1]}`);
    }
    let isLink = e.type === '2';
    if (e.type === '1') {
      const target = pathParts(e.linkname, 'hard link target');
      if (target.length === 0) throw new UnsafeLayerError(`hard link ${where} to the layer root`);
      this.notThroughLink(target, `hard link target of ${where}`);
      isLink = this.links.has(target.join('/'));
    }
    if (this.links.has(key) && !isLink) throw new UnsafeLayerError(`${where} replaces a symlink of the same layer`);
    if (isLink) this.links.add(key);
  }

  private notThroughLink(parts: string[], where: string): void {
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.links.has(prefix)) throw new UnsafeLayerError(`${where} lies under ${JSON.stringify(prefix)}, a symlink of the same layer`);
    }
  }
}
