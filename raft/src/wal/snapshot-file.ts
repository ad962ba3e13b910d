/**
 * Snapshot files: one per snapshot, `<term>-<index>.snap` (hex), written atomically (temp
 * file, write, fsync, rename, fsync the directory) and checked on load.
 *
 * Layout (little-endian):
 *
 *     0  8 bytes  magic "RTSNAP\0\x01"
 *     8  u32      metaLen     JSON metadata bytes ({index, term, confState}; clear text)
 *    12  u32      dataLen lo  (sealed) data bytes, low and high 32 bits
 *    16  u32      dataLen hi
 *    20  u32      bodyCrc     crc32 of metadata + data
 *    24  u32      headerCrc   crc32 of bytes [0, 24)
 *    28  metadata, then data
 *
 * The file must be exactly that long: a short or long file is corrupt.
 */
import { crc32 } from 'node:zlib';
import { open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshot, SnapshotMetadata } from '../types.ts';
import type { SnapshotRef } from './codec.ts';
import { SnapshotCorruptError } from './errors.ts';
import { hex16, syncDir, writeAll } from './fs-util.ts';

const MAGIC = Buffer.from('RTSNAP\0\x01', 'latin1');
const HEADER = 28;
const NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

/** `<term>-<index>.snap`, both 16 hex digits. */
export function snapshotFileName(ref: SnapshotRef): string {
  return `${hex16(ref.term)}-${hex16(ref.index)}.snap`;
}

/** The header and metadata of a snapshot file; the (sealed) data follows. */
export function encodeSnapshotHeader(metadata: SnapshotMetadata, sealed: Uint8Array): Buffer {
  const meta = Buffer.from(JSON.stringify({ index: metadata.index, term: metadata.term, confState: metadata.confState }), 'utf8');
  const head = Buffer.alloc(HEADER + meta.length);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(meta.length, 8);
  head.writeUInt32LE(sealed.byteLength % 0x1_0000_0000, 12);
  head.writeUInt32LE(Math.floor(sealed.byteLength / 0x1_0000_0000), 16);
  head.writeUInt32LE(crc32(sealed, crc32(meta)), 20);
  head.writeUInt32LE(crc32(head.subarray(0, 24)), 24);
  meta.copy(head, HEADER);
  return head;
}

/** Checks and decodes a whole snapshot file; `data` is still sealed. Throws `SnapshotCorruptError`. */
export function decodeSnapshotFile(file: string, buf: Buffer): { metadata: SnapshotMetadata; sealed: Buffer } {
  if (buf.length < HEADER) throw new SnapshotCorruptError(file, `${buf.length} bytes, shorter than the header`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw new SnapshotCorruptError(file, 'bad magic');
  if (buf.readUInt32LE(24) !== crc32(buf.subarray(0, 24))) throw new SnapshotCorruptError(file, 'header checksum mismatch');
  const metaLen = buf.readUInt32LE(8);
  const dataLen = buf.readUInt32LE(16) * 0x1_0000_0000 + buf.readUInt32LE(12);
  if (buf.length !== HEADER + metaLen + dataLen) {
    throw new SnapshotCorruptError(file, `${buf.length} bytes, header says ${HEADER + metaLen + dataLen}`);
  }
  const meta = buf.subarray(HEADER, HEADER + metaLen);
  const sealed = buf.subarray(HEADER + metaLen);
  if (buf.readUInt32LE(20) !== crc32(sealed, crc32(meta))) throw new SnapshotCorruptError(file, 'body checksum mismatch');
  let metadata: SnapshotMetadata;
  try {
    metadata = JSON.parse(meta.toString('utf8')) as SnapshotMetadata;
  } catch (err) {
    throw new SnapshotCorruptError(file, 'metadata is not JSON', { cause: err });
  }
  return { metadata, sealed };
}

/**
 * Writes `snap` (its data already sealed as `sealed`) to `dir` atomically. When the promise
 * resolves (with `fsync`), the file is durable under its final name.
 */
export async function writeSnapshotFile(dir: string, snap: Snapshot, sealed: Uint8Array, fsync: boolean): Promise<string> {
  const name = snapshotFileName(snap.metadata);
  const tmp = join(dir, `${name}.tmp`);
  const head = encodeSnapshotHeader(snap.metadata, sealed);
  // Owner-only, like the WAL: a snapshot is the whole application state.
  const fh = await open(tmp, 'w', 0o600);
  try {
    await writeAll(fh, head, 0);
    await writeAll(fh, sealed, head.length);
    if (fsync) await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await syncDir(dir, fsync);
  return name;
}

/** Reads and checks the snapshot file for `ref`; `openData` unseals its data. */
export async function readSnapshotFile(dir: string, ref: SnapshotRef, openData: (sealed: Uint8Array) => Uint8Array): Promise<Snapshot> {
  const file = join(dir, snapshotFileName(ref));
  const { metadata, sealed } = decodeSnapshotFile(file, await readFile(file));
  if (metadata.index !== ref.index || metadata.term !== ref.term) {
    throw new SnapshotCorruptError(file, `holds index ${metadata.index} term ${metadata.term}`);
  }
  let data: Uint8Array;
  try {
    data = openData(sealed);
  } catch (err) {
    throw new SnapshotCorruptError(file, 'cannot open sealed data', { cause: err });
  }
  return { metadata, data };
}

/** Snapshot files in `dir` by name; temp files of interrupted writes are reported apart. */
export async function listSnapshotFiles(dir: string): Promise<{ snaps: (SnapshotRef & { name: string })[]; temps: string[] }> {
  const snaps: (SnapshotRef & { name: string })[] = [];
  const temps: string[] = [];
  for (const name of await readdir(dir)) {
    const m = NAME.exec(name);
    if (m) snaps.push({ name, term: parseInt(m[1], 16), index: parseInt(m[2], 16) });
    else if (name.endsWith('.snap.tmp')) temps.push(name);
  }
  snaps.sort((a, b) => a.index - b.index);
  return { snaps, temps };
}

/** Deletes the snapshot files (and temp files) not in `keep`; fsyncs the directory if any went. */
export async function pruneSnapshotFiles(dir: string, keep: SnapshotRef[], fsync: boolean): Promise<string[]> {
  const keepNames = new Set(keep.map(snapshotFileName));
  const { snaps, temps } = await listSnapshotFiles(dir);
  const gone = [...snaps.map((s) => s.name).filter((n) => !keepNames.has(n)), ...temps];
  for (const name of gone) await unlink(join(dir, name));
  if (gone.length > 0) await syncDir(dir, fsync);
  return gone;
}
