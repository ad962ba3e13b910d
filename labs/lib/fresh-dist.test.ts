import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtSourceMtime, distIsStale, ensureFreshDist } from './fresh-dist.ts';

test('dist is stale when a source is newer than the build saw, or when it was never built', () => {
  assert.is(distIsStale(2000, 1000), true);
  assert.is(distIsStale(1000, 1000), false);
  assert.is(distIsStale(500, 1000), false);
  assert.is(distIsStale(500, undefined), true);
});

test('build-info without a usable time counts as no build', () => {
  const root = mkdtempSync(join(tmpdir(), 'fresh-dist-'));
  try {
    assert.is(builtSourceMtime(root), undefined);
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/build-info.json'), '{"builtAt":"x"}');
    assert.is(builtSourceMtime(root), undefined);
    writeFileSync(join(root, 'dist/build-info.json'), '{"newestSourceMtimeMs":1234.5}');
    assert.is(builtSourceMtime(root), 1234.5);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a fresh dist is not rebuilt and SHOAL_RUN=dist is pinned for the children', () => {
  const root = mkdtempSync(join(tmpdir(), 'fresh-dist-'));
  try {
    writeFileSync(join(root, 'package.json'), '{}');
    mkdirSync(join(root, 'dist'));
    // Built "in the future": no source can be newer, so nothing is built (no npm in root).
    writeFileSync(join(root, 'dist/build-info.json'), JSON.stringify({ newestSourceMtimeMs: Date.now() + 1e9 }));
    const env: NodeJS.ProcessEnv = {};
    const lines: string[] = [];
    ensureFreshDist(root, env, (l) => lines.push(l));
    assert.is(env.SHOAL_RUN, 'dist');
    assert.equal(lines, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Runs `body` in a temp root whose dist is not built and whose build:dist runs `script`, with SHOAL_RUN unset. */
function withStaleRoot(script: string, body: (root: string, env: NodeJS.ProcessEnv, lines: string[]) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'fresh-dist-'));
  try {
    // A package.json of our own: the real build is not run by a unit test.
    writeFileSync(join(root, 'package.json'), JSON.stringify({ scripts: { 'build:dist': script } }));
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.SHOAL_RUN;
    body(root, env, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('a stale dist whose build fails stops the bench with a clear error', () => {
  withStaleRoot('exit 3', (root, env, lines) => {
    assert.throws(() => ensureFreshDist(root, env, (l) => lines.push(l)), /build:dist failed \(exit 3\)/);
    assert.is(lines.length, 1);
    assert.match(lines[0], /building it/);
    assert.is(env.SHOAL_RUN, undefined);
  });
});

test('a stale dist is built, with one line logged, then pinned', () => {
  withStaleRoot('exit 0', (root, env, lines) => {
    ensureFreshDist(root, env, (l) => lines.push(l));
    assert.is(lines.length, 1);
    assert.is(env.SHOAL_RUN, 'dist');
  });
});

test('SHOAL_RUN=source is kept and an unknown SHOAL_RUN is refused', () => {
  const env: NodeJS.ProcessEnv = { SHOAL_RUN: 'source' };
  ensureFreshDist('/nonexistent', env, () => assert.unreachable('no build'));
  assert.is(env.SHOAL_RUN, 'source');
  assert.throws(() => ensureFreshDist('/nonexistent', { SHOAL_RUN: 'dsit' }), /SHOAL_RUN=dsit is not understood/);
});

test.run();
