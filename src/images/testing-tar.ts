/**
 * A tar writer for the image tests that can write what a hostile layer holds:
 * any type flag (hard links, FIFOs, devices), any path (absolute, `..`), and PAX
 * records (long names, `SCHILY.xattr.*`). Test support only: the daemon never
 * writes tarballs. Pure.
 */
import { createHash } from 'node:crypto';

/** One raw entry: `type` is the ustar type flag ('0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' FIFO). */
export interface RawTarEntry {
  path: string;
  type?: string;
  data?: Buffer | string;
  linkname?: string;
  mode?: number;
  /** PAX records written in an extended header before the entry. */
  pax?: Record<string, string>;
}

function octal(h: Buffer, off: number, len: number, v: number): void {
  h.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

function header(path: string, type: string, size: number, linkname: string, mode: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(path.slice(0, 100), 0, 100, 'utf8');
  octal(h, 100, 8, mode); octal(h, 108, 8, 0); octal(h, 116, 8, 0);
  octal(h, 124, 12, size); octal(h, 136, 12, 1_700_000_000);
  h.fill(0x20, 148, 156);
  h.write(type, 156, 1, 'ascii');
  h.write(linkname.slice(0, 100), 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii'); h.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

function paxRecord(k: string, v: string): string {
  const body = ` ${k}=${v}\n`;
  let n = Buffer.byteLength(body) + 1;
  while (String(n).length + Buffer.byteLength(body) !== n) n = String(n).length + Buffer.byteLength(body);
  return `${n}${body}`;
}

/** Serializes entries into one tar archive (ended by two zero blocks). */
export function rawTar(entries: RawTarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? '0';
    const data = Buffer.from(e.data ?? '');
    const pax = { ...e.pax };
    if (Buffer.byteLength(e.path) > 100) pax.path = e.path;
    if (e.linkname && Buffer.byteLength(e.linkname) > 100) pax.linkpath = e.linkname;
    if (Object.keys(pax).length) {
      const body = Buffer.from(Object.entries(pax).map(([k, v]) => paxRecord(k, v)).join(''));
      parts.push(header('PaxHeader', 'x', body.length, '', 0o644), pad(body));
    }
    parts.push(header(e.path, type, type === '0' ? data.length : 0, e.linkname ?? '', e.mode ?? (type === '5' ? 0o755 : 0o644)));
    if (type === '0' && data.length) parts.push(pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** `sha256:<hex>` of bytes. */
export function sha256Of(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}
