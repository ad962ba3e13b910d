import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgumentError } from '../api/errors.ts';
import { MemoryStore } from './memory-store.ts';
import { decodeActions, encodeActions } from './codec.ts';
import type { FieldCipher } from './codec.ts';
import { seededRandom } from './ids.ts';
import type { Proposer } from './actions.ts';
import { ManualWallClock, RecordingProposer, aCluster, aConfig, aNetwork, aNode, aSecret, aService, aTask } from './testing.ts';

/** A toy deterministic cipher (XOR with a byte and reversed), enough to see sealing happen. */
const xor: FieldCipher = {
  seal: (p) => Uint8Array.from(p, (b) => b ^ 0x5a).reverse(),
  open: (s) => Uint8Array.from(s, (b) => b ^ 0x5a).reverse(),
};

/** A workload touching every kind, with updates, deletes and one refused transaction. */
async function workload(store: MemoryStore, clock: ManualWallClock): Promise<void> {
  await store.update((tx) => {
    tx.create('cluster', aCluster());
    tx.create('node', aNode('m1', 'manager'));
    tx.create('node', aNode('w1'));
    tx.create('network', aNetwork('web'));
    tx.create('secret', aSecret('db-password', 'hunter2'));
    tx.create('config', aConfig('nginx.conf', 'server {}'));
  });
  clock.advance(1000);
  const { value: svc } = await store.update((tx) => tx.create('service', aService('web', 2)));
  for (let slot = 1; slot <= 3; slot++) {
    clock.advance(10);
    await store.update((tx) => tx.create('task', aTask(svc.ID, slot, slot % 2 ? 'n1' : 'n2')));
  }
  await store.update((tx) => tx.create('service', aService('web'))).catch(() => undefined);
  // Two writers from one read: the second is refused when applied (and is in the log).
  const read = store.view((tx) => tx.get('service', svc.ID))!;
  const bump = (n: number) => store.update((tx) => tx.update('service', { ...structuredClone(read), Spec: { ...read.Spec, Mode: { Replicated: { Replicas: n } } } }));
  await Promise.allSettled([bump(3), bump(4)]);
  await store.update((tx) => {
    const t = tx.find('task', { serviceId: svc.ID }).find((x) => x.Slot === 3)!;
    tx.update('task', { ...structuredClone(t), DesiredState: 'shutdown' });
  });
  await store.update((tx) => tx.delete('config', tx.getByName('config', 'nginx.conf')!.ID));
}

function newStore(seed: number, opts: { cipher?: FieldCipher; proposer?: (s: MemoryStore) => Proposer } = {}) {
  const clock = new ManualWallClock();
  return { clock, store: new MemoryStore({ clock, rand: seededRandom(seed), ...opts }) };
}

test('snapshot and restore round-trip exactly', async () => {
  const { store, clock } = newStore(1);
  await workload(store, clock);
  const snap = store.snapshot();
  const copy = new MemoryStore();
  copy.restore(snap);
  assert.equal(copy.snapshot(), snap);
  assert.is(copy.lastIndex, store.lastIndex);
  const all = (s: MemoryStore) => s.view((tx) => ({ tasks: tx.list('task'), secrets: tx.list('secret'), cluster: tx.list('cluster') }));
  assert.equal(all(copy), all(store));
  // Indexes are rebuilt too.
  const svcId = copy.view((tx) => tx.getByName('service', 'web')!.ID);
  assert.is(copy.view((tx) => tx.find('task', { serviceId: svcId, desiredState: 'running' }).length), 2);
});

test('the same seed and clock give the same IDs and the same snapshot bytes', async () => {
  const a = newStore(42);
  const b = newStore(42);
  await workload(a.store, a.clock);
  await workload(b.store, b.clock);
  assert.equal(a.store.snapshot(), b.store.snapshot());
  const c = newStore(43);
  await workload(c.store, c.clock);
  assert.not.equal(c.store.snapshot(), a.store.snapshot());
});

test('applying the same committed log on two stores yields identical snapshots', async () => {
  let log!: RecordingProposer;
  const leader = newStore(3, { proposer: (s) => (log = new RecordingProposer(s)) });
  await workload(leader.store, leader.clock);
  assert.is(log.log.length, 9);
  // A follower with another random source and clock: neither matters when applying.
  const follower = new MemoryStore({ clock: { now: () => 0 }, rand: seededRandom(999) });
  const followerEvents: string[] = [];
  follower.subscribe((e) => followerEvents.push(e.kind));
  let refused = 0;
  for (const { actions, index } of log.log) {
    const wire = decodeActions(encodeActions(actions, xor), xor);
    try {
      follower.applyCommitted(wire, index);
    } catch {
      refused++;
    }
  }
  assert.is(refused, 1);
  assert.equal(follower.snapshot(), leader.store.snapshot());
  assert.ok(followerEvents.includes('task.updated'));
});

test('a cipher seals secret data and the CA key in snapshots', async () => {
  const { store, clock } = newStore(5, { cipher: xor });
  await workload(store, clock);
  const snap = store.snapshot();
  const text = Buffer.from(snap).toString('utf8');
  assert.not.ok(text.includes(Buffer.from('hunter2').toString('base64')));
  assert.not.ok(text.includes('BEGIN PRIVATE KEY'));
  const copy = new MemoryStore({ cipher: xor });
  copy.restore(snap);
  const secret = copy.view((tx) => tx.getByName('secret', 'db-password'))!;
  assert.is(Buffer.from(secret.Spec.Data!, 'base64').toString(), 'hunter2');
  assert.match(copy.view((tx) => tx.list('cluster')[0].RootCA!.CAKey), /BEGIN PRIVATE KEY/);
  assert.equal(copy.snapshot(), snap);
  assert.throws(() => new MemoryStore().restore(snap), /sealed and no cipher/);
});

test('restore refuses malformed snapshots and leaves the store unchanged', async () => {
  const { store, clock } = newStore(6);
  await workload(store, clock);
  const before = store.snapshot();
  const bad = (s: string) => new TextEncoder().encode(s);
  assert.throws(() => store.restore(bad('not json')), (e: Error) => e instanceof InvalidArgumentError);
  assert.throws(() => store.restore(bad('{"format":"other"}')), /not a store snapshot/);
  const dup = JSON.parse(Buffer.from(before).toString());
  dup.tables.service.push({ ...dup.tables.service[0], ID: 'z'.repeat(25) });
  assert.throws(() => store.restore(bad(JSON.stringify(dup))), /bad service: service web already exists/);
  assert.equal(store.snapshot(), before);
});

test('an empty store snapshots and restores', () => {
  const s = new MemoryStore();
  const snap = s.snapshot();
  const t = new MemoryStore();
  t.restore(snap);
  assert.is(t.lastIndex, 0);
  assert.equal(t.snapshot(), snap);
});

test('decodeActions refuses malformed transactions', () => {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  assert.throws(() => decodeActions(enc({ nope: 1 })), /not a store transaction/);
  assert.throws(() => decodeActions(enc({ actions: [{ action: 'drop', kind: 'task', object: {} }] })), /malformed action/);
  assert.throws(() => decodeActions(enc({ actions: [{ action: 'create', kind: 'volume', object: {} }] })), /malformed action/);
  assert.throws(() => decodeActions(encodeActions([], xor)), /sealed/);
});

test.run();
