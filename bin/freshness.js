// When the built CLI (dist/) is older than its sources: the newest modification time
// among the files a build reads (tests excluded). Plain JavaScript: bin/shoal.js runs it
// before any loader is registered. About 700 stats, a few milliseconds.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const DIRS = ['cli', 'src', 'net', 'raft/src'];
const SOURCE = /\.(ts|mts|js|mjs|json)$/;

/** The newest mtime (ms) of the sources under `root` that a build bundles, and package.json. */
export function newestSourceMtime(root) {
  let newest = statSync(join(root, 'package.json')).mtimeMs;
  const walk = (dir) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && !e.name.startsWith('.')) walk(join(dir, e.name));
      } else if (SOURCE.test(e.name) && !e.name.endsWith('.test.ts')) {
        const t = statSync(join(dir, e.name)).mtimeMs;
        if (t > newest) newest = t;
      }
    }
  };
  for (const d of DIRS) walk(join(root, d));
  return newest;
}
