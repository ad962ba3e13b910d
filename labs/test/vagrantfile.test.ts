// The Vagrantfile, as far as this machine allows (VMs cannot boot here): Ruby syntax,
// `vagrant validate` for several node/manager counts, and bad settings refused with a
// message naming them. Provisioning itself (scripts/install.sh, scripts/vagrant-swarm.sh)
// is run in lab hosts by labs/install.lab.test.ts. ruby and vagrant come from
// scripts/setup.sh; without them these tests fail (a skip would hide a broken setup).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { REPO_ROOT } from '../lib/daemon.ts';

const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const haveRuby = has('ruby');
const haveVagrant = has('vagrant');

/** `vagrant validate` of the repo's Vagrantfile with `env` (its .vagrant dir kept out of the tree). */
function validate(env: Record<string, string>) {
  const dot = mkdtempSync(join(tmpdir(), 'shoal-vagrant-'));
  try {
    // The SHOAL_* of the caller's shell must not leak into the cases.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SHOAL_')));
    return spawnSync('vagrant', ['validate', '--ignore-provider'], {
      cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000,
      env: { ...base, VAGRANT_DOTFILE_PATH: dot, VAGRANT_CHECKPOINT_DISABLE: '1', ...env },
    });
  } finally {
    rmSync(dot, { recursive: true, force: true });
  }
}

test('the Vagrantfile is valid Ruby', () => {
  assert.ok(haveRuby, 'ruby is not installed: scripts/setup.sh installs it');
  const r = spawnSync('ruby', ['-c', join(REPO_ROOT, 'Vagrantfile')], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
});

test('vagrant validate passes for the default 3 nodes and for 5 nodes with 3 managers', () => {
  assert.ok(haveVagrant, 'vagrant is not installed: scripts/setup.sh installs it');
  const three = validate({});
  assert.is(three.status, 0, three.stderr + three.stdout);
  assert.match(three.stdout, /shoal3/);
  assert.not.match(three.stdout, /shoal4/);
  const five = validate({ SHOAL_NODES: '5', SHOAL_MANAGERS: '3' });
  assert.is(five.status, 0, five.stderr + five.stdout);
  assert.match(five.stdout, /shoal5/);
});

test('bad settings are refused naming the variable', () => {
  assert.ok(haveVagrant, 'vagrant is not installed: scripts/setup.sh installs it');
  const cases: [Record<string, string>, RegExp][] = [
    [{ SHOAL_NODES: '0' }, /SHOAL_NODES must be a number from 1 to 9/],
    [{ SHOAL_NODES: '2', SHOAL_MANAGERS: '3' }, /SHOAL_MANAGERS must be a number from 1 to 2/],
  ];
  for (const [env, re] of cases) {
    const r = validate(env);
    assert.is.not(r.status, 0, JSON.stringify(env));
    assert.match(r.stderr + r.stdout, re);
  }
});

test.run();
