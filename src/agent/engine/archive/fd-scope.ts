/**
 * The scope walk (scope.ts) on the real file system: a handle is an open directory file
 * descriptor, and a child is looked up as `/proc/self/fd/N/NAME` — the kernel jumps to
 * the directory N names (wherever it is now) and looks NAME up there, which is `openat`
 * from Node. Directories are opened with O_NOFOLLOW, so a link swapped in between the
 * lookup and the open fails the open instead of being followed. Also Docker's path
 * stat (`X-Docker-Container-Path-Stat`) with Go's FileMode bits.
 */
import { closeSync, constants, lstatSync, mkdirSync, openSync, readlinkSync, type Stats } from 'node:fs';
import { followInScope, resolveDir, splitScoped, type Lookup, type ScopeOps } from './scope.ts';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;

/** The path of `name` inside the directory open as `fd` (or of the directory itself). */
export function at(fd: number, name?: string): string {
  // `/.`: the directory itself; `/proc/self/fd/N` alone would be the magic link.
  return `/proc/self/fd/${fd}/${name ?? '.'}`;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** ScopeOps over directory file descriptors, rooted at `rootPath` (trusted: opened as given). */
export function fdOps(rootPath: string): ScopeOps<number> {
  const child = (dir: number, name: string, tries = 0): Lookup<number> => {
    const p = at(dir, name);
    let st: Stats;
    try { st = lstatSync(p); } catch (err) {
      if (errno(err) === 'ENOENT') return { kind: 'missing' };
      throw err;
    }
    if (st.isSymbolicLink()) {
      try { return { kind: 'link', target: readlinkSync(p) }; } catch (err) {
        if (tries < 3 && (errno(err) === 'EINVAL' || errno(err) === 'ENOENT')) return child(dir, name, tries + 1);
        throw err;
      }
    }
    if (!st.isDirectory()) return { kind: 'other' };
    try { return { kind: 'dir', handle: openSync(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) }; } catch (err) {
      // Changed between lstat and open (a process in the container raced us): look again.
      if (tries < 3 && ['ELOOP', 'ENOTDIR', 'ENOENT'].includes(errno(err) ?? '')) return child(dir, name, tries + 1);
      throw err;
    }
  };
  return {
    root: () => openSync(rootPath, O_RDONLY | O_DIRECTORY),
    child,
    mkdir: (dir, name) => { try { mkdirSync(at(dir, name), 0o755); } catch (err) { if (errno(err) !== 'EEXIST') throw err; } },
    release: (fd) => closeSync(fd),
  };
}

/** Docker's ContainerPathStat (the header's JSON). `mode` is Go's os.FileMode. */
export interface PathStat { name: string; size: number; mode: number; mtime: string; linkTarget: string }

/** Go's os.FileMode of an lstat result: permission bits plus Go's type and special bits. */
export function goFileMode(st: Pick<Stats, 'mode'>): number {
  const m = st.mode;
  let g = m & 0o777;
  const type = m & 0o170000;
  if (type === 0o040000) g |= 2 ** 31; // ModeDir
  else if (type === 0o120000) g |= 2 ** 27; // ModeSymlink
  else if (type === 0o060000) g |= 2 ** 26; // ModeDevice
  else if (type === 0o020000) g |= 2 ** 26 + 2 ** 21; // ModeDevice | ModeCharDevice
  else if (type === 0o010000) g |= 2 ** 25; // ModeNamedPipe
  else if (type === 0o140000) g |= 2 ** 24; // ModeSocket
  if (m & 0o4000) g += 2 ** 23; // ModeSetuid
  if (m & 0o2000) g += 2 ** 22; // ModeSetgid
  if (m & 0o1000) g += 2 ** 20; // ModeSticky
  return g >>> 0;
}

/** Whether Go's FileMode `m` is a directory / a link. */
export const isGoDir = (m: number) => m >= 2 ** 31;

/** A path of the container, located: its parent open as `dir`, its last component `base`. Close with `release`. */
export interface Located { dir: number; base: string; parentPath: string; abs: string; stats: Stats; release(): void }

/** A container root, reached only through the scope walk. */
export class ScopedRoot {
  readonly ops: ScopeOps<number>;

  constructor(readonly rootPath: string) {
    this.ops = fdOps(rootPath);
  }

  /** The directory `path` names (links followed in scope); `create`: made when missing. Close the fd. */
  dir(path: string, opts: { create?: boolean } = {}): { fd: number; path: string } {
    const r = resolveDir(this.ops, path, opts);
    return { fd: r.handle, path: r.path };
  }

  /** `path` with lstat semantics: the parent resolved in scope, the last component not followed. Throws ENOENT as Node does. */
  locate(path: string): Located {
    const { dir, base } = splitScoped(path);
    const parent = this.dir(dir);
    try {
      const stats = lstatSync(at(parent.fd, base));
      const abs = base === '.' ? parent.path : parent.path === '/' ? `/${base}` : `${parent.path}/${base}`;
      return { dir: parent.fd, base, parentPath: parent.path, abs, stats, release: () => closeSync(parent.fd) };
    } catch (err) {
      closeSync(parent.fd);
      throw err;
    }
  }

  /** Docker's path stat of `path` (a link's `linkTarget` is where it leads, in scope). */
  stat(path: string): PathStat {
    const l = this.locate(path);
    try {
      const link = l.stats.isSymbolicLink() ? followInScope(this.ops, path) : '';
      const name = splitScoped(path).base === '.' ? (l.abs.split('/').pop() || '/') : l.base;
      return { name, size: l.stats.size, mode: goFileMode(l.stats), mtime: l.stats.mtime.toISOString(), linkTarget: link };
    } finally {
      l.release();
    }
  }
}
