#!/usr/bin/env node
// The `shoal` command. It runs the built CLI (dist/, made by `npm run build`) when dist is
// there and no source is newer than it; otherwise the TypeScript sources through tsx
// (esbuild, with a compile cache), as in development, so a stale build never runs.
// SHOAL_RUN=source forces the sources, SHOAL_RUN=dist the build.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { newestSourceMtime } from './freshness.js';

const root = new URL('..', import.meta.url);

function distIsFresh() {
  if (process.env.SHOAL_RUN === 'source') return false;
  if (process.env.SHOAL_RUN === 'dist') return true;
  let info;
  try {
    info = JSON.parse(readFileSync(new URL('dist/build-info.json', root), 'utf8'));
  } catch {
    return false;
  }
  // An installed copy (no .git) is not edited in place: its dist is what was built for it.
  if (!existsSync(new URL('.git', root))) return true;
  return newestSourceMtime(fileURLToPath(root)) <= info.newestSourceMtimeMs;
}

if (distIsFresh()) {
  await import('../dist/shoal.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { run } = await import('../cli/main.ts');
  await run(process.argv.slice(2));
}
