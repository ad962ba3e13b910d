/**
 * Content-addressed blobs under `<root>/blobs/sha256/<hex>`. A blob enters only
 * through `ingest`, which hashes while writing to a temp file and renames into
 * place only when the digest matches, so a blob file is always what its name says.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestMismatchError } from './errors.ts';
import { checkDigest, digestHex } from './digest.ts';

/** `sha256:<hex>` of bytes. */
export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}


/** The blob store of one data root. */
export class ContentStore {
  constructor(readonly root: string) {
    mkdirSync(join(root, 'blobs', 'sha256'), { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
  }

  get tmpDir(): string { return join(this.root, 'tmp'); }

  /** Path of blob `digest`; throws InvalidDigestError for a malformed digest. */
  path(digest: string): string { return join(this.root, 'blobs', 'sha256', digestHex(digest, 'blob')); }

  has(digest: string): boolean { return existsSync(this.path(digest)); }

  size(digest: string): number { return statSync(this.path(digest)).size; }

  read(digest: string): Buffer { return readFileSync(this.path(digest)); }

  readJson<T>(digest: string): T { return JSON.parse(this.read(digest).toString('utf8')) as T; }

  /** A fresh temp path inside the store (same file system, so rename is atomic). */
  tempPath(prefix = 'ingest'): string { return join(this.tmpDir, `${prefix}-${randomBytes(6).toString('hex')}`); }

  /**
   * Writes `source` as blob `digest`, verifying sha256 (and `size` when given).
   * `onBytes` sees the running byte count. Idempotent for present blobs.
   */
  async ingest(digest: string, source: Readable | AsyncIterable<Uint8Array> | Buffer, opts: { size?: number; onBytes?: (n: number) => void; what?: string } = {}): Promise<void> {
    checkDigest(digest, opts.what ?? 'blob');
    if (this.has(digest)) { if (!(source instanceof Buffer)) (source as Readable).destroy?.(); return; }
    const tmp = this.tempPath();
    const hash = createHash('sha256');
    let n = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        n += chunk.length;
        // Stop at once rather than fill the disk with a blob longer than its descriptor.
        if (opts.size !== undefined && n > opts.size) { cb(new DigestMismatchError(`${opts.what ?? 'blob'} size`, String(opts.size), `more than ${opts.size}`)); return; }
        hash.update(chunk); opts.onBytes?.(n); cb(null, chunk);
      },
    });
    try {
      const src = source instanceof Buffer ? Readable.from([source]) : Readable.from(source as AsyncIterable<Uint8Array>);
      await pipeline(src, counter, createWriteStream(tmp));
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== digest) throw new DigestMismatchError(opts.what ?? 'blob', digest, actual);
      if (opts.size !== undefined && opts.size !== n) throw new DigestMismatchError(`${opts.what ?? 'blob'} size`, String(opts.size), String(n));
      renameSync(tmp, this.path(digest));
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** Deletes blobs not in `keep`; returns bytes freed. */
  gc(keep: Set<string>): number {
    let freed = 0;
    const dir = join(this.root, 'blobs', 'sha256');
    for (const hex of readdirSync(dir)) {
      if (keep.has(`sha256:${hex}`)) continue;
      try { freed += statSync(join(dir, hex)).size; } catch { /* gone */ }
      rmSync(join(dir, hex), { force: true });
    }
    return freed;
  }
}
