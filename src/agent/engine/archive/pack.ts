/**
 * Tar streams of a container's files, read only through the scope walk: `docker cp
 * CONTAINER:PATH` (the entry named as the path's last component, a directory with
 * everything under it) and `docker export` (the whole root, names relative to it).
 * Links are stored as links, never followed; every directory and file is opened from
 * its parent's descriptor with O_NOFOLLOW, so nothing outside the root is ever read.
 * Sockets are skipped, as Docker's archiver does.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { read } from 'node:fs';
import { promisify } from 'node:util';
import { at, type ScopedRoot } from './fd-scope.ts';
import { END_OF_ARCHIVE, padding, tarHeader, type TarHeaderInfo } from './tar-header.ts';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
const readAsync = promisify(read);
const CHUNK = 256 * 1024;

function meta(st: Stats): Pick<TarHeaderInfo, 'mode' | 'uid' | 'gid' | 'mtime'> {
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
}

async function* fileData(fd: number, size: number): AsyncGenerator<Buffer> {
  let left = size;
  while (left > 0) {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
    const { bytesRead } = await readAsync(fd, buf, 0, buf.length, null);
    // A file that shrank while read: the header promised `size` bytes, so zeros fill it.
    if (bytesRead === 0) { yield Buffer.alloc(left); return; }
    left -= bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** One entry (and, for a directory, everything below it) of directory `dir`'s child `name`. */
async function* entry(dir: number, name: string, tarName: string): AsyncGenerator<Buffer> {
  const p = at(dir, name);
  let st: Stats;
  try { st = lstatSync(p); } catch { return; } // gone meanwhile
  if (st.isDirectory()) {
    let fd: number;
    try { fd = openSync(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW); } catch { return; }
    try {
      yield tarHeader({ name: `${tarName}/`, type: '5', size: 0, ...meta(st) });
      for (const child of readdirSync(at(fd)).sort()) yield* entry(fd, child, `${tarName}/${child}`);
    } finally {
      closeSync(fd);
    }
  } else if (st.isFile()) {
    let fd: number;
    try { fd = openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK); } catch { return; }
    try {
      const fst = fstatSync(fd);
      if (!fst.isFile()) return;
      yield tarHeader({ name: tarName, type: '0', size: fst.size, ...meta(fst) });
      yield* fileData(fd, fst.size);
      yield padding(fst.size);
    } finally {
      closeSync(fd);
    }
  } else if (st.isSymbolicLink()) {
    let target: string;
    try { target = readlinkSync(p); } catch { return; }
    yield tarHeader({ name: tarName, type: '2', size: 0, linkname: target, ...meta(st) });
  } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
    const type = st.isFIFO() ? '6' : st.isCharacterDevice() ? '3' : '4';
    yield tarHeader({ name: tarName, type, size: 0, devmajor: Math.floor(st.rdev / 256) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00), ...meta(st) });
  }
}

/**
 * The tar stream of `path` in `root` (Docker's GET archive): its last component not
 * followed; entries named from that component (`etc/`, `etc/passwd`; `./…` for `/.`).
 * Throws (ENOENT, ScopeError) before the first byte when the path is not there.
 */
export function packPath(root: ScopedRoot, path: string): AsyncGenerator<Buffer> {
  const l = root.locate(path);
  const name = l.base;
  return (async function* () {
    try {
      yield* entry(l.dir, name, name);
      yield END_OF_ARCHIVE;
    } finally {
      l.release();
    }
  })();
}

/** The tar stream of everything under `root` (Docker's export), names relative to it. */
export async function* packTree(root: ScopedRoot): AsyncGenerator<Buffer> {
  const { fd } = root.dir('/');
  try {
    for (const child of readdirSync(at(fd)).sort()) yield* entry(fd, child, child);
    yield END_OF_ARCHIVE;
  } finally {
    closeSync(fd);
  }
}
