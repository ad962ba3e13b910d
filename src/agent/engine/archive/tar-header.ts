/**
 * Tar headers for `docker cp` and `docker export` (ustar, with a PAX record before the
 * header when a name, link target, size, owner or time does not fit a ustar field),
 * as Go's archive/tar writes them for Docker. Pure.
 */

/** One entry's metadata. `type`: '0' file, '2' symlink, '3' char, '4' block, '5' dir, '6' FIFO. */
export interface TarHeaderInfo {
  /** Path in the archive (a directory's ends with `/`). */
  name: string;
  type: '0' | '2' | '3' | '4' | '5' | '6';
  /** Bytes of data that follow (files only). */
  size: number;
  /** Permission and special bits (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time, seconds since the epoch (may have a fraction). */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const BLOCK = 512;
const MAX_OCTAL_8 = 0o7777777;
const MAX_OCTAL_12 = 0o77777777777;

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

function octal(h: Buffer, off: number, len: number, v: number): void {
  h.write(Math.floor(v).toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function paxRecord(k: string, v: string): string {
  const body = ` ${k}=${v}\n`;
  let n = Buffer.byteLength(body) + 1;
  while (String(n).length + Buffer.byteLength(body) !== n) n = String(n).length + Buffer.byteLength(body);
  return `${n}${body}`;
}

function ustar(name: string, i: TarHeaderInfo, size: number, type: string, linkname: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, i.mode & 0o7777);
  octal(h, 108, 8, Math.min(i.uid, MAX_OCTAL_8));
  octal(h, 116, 8, Math.min(i.gid, MAX_OCTAL_8));
  octal(h, 124, 12, size);
  octal(h, 136, 12, Math.min(Math.max(0, i.mtime), MAX_OCTAL_12));
  h.fill(0x20, 148, 156);
  h.write(type, 156, 1, 'latin1');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'latin1');
  h.write('00', 263, 2, 'latin1');
  octal(h, 329, 8, i.devmajor ?? 0);
  octal(h, 337, 8, i.devminor ?? 0);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  return h;
}

/** The header block(s) of one entry: a PAX extended header first when a field does not fit. */
export function tarHeader(i: TarHeaderInfo): Buffer {
  const pax: Record<string, string> = {};
  const linkname = i.linkname ?? '';
  if (Buffer.byteLength(i.name) > 100) pax.path = i.name;
  if (Buffer.byteLength(linkname) > 100) pax.linkpath = linkname;
  if (i.size > MAX_OCTAL_12) pax.size = String(i.size);
  if (i.uid > MAX_OCTAL_8) pax.uid = String(i.uid);
  if (i.gid > MAX_OCTAL_8) pax.gid = String(i.gid);
  const head = ustar(pax.path ? cut(i.name) : i.name, i, pax.size ? 0 : i.size, i.type, pax.linkpath ? cut(linkname) : linkname);
  if (!Object.keys(pax).length) return head;
  const body = Buffer.from(Object.entries(pax).map(([k, v]) => paxRecord(k, v)).join(''));
  const xname = cut(`PaxHeaders.0/${i.name.replace(/\/$/, '').split('/').pop()}`);
  const xh = ustar(xname, { ...i, mode: 0o644, uid: 0, gid: 0 }, body.length, 'x', '');
  return Buffer.concat([xh, body, padding(body.length), head]);
}

/** The first 100 bytes of a name, cut on a character boundary (the PAX record has the whole). */
function cut(s: string): string {
  let b = Buffer.from(s).subarray(0, 100).toString('utf8');
  while (Buffer.byteLength(b) > 100 || b.endsWith('\uFFFD')) b = b.slice(0, -1);
  return b;
}
