/**
 * `docker diff`: what a container changed in its root, read from its overlay upper
 * directory. An entry of the upper dir is an add (Kind 1) unless an image layer below
 * has that path (a modify, Kind 0; a directory only when its mode or time differ, as
 * Docker's overlay differ skips directories that are only parents of a change); a
 * whiteout (character device 0:0) is a delete (Kind 2). The upper dir is walked by
 * descriptors with O_NOFOLLOW and the layers through the scope walk, so a link the
 * container made never leads the walk out of them. The deletions an opaque directory
 * hides in the layers below are not listed (Node cannot read the overlay xattr).
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, type Stats } from 'node:fs';
import { at, ScopedRoot } from './fd-scope.ts';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;

/** Docker's FilesystemChange: `Kind` 0 modified, 1 added, 2 deleted. */
export interface Change { Path: string; Kind: 0 | 1 | 2 }

/** Octal escapes of /proc/self/mountinfo (`\040` for a space). */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The lower dirs (top-most first) of the overlay mounted at `target`, from mountinfo's text. Pure. */
export function overlayLowers(mountinfo: string, target: string): string[] | undefined {
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0 || unescape(f[4] ?? '') !== target || f[sep + 1] !== 'overlay') continue;
    const opt = (f[sep + 3] ?? '').split(',').find((o) => o.startsWith('lowerdir='));
    if (!opt) return undefined;
    // Colons inside a path are escaped as `\:` by the kernel.
    return opt.slice('lowerdir='.length).split(/(?<!\\):/).map((p) => unescape(p).replace(/\\:/g, ':'));
  }
  return undefined;
}

/** The changes of upper dir `upper` over the layers `lowers` (top-most first), sorted by path. */
export function overlayChanges(upper: string, lowers: string[]): Change[] {
  const roots = lowers.map((l) => new ScopedRoot(l));
  const below = (path: string): Stats | undefined => {
    for (const r of roots) {
      try { const l = r.locate(path); l.release(); return l.stats; } catch { /* not in this layer */ }
    }
    return undefined;
  };
  const out: Change[] = [];
  const walk = (fd: number, prefix: string) => {
    for (const name of readdirSync(at(fd)).sort()) {
      const path = `${prefix}/${name}`;
      let st: Stats;
      try { st = lstatSync(at(fd, name)); } catch { continue; }
      if (st.isCharacterDevice() && st.rdev === 0) { out.push({ Path: path, Kind: 2 }); continue; }
      const old = below(path);
      if (!old) out.push({ Path: path, Kind: 1 });
      else if (!(st.isDirectory() && old.isDirectory() && st.mode === old.mode && Math.floor(st.mtimeMs) === Math.floor(old.mtimeMs))) out.push({ Path: path, Kind: 0 });
      if (!st.isDirectory()) continue;
      let sub: number;
      try { sub = openSync(at(fd, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW); } catch { continue; }
      try { walk(sub, path); } finally { closeSync(sub); }
    }
  };
  const top = openSync(upper, O_RDONLY | O_DIRECTORY);
  try { walk(top, ''); } finally { closeSync(top); }
  return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}
