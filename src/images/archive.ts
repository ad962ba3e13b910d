/**
 * The outer tarball of `image load`, unpacked by our own reader rather than `tar`:
 * only regular files and directories are written (under a fresh temp dir, never
 * over a link, since none is ever made on disk); symbolic and hard links are kept
 * as a table and resolved by `resolve`, component by component, inside the archive
 * (as `docker save` uses them: `<id>/layer.tar -> ../<other>/layer.tar`). A device or
 * FIFO entry refuses the archive, and a path that resolves outside the archive, to a
 * missing file or through more than 40 links is refused, so nothing `load` reads can
 * be a host file or block.
 */
import { closeSync, constants, createReadStream, lstatSync, mkdirSync, openSync, readSync, fstatSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BadArchiveError, ImageError } from './errors.ts';
import { TarReader } from './tar-reader.ts';

/** An unpacked archive: its files on disk, its links in memory. */
export interface Archive {
  dir: string;
  /** Regular files written, by archive path (components joined by `/`). */
  files: Set<string>;
  /** Links by archive path: symlink targets are relative to the link's folder, hard link targets to the archive root. */
  links: Map<string, { hard: boolean; target: string }>;
}

const MAX_HOPS = 40;

function parts(path: string, what: string): string[] {
  if (path.startsWith('/')) throw new BadArchiveError(`${what}: absolute path ${JSON.stringify(path)}`);
  const p = path.split('/').filter((c) => c !== '' && c !== '.');
  if (p.includes('..')) throw new BadArchiveError(`${what}: path ${JSON.stringify(path)} has a .. component`);
  return p;
}

/** Removes what the archive had at `key` (and below it), on disk and in the tables. */
function forget(a: Archive, key: string): void {
  rmSync(join(a.dir, key), { recursive: true, force: true });
  for (const set of [a.files, a.links]) for (const k of set.keys()) if (k === key || k.startsWith(`${key}/`)) set.delete(k);
}

/** Unpacks `tarPath` into `dir` (which must exist and be empty). Throws BadArchiveError. */
export async function unpackArchive(tarPath: string, dir: string): Promise<Archive> {
  const a: Archive = { dir, files: new Set(), links: new Map() };
  const reader = new TarReader();
  let fd: number | undefined;
  try {
    for await (const chunk of createReadStream(tarPath)) {
      for (const ev of reader.push(chunk as Buffer)) {
        if (ev.kind === 'data') { writeSync(fd!, ev.raw); continue; }
        if (ev.kind !== 'entry') continue;
        if (fd !== undefined) { closeSync(fd); fd = undefined; }
        const e = ev.entry;
        const p = parts(e.path, 'entry');
        if (p.length === 0) continue;
        const key = p.join('/');
        for (let i = 1; i < p.length; i++) {
          const prefix = p.slice(0, i).join('/');
          if (a.links.has(prefix) || a.files.has(prefix)) throw new BadArchiveError(`entry ${JSON.stringify(e.path)} lies under ${JSON.stringify(prefix)}, which is not a directory`);
        }
        if (e.type === '3' || e.type === '4' || e.type === '6') throw new BadArchiveError(`entry ${JSON.stringify(e.path)} is a ${e.type === '6' ? 'FIFO' : 'device'}: an image archive holds only files, directories and links`);
        const path = join(dir, key);
        const isDir = lstatSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
        if (e.type === '5' && isDir) continue; // a directory named again keeps what it holds
        forget(a, key);
        if (e.type === '5') { mkdirSync(path, { recursive: true }); continue; }
        if (e.type === '1' || e.type === '2') { a.links.set(key, { hard: e.type === '1', target: e.linkname }); continue; }
        mkdirSync(join(path, '..'), { recursive: true });
        fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        a.files.add(key);
      }
    }
    reader.end();
  } catch (e) {
    if (e instanceof ImageError) throw e instanceof BadArchiveError ? e : new BadArchiveError(e.message.replace(/^images: /, ''));
    throw new BadArchiveError(`not a tar archive: ${(e as Error).message}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return a;
}

/**
 * The on-disk path of the regular file at archive path `rel`, following the
 * archive's links inside the archive only. Throws BadArchiveError naming `rel`.
 */
export function resolve(a: Archive, rel: string): string {
  if (typeof rel !== 'string') throw new BadArchiveError(`bad path ${JSON.stringify(rel)}`);
  const stack: string[] = [];
  let queue = rel.split('/');
  let hops = 0;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (!stack.length) throw new BadArchiveError(`${JSON.stringify(rel)} leads outside the archive`);
      stack.pop();
      continue;
    }
    stack.push(c);
    const link = a.links.get(stack.join('/'));
    if (!link) continue;
    if (++hops > MAX_HOPS) throw new BadArchiveError(`${JSON.stringify(rel)}: too many links`);
    if (link.target.startsWith('/')) throw new BadArchiveError(`${JSON.stringify(rel)} is a link to ${JSON.stringify(link.target)}, outside the archive`);
    stack.pop();
    if (link.hard) stack.length = 0;
    queue = [...link.target.split('/'), ...queue];
  }
  const key = stack.join('/');
  if (!a.files.has(key)) throw new BadArchiveError(`missing file ${rel}`);
  const path = join(a.dir, key);
  if (!lstatSync(path).isFile()) throw new Error(`images: assertion: ${path} is not a file we wrote`);
  return path;
}

/** True when the archive has an entry (file or link) at `rel`; `resolve` then says whether it is usable. */
export function hasEntry(a: Archive, rel: string): boolean {
  const key = rel.split('/').filter((c) => c !== '' && c !== '.').join('/');
  return a.files.has(key) || a.links.has(key);
}

/** Reads the file at `rel` (resolved as `resolve` does), at most `maxBytes`. */
export function readCapped(a: Archive, rel: string, maxBytes: number): Buffer {
  const fd = openSync(resolve(a, rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new BadArchiveError(`${rel}: ${size} bytes, at most ${maxBytes}`);
    const buf = Buffer.alloc(size);
    let n = 0;
    for (let r; n < size && (r = readSync(fd, buf, n, size - n, null)) > 0;) n += r;
    return buf.subarray(0, n);
  } finally { closeSync(fd); }
}
