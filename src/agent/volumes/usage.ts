/**
 * Disk usage of a volume's data, for `docker system df -v` and the bytes `volume prune`
 * reclaims: a walk that never follows a link and never leaves the volume's filesystem.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes of regular files under `dir` (each hard-linked inode once); -1 when it cannot be read. */
export async function dirSize(dir: string): Promise<number> {
  let root;
  try { root = await lstat(dir); } catch { return -1; }
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try { names = await readdir(d); } catch { return; }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try { st = await lstat(p); } catch { continue; }
      if (st.dev !== root.dev) continue;
      if (st.isDirectory()) await walk(p);
      else if (st.isFile()) {
        const key = `${st.ino}`;
        if (st.nlink > 1) { if (seen.has(key)) continue; seen.add(key); }
        total += st.size;
      }
    }
  };
  await walk(dir);
  return total;
}
