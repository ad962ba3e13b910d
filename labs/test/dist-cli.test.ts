// The built CLI (dist/, `npm run build`) runs on its own: oclif finds its commands from the
// manifest in dist/, a command runs from its bundle, and bin/shoal.js tells a fresh build
// from a stale one. Builds dist/ first when it is missing or older than the sources.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './daemon-process.ts';
import { newestSourceMtime } from '../../bin/freshness.js';
import { commandFiles } from '../../scripts/build.ts';

const DIST_SHOAL = join(REPO_ROOT, 'dist/shoal.js');

function distFresh(): boolean {
  try {
    const info = JSON.parse(readFileSync(join(REPO_ROOT, 'dist/build-info.json'), 'utf8')) as { newestSourceMtimeMs: number };
    return existsSync(DIST_SHOAL) && newestSourceMtime(REPO_ROOT) <= info.newestSourceMtimeMs;
  } catch {
    return false;
  }
}

function shoal(...args: string[]) {
  return spawnSync(process.execPath, [DIST_SHOAL, ...args], { encoding: 'utf8', env: { ...process.env, SHOAL_HOST: '' }, timeout: 60_000 });
}

test.before(() => {
  if (distFresh()) return;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/build.ts'), '--no-typecheck'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.is(r.status, 0, `build failed: ${r.stdout}${r.stderr}`);
});

test('node dist/shoal.js version prints the client part and says the daemon is not there', () => {
  const r = shoal('version', '-H', 'unix:///nonexistent/shoal.sock');
  assert.match(r.stdout, /Client: Shoal\n Version:\s+\d+\.\d+\.\d+/);
  assert.is(r.status, 1);
  assert.match(r.stderr, /cannot connect to the Shoal daemon/);
});

test('oclif finds every command from the manifest in dist/', () => {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'dist/oclif.manifest.json'), 'utf8')) as { commands: Record<string, { relativePath: string[] }> };
  const listed = [...commandFiles(readFileSync(join(REPO_ROOT, 'cli/commands/index.ts'), 'utf8')).keys()].sort();
  assert.equal(Object.keys(manifest.commands).sort(), listed);
  for (const [id, c] of Object.entries(manifest.commands)) assert.ok(existsSync(join(REPO_ROOT, 'dist', ...c.relativePath)), `${id}: ${c.relativePath.join('/')}`);
  const help = shoal('service', 'ls', '--help');
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /\$ shoal service ls/);
  const top = shoal('--help');
  assert.match(top.stdout, /swarm\s+Manage the swarm/);
});

test('a source file newer than the build makes it stale', () => {
  const root = mkdtempSync(join(tmpdir(), 'shoal-fresh-'));
  try {
    mkdirSync(join(root, 'src/x'), { recursive: true });
    writeFileSync(join(root, 'package.json'), '{}');
    writeFileSync(join(root, 'src/x/a.ts'), '');
    writeFileSync(join(root, 'src/x/a.test.ts'), '');
    utimesSync(join(root, 'package.json'), 1000, 1000);
    utimesSync(join(root, 'src/x/a.ts'), 2000, 2000);
    utimesSync(join(root, 'src/x/a.test.ts'), 9000, 9000); // tests are not built
    assert.is(newestSourceMtime(root), 2_000_000);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('commandFiles: ids and files from the explicit list', () => {
  const src = "import A from './a.ts';\nimport B from './t/b.ts';\nexport const COMMANDS = {\n  a: A,\n  't:b': B,\n};\n";
  assert.equal([...commandFiles(src)], [['a', 'cli/commands/a.ts'], ['t:b', 'cli/commands/t/b.ts']]);
});

test.run();
