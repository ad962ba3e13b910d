// The node's swarm state on disk: saves of it made at once (a session learning the
// managers while --force-new-cluster saves its epoch) all succeed, the last one kept.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeSwarmState, saveSwarmState, type SwarmState } from './swarm-state.ts';

const state = (n: number): SwarmState => ({
  clusterId: 'c1', nodeId: 'n1', role: 'manager', managers: [{ nodeId: 'n1', addr: `127.0.0.1:${2000 + n}` }],
  listenAddr: '0.0.0.0:2377', advertiseAddr: '127.0.0.1:2377',
});

test('saves made at once all succeed, in call order: the last one is kept, no temp file left', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-state-'));
  try {
    await saveSwarmState(dir, state(0));
    // The old writer shared one temp file between them: a rename found it gone (ENOENT).
    await Promise.all([1, 2, 3, 4, 5].map((n) => saveSwarmState(dir, state(n))));
    const saved = JSON.parse(await readFile(join(dir, 'swarm', 'state.json'), 'utf8')) as SwarmState;
    assert.equal(saved.managers, [{ nodeId: 'n1', addr: '127.0.0.1:2005' }]);
    assert.equal((await readdir(join(dir, 'swarm'))).filter((f) => f.endsWith('.tmp')), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a save that writes certificates first is not overtaken by a later save: the last save is kept', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-state-'));
  try {
    const certs = { rootCertPem: 'root', certPem: 'cert', keyPem: 'key' };
    // Ordered per file, the later save's state.json went first, and the earlier one's after it.
    await Promise.all([saveSwarmState(dir, state(1), certs), saveSwarmState(dir, state(2))]);
    const saved = JSON.parse(await readFile(join(dir, 'swarm', 'state.json'), 'utf8')) as SwarmState;
    assert.equal(saved.managers, [{ nodeId: 'n1', addr: '127.0.0.1:2002' }]);
    assert.is(await readFile(join(dir, 'swarm', 'certificates', 'swarm-node.crt'), 'utf8'), 'cert');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a removal made while a save is in flight is not undone by it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-state-'));
  try {
    const certs = { rootCertPem: 'root', certPem: 'cert', keyPem: 'key' };
    await Promise.all([saveSwarmState(dir, state(1), certs), removeSwarmState(dir)]);
    assert.equal(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
