/**
 * Docker's copy-up: a task whose image has content at a volume mount's target fills
 * the volume with it when the volume is empty (unless the mount says `nocopy`), and the
 * volume's root takes the owner and mode of that directory. Runs at prepare time, on the
 * task's rootfs before anything runs in it, so nothing can swap a path underneath; still,
 * a target reached through a symlink is not copied from (the link could point anywhere
 * on the host when resolved from here), and the copy itself keeps links as links.
 */
import { chmodSync, chownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mustRun } from '../exec/cmd.ts';

/** Why copyUp did nothing, or `copied`. */
export type CopyUpResult = 'copied' | 'volume-not-empty' | 'no-source' | 'source-via-symlink';

/**
 * Copies `rootfs` + `target` into `dataPath` if `dataPath` is empty and the source is a
 * real directory reached without symlinks. Rejects when the copy fails.
 */
export async function copyUp(rootfs: string, target: string, dataPath: string): Promise<CopyUpResult> {
  if (readdirSync(dataPath).length > 0) return 'volume-not-empty';
  let path = rootfs;
  for (const part of target.split('/').filter((p) => p && p !== '.')) {
    if (part === '..') return 'source-via-symlink';
    path = join(path, part);
    let st;
    try { st = lstatSync(path); } catch { return 'no-source'; }
    if (st.isSymbolicLink()) return 'source-via-symlink';
    if (!st.isDirectory()) return 'no-source';
  }
  if (path === rootfs) return 'no-source';
  const src = lstatSync(path);
  chownSync(dataPath, src.uid, src.gid);
  chmodSync(dataPath, src.mode & 0o7777);
  if (readdirSync(path).length > 0) await mustRun(['cp', '-a', '--no-dereference', `${path}/.`, `${dataPath}/`]);
  return 'copied';
}
