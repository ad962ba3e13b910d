/**
 * The files of this node's containers as Docker's engine serves them: path stat and
 * tar of a path (`docker cp` out), extraction into a directory (`docker cp` in),
 * `docker diff` and `docker export`. A running container is reached through
 * `/proc/PID/root` — its own mount namespace, so its volumes and tmpfs mounts are
 * there as the container sees them (Docker mounts them for a copy likewise); a stopped
 * one through its overlay rootfs while that is still mounted. Every path goes through
 * the scope walk (fd-scope.ts): nothing outside the container's root is read or written.
 */
import { readFileSync } from 'node:fs';
import { ContainerConflictError, type NodeEngine } from '../engine.ts';
import type { ContainerView } from '../view.ts';
import { ScopedRoot, type PathStat } from './fd-scope.ts';
import { packPath, packTree } from './pack.ts';
import { ArchiveError, extractInto, type ExtractOptions } from './extract.ts';
import { overlayChanges, overlayLowers, type Change } from './changes.ts';
import { ScopeError } from './scope.ts';

/** Whether `dir` is a mount point of this process (the stopped container's rootfs still mounted). */
function mounted(dir: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);
  } catch { return false; }
}

/** Turns a lookup failure of `path` into Docker's 404 (missing) or 400. */
function notFound(err: unknown, path: string, ref: string): never {
  const c = (err as { code?: string }).code;
  if (c === 'ENOENT' || c === 'ENOTDIR') throw new ArchiveError(`Could not find the file ${path} in container ${ref}`, 404, { cause: err });
  if (err instanceof ScopeError) throw new ArchiveError(err.message, 400, { cause: err });
  throw err;
}

/** File access to this node's containers (task and standalone, whatever `engine.find` knows). */
export class ContainerFiles {
  constructor(private readonly engine: NodeEngine) {}

  private view(ref: string): ContainerView {
    return this.engine.find(ref).view;
  }

  /** The root a copy goes through: the running container's own view, else its mounted rootfs. */
  private root(ref: string): ScopedRoot {
    const v = this.view(ref);
    if (v.state === 'running' && v.record?.pid) return new ScopedRoot(`/proc/${v.record.pid}/root`);
    if (mounted(v.paths.rootfs)) return new ScopedRoot(v.paths.rootfs);
    throw new ContainerConflictError(`container ${v.cid}: its root filesystem is not mounted (the container is being removed)`);
  }

  /** Docker's stat of `path` (HEAD archive). ArchiveError 404 when it is not there. */
  stat(ref: string, path: string): PathStat {
    const root = this.root(ref);
    try { return root.stat(path); } catch (err) { return notFound(err, path, ref); }
  }

  /** The stat and tar stream of `path` (GET archive); checked before the first byte. */
  get(ref: string, path: string): { stat: PathStat; tar: AsyncGenerator<Buffer> } {
    const root = this.root(ref);
    try {
      const stat = root.stat(path);
      return { stat, tar: packPath(root, path) };
    } catch (err) { return notFound(err, path, ref); }
  }

  /** Extracts the tar `input` into directory `path` (PUT archive). */
  async put(ref: string, path: string, input: AsyncIterable<Buffer>, opts: ExtractOptions): Promise<void> {
    const root = this.root(ref);
    await extractInto(root, path, input, opts);
  }

  /** `docker diff`: the container's changes over its image. */
  changes(ref: string): Change[] {
    const v = this.view(ref);
    const lowers = overlayLowers(readFileSync('/proc/self/mountinfo', 'utf8'), v.paths.rootfs);
    if (!lowers) throw new ContainerConflictError(`container ${v.cid}: its root filesystem is not mounted`);
    return overlayChanges(v.paths.upper, lowers);
  }

  /** `docker export`: a tar of the container's root filesystem (its image and changes, no volumes). */
  export(ref: string): AsyncGenerator<Buffer> {
    const v = this.view(ref);
    if (!mounted(v.paths.rootfs)) throw new ContainerConflictError(`container ${v.cid}: its root filesystem is not mounted`);
    return packTree(new ScopedRoot(v.paths.rootfs));
  }
}
