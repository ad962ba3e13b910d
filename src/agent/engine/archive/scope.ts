/**
 * Path resolution inside a container's root, as Docker's `FollowSymlinkInScope` does it:
 * component by component, with the root as `/`. A symbolic link is read and its target
 * resolved in the same scope (an absolute target starts again at the root, `..` at the
 * root stays there), so no path, however its links point, leads out of the root. The
 * walk holds a handle on every directory it passed and asks `ScopeOps` only for a child
 * of a directory it holds: it never asks for `..`, never follows a link by name. With
 * handles that are open directory file descriptors (fd-scope.ts), a process in the
 * container that swaps a directory for a link while we walk cannot redirect us either.
 * Pure: the file system comes in through `ScopeOps`.
 */

/** What a directory holds under one name. */
export type Lookup<H> =
  | { kind: 'dir'; handle: H }
  | { kind: 'link'; target: string }
  | { kind: 'other' }
  | { kind: 'missing' };

/** The file system the walk reads, by handles on directories. */
export interface ScopeOps<H> {
  /** A new handle on the root. */
  root(): H;
  /** `name` (one component, never `.`, `..` or with `/`) in directory `dir`, not followed when it is a link. */
  child(dir: H, name: string): Lookup<H>;
  /** Makes directory `name` in `dir` (for a walk with `create`). */
  mkdir?(dir: H, name: string): void;
  /** Releases a handle the walk no longer needs. */
  release(h: H): void;
}

/** A path that cannot be resolved; `code` is errno's name. */
export class ScopeError extends Error {
  override readonly name = 'ScopeError';
  readonly retryable = false;
  constructor(readonly code: 'ENOENT' | 'ENOTDIR' | 'ELOOP', readonly path: string) {
    super(`archive: ${code === 'ENOENT' ? 'no such file or directory' : code === 'ENOTDIR' ? 'not a directory' : 'too many levels of symbolic links'}: ${path}`);
  }
}

/** Links followed in one resolution before ELOOP (Docker's maxSymlinkDepth). */
export const MAX_LINKS = 255;

/** `path` cleaned as an absolute path where `..` at the root stays there. */
function lexical(path: string): string {
  const out: string[] = [];
  for (const c of parts(path)) if (c === '..') out.pop(); else out.push(c);
  return '/' + out.join('/');
}

const parts = (p: string) => p.split('/').filter((c) => c !== '' && c !== '.');

/**
 * The directory that `path` names, every link followed in scope. `create`: missing
 * directories are made (as `mkdir -p` would, in scope). The caller releases the handle.
 */
export function resolveDir<H>(ops: ScopeOps<H>, path: string, opts: { create?: boolean } = {}): { handle: H; path: string } {
  const stack: H[] = [ops.root()];
  const names: string[] = [];
  const queue = parts(path);
  let links = 0;
  try {
    while (queue.length) {
      const name = queue.shift()!;
      if (name === '..') {
        if (stack.length > 1) { ops.release(stack.pop()!); names.pop(); }
        continue;
      }
      let found = ops.child(stack[stack.length - 1], name);
      if (found.kind === 'missing' && opts.create && ops.mkdir) {
        ops.mkdir(stack[stack.length - 1], name);
        found = ops.child(stack[stack.length - 1], name);
      }
      switch (found.kind) {
        case 'dir': stack.push(found.handle); names.push(name); break;
        case 'link':
          if (++links > MAX_LINKS) throw new ScopeError('ELOOP', path);
          if (found.target.startsWith('/')) while (stack.length > 1) { ops.release(stack.pop()!); names.pop(); }
          queue.unshift(...parts(found.target));
          break;
        case 'missing': throw new ScopeError('ENOENT', path);
        default: throw new ScopeError('ENOTDIR', path);
      }
    }
  } catch (err) {
    for (const h of stack) ops.release(h);
    throw err;
  }
  const top = stack.pop()!;
  for (const h of stack) ops.release(h);
  return { handle: top, path: '/' + names.join('/') };
}

/**
 * Where `path` leads with its last component followed too (Docker's `linkTarget` of a
 * path stat): the in-scope absolute path, which need not exist. Throws ScopeError when
 * a directory on the way is missing.
 */
export function followInScope<H>(ops: ScopeOps<H>, path: string): string {
  let cur = path;
  for (let links = 0; ; links++) {
    const { dir, base } = splitScoped(cur);
    let parent: { handle: H; path: string };
    try { parent = resolveDir(ops, dir); } catch (err) {
      // Docker's GetResourcePath: a missing directory ends the walk; the rest is taken as written.
      if (err instanceof ScopeError && err.code === 'ENOENT') return lexical(cur);
      throw err;
    }
    try {
      if (base === '.') return parent.path;
      const found = ops.child(parent.handle, base);
      if (found.kind === 'dir') ops.release(found.handle);
      const here = parent.path === '/' ? `/${base}` : `${parent.path}/${base}`;
      if (found.kind !== 'link') return here;
      if (links >= MAX_LINKS) throw new ScopeError('ELOOP', path);
      cur = found.target.startsWith('/') ? found.target : `${parent.path}/${found.target}`;
    } finally {
      ops.release(parent.handle);
    }
  }
}

/**
 * `path` split as Docker's `ResolvePath` does: the parent resolved in scope, the last
 * component kept as it is (a link there is not followed: `lstat` semantics). `base` is
 * `.` for the root itself or a path ending in `/.`, `..` is resolved into the parent.
 */
export function splitScoped(path: string): { dir: string; base: string } {
  const abs = '/' + path.replace(/^\/+/, '');
  const p = abs.replace(/\/+$/, '');
  if (p === '') return { dir: '/', base: '.' };
  if (p.endsWith('/.')) return { dir: p.slice(0, -2) || '/', base: '.' };
  const i = p.lastIndexOf('/');
  const base = p.slice(i + 1);
  if (base === '..') return { dir: p, base: '.' };
  return { dir: p.slice(0, i) || '/', base };
}
