/**
 * A streaming tar header reader (ustar, PAX `x`/`g`, GNU `L`/`K` long names), pure:
 * bytes go in through `push`, events come out in the same order, and the bytes of
 * all events together are exactly the bytes pushed. So a caller can check each
 * entry's header before it forwards that header to an extractor (`unpack.ts`), or
 * write the entries itself (`load.ts`).
 *
 * It is strict where an extractor could read the stream differently: a bad
 * checksum, a size that is not octal (or base-256), a link, directory, device or
 * FIFO entry with data, sparse files and unknown entry types are refused
 * (TarFormatError), so the reader and GNU tar always agree where headers are.
 */

/** One tar entry, after PAX and GNU long-name records are applied. */
export interface TarEntryHeader {
  /** Path as written (not normalized). */
  path: string;
  /** Type flag: '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' FIFO, '7' contiguous file. */
  type: string;
  /** Bytes of data that follow. */
  size: number;
  mode: number;
  linkname: string;
  /** PAX records of this entry (global ones included). */
  pax: Record<string, string>;
}

/** What `push` returns, in stream order. `raw` is the bytes of the event. */
export type TarEvent =
  | { kind: 'entry'; entry: TarEntryHeader; raw: Buffer }
  | { kind: 'data'; raw: Buffer }
  | { kind: 'pad'; raw: Buffer }
  | { kind: 'zero'; raw: Buffer };

import { ImageError } from './errors.ts';

/** A stream that is not a tar archive we can read the same way GNU tar does. */
export class TarFormatError extends ImageError {
  override name = 'TarFormatError';
  override readonly status = 400;
  constructor(message: string) { super(`images: tar: ${message}`); }
}

/** Largest PAX or long-name record we buffer, bytes. */
export const MAX_META_BYTES = 1 << 20;
const KNOWN = new Set(['0', '\0', '1', '2', '3', '4', '5', '6', '7']);
const META = new Set(['x', 'g', 'L', 'K']);

function cstr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z < 0 ? s : s.subarray(0, z)).toString('utf8');
}

function num(b: Buffer, off: number, len: number, field: string): number {
  if (b[off] & 0x80) {
    if (b[off] !== 0x80) throw new TarFormatError(`negative or huge ${field}`);
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i];
    if (!Number.isSafeInteger(v)) throw new TarFormatError(`${field} too large`);
    return v;
  }
  const s = b.subarray(off, off + len).toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`${field} is not octal: ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const want = num(h, 148, 8, 'checksum');
  let u = 0; let s = 0;
  for (let i = 0; i < 512; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i];
    u += c; s += c > 127 ? c - 256 : c;
  }
  return want === u || want === s;
}

/** Parses PAX records (`LEN key=value\n`…). */
export function parsePax(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < b.length) {
    if (b[i] === 0) break;
    const sp = b.indexOf(0x20, i);
    const len = sp < 0 ? NaN : Number(b.subarray(i, sp).toString('latin1'));
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > b.length || b[i + len - 1] !== 0x0a) throw new TarFormatError('bad PAX record');
    const rec = b.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq <= 0) throw new TarFormatError('bad PAX record');
    out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** The reader; one per archive. Not reusable after a throw. */
export class TarReader {
  private buf: Buffer = Buffer.alloc(0);
  /** What the bytes at the front of `buf` are. */
  private mode: 'header' | 'meta' | 'data' | 'pad' = 'header';
  private left = 0;
  private padLeft = 0;
  private metaType = '';
  private metaParts: Buffer[] = [];
  private pending: Buffer[] = [];
  private pax: Record<string, string> = {};
  private globalPax: Record<string, string> = {};
  private longName: string | undefined;
  private longLink: string | undefined;

  /** Feeds `chunk`; returns the events it completes. Throws TarFormatError. */
  push(chunk: Buffer): TarEvent[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: TarEvent[] = [];
    for (;;) {
      if (this.mode === 'data') {
        if (!this.buf.length) break;
        const n = Math.min(this.left, this.buf.length);
        out.push({ kind: 'data', raw: this.buf.subarray(0, n) });
        this.buf = this.buf.subarray(n);
        this.left -= n;
        if (this.left === 0) this.mode = 'pad';
        continue;
      }
      if (this.mode === 'pad') {
        if (this.padLeft === 0) { this.mode = 'header'; continue; }
        if (!this.buf.length) break;
        const n = Math.min(this.padLeft, this.buf.length);
        out.push({ kind: 'pad', raw: this.buf.subarray(0, n) });
        this.buf = this.buf.subarray(n);
        this.padLeft -= n;
        continue;
      }
      if (this.mode === 'meta') {
        const need = this.left + this.padLeft;
        if (this.buf.length < need) break;
        this.pending.push(this.buf.subarray(0, need));
        this.endMeta(this.buf.subarray(0, this.left));
        this.buf = this.buf.subarray(need);
        this.mode = 'header';
        continue;
      }
      if (this.buf.length < 512) break;
      const h = this.buf.subarray(0, 512);
      this.buf = this.buf.subarray(512);
      if (h.every((x) => x === 0)) {
        if (this.pending.length) throw new TarFormatError('archive ends inside an entry');
        out.push({ kind: 'zero', raw: h });
        continue;
      }
      if (!checksumOk(h)) throw new TarFormatError('bad header checksum');
      const type = String.fromCharCode(h[156]);
      const size = num(h, 124, 12, 'size');
      if (META.has(type)) {
        if (size > MAX_META_BYTES) throw new TarFormatError(`${type === 'x' || type === 'g' ? 'PAX' : 'long name'} record of ${size} bytes`);
        this.pending.push(h);
        this.metaType = type;
        this.left = size;
        this.padLeft = (512 - (size % 512)) % 512;
        this.mode = 'meta';
        continue;
      }
      const entry = this.entry(h, type, size);
      out.push({ kind: 'entry', entry, raw: Buffer.concat([...this.pending, h]) });
      this.pending = [];
      this.left = entry.size;
      this.padLeft = (512 - (entry.size % 512)) % 512;
      this.mode = entry.size > 0 ? 'data' : 'pad';
    }
    return out;
  }

  /** Checks that the archive did not stop inside an entry (call after the last push). */
  end(): void {
    if (this.mode !== 'header' || this.pending.length || this.buf.length) throw new TarFormatError('archive is truncated');
  }

  private endMeta(body: Buffer): void {
    if (this.metaType === 'x') Object.assign(this.pax, parsePax(body));
    else if (this.metaType === 'g') {
      const g = parsePax(body);
      for (const k of ['path', 'linkpath', 'size']) if (k in g) throw new TarFormatError(`global PAX record sets ${k}`);
      Object.assign(this.globalPax, g);
    } else if (this.metaType === 'L') this.longName = cstr(body, 0, body.length);
    else this.longLink = cstr(body, 0, body.length);
  }

  private entry(h: Buffer, type: string, headerSize: number): TarEntryHeader {
    const pax = { ...this.globalPax, ...this.pax };
    this.pax = {};
    const magic = h.subarray(257, 263).toString('latin1');
    const name = cstr(h, 0, 100);
    const prefix = magic === 'ustar\0' ? cstr(h, 345, 155) : '';
    const path = pax.path ?? this.longName ?? (prefix ? `${prefix}/${name}` : name);
    const linkname = pax.linkpath ?? this.longLink ?? cstr(h, 157, 100);
    this.longName = this.longLink = undefined;
    if (!KNOWN.has(type)) throw new TarFormatError(`unsupported entry type ${JSON.stringify(type)} for ${JSON.stringify(path)}`);
    if (Object.keys(pax).some((k) => k.startsWith('GNU.sparse.'))) throw new TarFormatError(`sparse file ${JSON.stringify(path)} is not supported`);
    let size = headerSize;
    if (pax.size !== undefined) {
      if (!/^\d+$/.test(pax.size) || !Number.isSafeInteger(Number(pax.size))) throw new TarFormatError(`bad PAX size for ${JSON.stringify(path)}`);
      size = Number(pax.size);
    }
    const isFile = type === '0' || type === '\0' || type === '7';
    if (!isFile && size !== 0) throw new TarFormatError(`entry ${JSON.stringify(path)} of type ${type} carries ${size} bytes of data`);
    return { path, type: type === '\0' ? '0' : type, size, mode: num(h, 100, 8, 'mode'), linkname, pax };
  }
}
