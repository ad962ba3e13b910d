// Benches start their daemons through bin/shoal.js, which runs dist/ only while no source
// is newer than it, else the sources through tsx: not what a user runs. So a
// bench builds dist first when it is stale, and pins SHOAL_RUN=dist for its children, so
// an edit to a source during a long bench cannot switch later daemons to the sources.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newestSourceMtime } from '../../bin/freshness.js';

/**
 * Whether dist/ must be rebuilt: it is missing (no build-info, `builtMs` undefined) or some
 * source is newer than the newest source the build saw. Same rule as bin/shoal.js.
 */
export function distIsStale(newestSourceMs: number, builtMs: number | undefined): boolean {
  return builtMs === undefined || newestSourceMs > builtMs;
}

/** The newest source time recorded in dist/build-info.json; undefined when dist is not built. */
export function builtSourceMtime(root: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(root, 'dist/build-info.json'), 'utf8');
  } catch {
    return undefined;
  }
  const ms = (JSON.parse(text) as { newestSourceMtimeMs?: unknown }).newestSourceMtimeMs;
  // A build-info without the field is as good as no build: rebuild rather than guess.
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : undefined;
}

/**
 * Builds dist/ (`npm run build:dist`, no type-check) when it is stale, logging one line
 * when it does, then sets SHOAL_RUN=dist in `env` (the bench's children inherit it).
 * SHOAL_RUN=source, set by the caller, is kept: the sources were asked for. Any other
 * value is refused, and a failed build throws: a bench on a half-built dist measures nothing.
 */
export function ensureFreshDist(root: string, env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = console.error): void {
  const asked = env.SHOAL_RUN;
  if (asked === 'source') return;
  if (asked !== undefined && asked !== '' && asked !== 'dist') {
    throw new Error(`bench: SHOAL_RUN=${asked} is not understood (use dist or source)`);
  }
  if (distIsStale(newestSourceMtime(root), builtSourceMtime(root))) {
    log('bench: dist/ is older than the sources: building it (npm run build:dist)');
    const r = spawnSync('npm', ['run', '--silent', 'build:dist'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.error) throw new Error(`bench: cannot run npm run build:dist: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`bench: npm run build:dist failed (exit ${r.status ?? r.signal}); fix the build or set SHOAL_RUN=source`);
  }
  env.SHOAL_RUN = 'dist';
}
