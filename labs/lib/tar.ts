// A small, deterministic ustar writer: enough for OCI image layers and layout tarballs.
// Every header carries the same owner (0:0, names "root") and a fixed mtime, so the same
// entries always give the same bytes (and so the same sha256 digest).

/** One entry of a tarball. Paths are relative, without a leading `/` or `./`. */
export type TarEntry =
  | { type: 'file'; path: string; data: Uint8Array; mode?: number; uid?: number; gid?: number }
  | { type: 'dir'; path: string; mode?: number; uid?: number; gid?: number }
  | { type: 'symlink'; path: string; target: string; uid?: number; gid?: number };

/** Options of {@link writeTar}. */
export interface TarOptions {
  /** Modification time of every entry, in seconds since the epoch. Default 1_700_000_000. */
  mtime?: number;
}

const BLOCK = 512;

/** Thrown when an entry cannot be represented in a ustar header (path or link too long). */
export class TarEntryError extends Error {
  override name = 'TarEntryError';
}

function putString(buf: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length) throw new TarEntryError(`tar: field too long: ${value}`);
  bytes.copy(buf, offset);
}

function putOctal(buf: Buffer, offset: number, length: number, value: number): void {
  // length-1 octal digits, zero padded, then NUL.
  const s = value.toString(8).padStart(length - 1, '0');
  if (s.length > length - 1) throw new TarEntryError(`tar: number too large: ${value}`);
  putString(buf, offset, length, s + '\0');
}

/** Splits a path into ustar `prefix` and `name` (name ≤ 100 bytes, prefix ≤ 155). */
function splitPath(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(name) <= 100 && Buffer.byteLength(prefix) <= 155) return { prefix, name };
  }
  throw new TarEntryError(`tar: path too long: ${path}`);
}

function header(entry: TarEntry, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const path = entry.type === 'dir' && !entry.path.endsWith('/') ? entry.path + '/' : entry.path;
  const { prefix, name } = splitPath(path);
  const mode = entry.type === 'symlink' ? 0o777 : (entry.mode ?? (entry.type === 'dir' ? 0o755 : 0o644));
  const size = entry.type === 'file' ? entry.data.length : 0;
  putString(h, 0, 100, name);
  putOctal(h, 100, 8, mode);
  putOctal(h, 108, 8, entry.uid ?? 0);
  putOctal(h, 116, 8, entry.gid ?? 0);
  putOctal(h, 124, 12, size);
  putOctal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h.write(entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2', 156, 'ascii');
  if (entry.type === 'symlink') putString(h, 157, 100, entry.target);
  putString(h, 257, 6, 'ustar\0');
  putString(h, 263, 2, '00');
  putString(h, 265, 32, (entry.uid ?? 0) === 0 ? 'root' : '');
  putString(h, 297, 32, (entry.gid ?? 0) === 0 ? 'root' : '');
  putOctal(h, 329, 8, 0);
  putOctal(h, 337, 8, 0);
  putString(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  putString(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/**
 * Serializes entries, in the given order, into one ustar archive (with the two zero
 * blocks that end it). Pure: equal input gives equal bytes.
 */
export function writeTar(entries: readonly TarEntry[], opts: TarOptions = {}): Buffer {
  const mtime = opts.mtime ?? 1_700_000_000;
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e, mtime));
    if (e.type === 'file' && e.data.length > 0) {
      parts.push(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.length));
      const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}
