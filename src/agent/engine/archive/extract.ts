/**
 * `docker cp SRC CONTAINER:DIR`: a tar stream extracted into a directory of a container,
 * every path resolved through the scope walk (links on the way resolve inside the
 * container's root, never out of it). As Docker's `Unpack`: an entry whose name leaves
 * the extraction directory (`..`) is refused, and so is a symbolic link whose relative
 * target leaves it; an absolute link target is stored as it is (it means the container's
 * own path) and a later entry through it lands inside the container. Files are created
 * with O_EXCL|O_NOFOLLOW after the old entry is unlinked, so no write follows a link.
 * Device and FIFO entries are refused (shoal does not make device nodes in containers).
 */
import { closeSync, constants, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, mkdirSync, openSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { TarReader, TarFormatError, type TarEntryHeader } from '../../../images/tar-reader.ts';
import { at, type ScopedRoot } from './fd-scope.ts';
import { splitScoped } from './scope.ts';

const { O_RDONLY, O_DIRECTORY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/** An archive request that cannot be honoured; `status` is the HTTP status Docker answers. */
export class ArchiveError extends Error {
  override readonly name = 'ArchiveError';
  readonly retryable = false;
  constructor(message: string, readonly status: 400 | 403 | 404 | 409 | 500 = 400, opts?: { cause?: unknown }) { super(message, opts); }
}

/** Options of PUT archive (Docker's query parameters). */
export interface ExtractOptions {
  /** `noOverwriteDirNonDir`: refuse to replace a directory with a non-directory (or back). */
  noOverwriteDirNonDir?: boolean;
  /** `copyUIDGID`: owners from the archive (else root, the container's user 0). */
  copyUidGid?: boolean;
}

/** The components of an entry name inside the extraction dir; refused when it leaves it. */
export function entryParts(name: string): string[] {
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (!out.length) throw new ArchiveError(`archive: entry ${JSON.stringify(name)} would be extracted outside ${'the destination directory'}`);
      out.pop();
    } else out.push(c);
  }
  return out;
}

/** Whether a symlink entry at `parts` with `target` stays inside the extraction dir (Docker's check). */
export function linkStaysInside(parts: string[], target: string): boolean {
  if (target.startsWith('/')) return true;
  let depth = parts.length - 1;
  for (const c of target.split('/')) {
    if (c === '..') { if (--depth < 0) return false; } else if (c !== '' && c !== '.') depth++;
  }
  return true;
}

function octalField(h: Buffer, off: number, len: number): number {
  const s = h.subarray(off, off + len).toString('latin1').replace(/[\0 ]+$/, '').replace(/^ +/, '');
  return /^[0-7]+$/.test(s) ? parseInt(s, 8) : 0;
}

/** Owner and time of an entry: PAX records over the ustar header's fields. */
function ownerAndTime(e: TarEntryHeader, raw: Buffer): { uid: number; gid: number; mtime: number } {
  const h = raw.subarray(raw.length - 512);
  const num = (k: string, off: number, len: number) => (e.pax[k] !== undefined && Number.isFinite(Number(e.pax[k])) ? Number(e.pax[k]) : octalField(h, off, len));
  return { uid: num('uid', 108, 8), gid: num('gid', 116, 8), mtime: num('mtime', 136, 12) };
}

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

/**
 * Extracts `input` into directory `dirPath` of `root`. Throws ArchiveError (404: the
 * directory is missing; 400: not a directory, a bad or hostile archive; 403: read-only).
 */
export async function extractInto(root: ScopedRoot, dirPath: string, input: AsyncIterable<Buffer>, opts: ExtractOptions = {}): Promise<{ entries: number }> {
  let dest: { fd: number; path: string };
  try { dest = root.dir(dirPath); } catch (err) {
    const c = (err as { code?: string }).code;
    if (c === 'ENOENT') throw new ArchiveError(`Could not find the file ${dirPath} in container`, 404, { cause: err });
    if (c === 'ENOTDIR') throw new ArchiveError('extraction point is not a directory', 400, { cause: err });
    throw err;
  }
  const reader = new TarReader();
  let file: { fd: number; mtime: number } | undefined;
  let entries = 0;
  const closeFile = () => {
    if (!file) return;
    try { futimesSync(file.fd, file.mtime, file.mtime); } finally { closeSync(file.fd); file = undefined; }
  };
  const inScope = (parts: string[]) => `${dest.path}/${parts.join('/')}`;
  try {
    for await (const chunk of input) {
      for (const ev of reader.push(chunk)) {
        if (ev.kind === 'data') { if (file) writeSync(file.fd, ev.raw); continue; }
        if (ev.kind !== 'entry') continue;
        closeFile();
        entries++;
        file = place(root, ev.entry, ev.raw, entryParts(ev.entry.path), inScope, opts);
      }
    }
    closeFile();
    reader.end();
  } catch (err) {
    closeFile();
    if (err instanceof TarFormatError) throw new ArchiveError(err.message.replace(/^images: /, 'archive: '), 400, { cause: err });
    if (code(err) === 'EROFS') throw new ArchiveError('Permission denied, the volume or container rootfs is marked as read-only', 403, { cause: err });
    if (['ENOTDIR', 'ENOENT', 'EXDEV', 'ELOOP', 'EEXIST'].includes(code(err) ?? '')) throw new ArchiveError(`archive: ${(err as Error).message.replace(/^archive: /, '')}`, 400, { cause: err });
    throw err;
  } finally {
    closeSync(dest.fd);
  }
  return { entries };
}

/** Creates one entry; returns the open file its data goes to (regular files). */
function place(root: ScopedRoot, e: TarEntryHeader, raw: Buffer, parts: string[], inScope: (p: string[]) => string, opts: ExtractOptions): { fd: number; mtime: number } | undefined {
  if (!parts.length) {
    if (e.type === '5') return undefined; // `./`: the extraction dir itself
    throw new ArchiveError(`archive: entry ${JSON.stringify(e.path)} names the destination directory itself`);
  }
  if (e.type === '3' || e.type === '4' || e.type === '6') throw new ArchiveError(`archive: entry ${JSON.stringify(e.path)}: device and FIFO entries are not supported by shoal`);
  if (e.type === '2' && !linkStaysInside(parts, e.linkname)) throw new ArchiveError(`archive: invalid symlink ${JSON.stringify(e.path)} -> ${JSON.stringify(e.linkname)}: it leaves the destination directory`);
  const { dir, base } = splitScoped(inScope(parts));
  const parent = root.dir(dir, { create: true });
  const p = at(parent.fd, base);
  try {
    let old: ReturnType<typeof lstatSync> | undefined;
    try { old = lstatSync(p); } catch (err) { if (code(err) !== 'ENOENT') throw err; }
    const own = ownerAndTime(e, raw);
    const isDir = e.type === '5';
    if (old && old.isDirectory() !== isDir) {
      if (old.isDirectory()) throw new ArchiveError(`cannot overwrite directory ${JSON.stringify(inScope(parts))} with non-directory ${JSON.stringify(e.path)}`);
      if (opts.noOverwriteDirNonDir) throw new ArchiveError(`cannot overwrite non-directory ${JSON.stringify(inScope(parts))} with directory ${JSON.stringify(e.path)}`);
    }
    if (old && !old.isDirectory()) unlinkSync(p);
    const mode = e.mode & 0o7777;
    switch (e.type) {
      case '5': {
        if (!old || !old.isDirectory()) mkdirSync(p, 0o700);
        // Through a descriptor opened with O_NOFOLLOW: chmod by name would follow a link swapped in meanwhile.
        const fd = openSync(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        try {
          fchmodSync(fd, mode);
          if (opts.copyUidGid) fchownSync(fd, own.uid, own.gid);
        } finally {
          closeSync(fd);
        }
        return undefined;
      }
      case '2':
        symlinkSync(e.linkname, p);
        if (opts.copyUidGid) lchownSync(p, own.uid, own.gid);
        return undefined;
      case '1': {
        const target = entryParts(e.linkname);
        if (!target.length) throw new ArchiveError(`archive: invalid hardlink ${JSON.stringify(e.path)} -> ${JSON.stringify(e.linkname)}`);
        const t = root.locate(inScope(target));
        try {
          if (t.stats.isDirectory()) throw new ArchiveError(`archive: hardlink ${JSON.stringify(e.path)} to a directory`);
          linkSync(at(t.dir, t.base), p);
        } finally {
          t.release();
        }
        return undefined;
      }
      default: {
        const fd = openSync(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        fchmodSync(fd, mode);
        if (opts.copyUidGid) fchownSync(fd, own.uid, own.gid);
        return { fd, mtime: own.mtime };
      }
    }
  } finally {
    closeSync(parent.fd);
  }
}
