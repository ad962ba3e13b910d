// The network key controller over a MemoryStore without Raft, with a manual clock: the
// first key at start, a rotation when the period is over (the timer fires with the
// clock moved on, or again after it fired early), a new node only recorded, a removed node
// rotating at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../../store/index.ts';
import { aCluster, aNode } from '../../store/testing.ts';
import { nullLogger } from '../../common/logger.ts';
import { NetworkKeyController } from './controller.ts';

async function settle(until: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !until(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(until(), 'condition reached');
}

async function setup() {
  const store = new MemoryStore();
  await store.update((tx) => {
    tx.create('cluster', aCluster());
    for (const h of ['a', 'b']) tx.create('node', aNode(h));
  });
  const encrypted = () => store.update((tx) => tx.create('network', {
    ID: 'sec', Spec: { Name: 'sec', Labels: {}, Driver: 'overlay', Options: { encrypted: '' }, IPAM: { Driver: 'default', Config: [] }, Attachable: false, Ingress: false, Internal: false, EnableIPv6: false, Scope: 'swarm' },
  } as never));
  let now = 1_000_000;
  let n = 0;
  let reads = 0;
  const ctl = new NetworkKeyController(store, nullLogger, { rotateMs: 5, now: () => { reads++; return now; }, newKey: () => `key-${++n}` });
  const key = () => store.view((tx) => tx.list('cluster')[0].ShoalNetworkKey);
  return { store, ctl, key, encrypted, advance: (ms: number) => { now += ms; }, reads: () => reads };
}

test('no key while the swarm has no encrypted network; the first once it has one, for every node', async () => {
  const { ctl, key, encrypted } = await setup();
  try {
    ctl.start();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.is(key(), undefined, 'no cluster write without an encrypted network');
    await encrypted();
    await settle(() => key() !== undefined);
    assert.is(key()!.Key, 'key-1');
    assert.is(key()!.Generation, 1);
    assert.is(key()!.Nodes.length, 2);
  } finally { ctl.stop(); }
});

test('a joining node is recorded without a rotation; a removed one rotates the key', async () => {
  const { store, ctl, key, encrypted } = await setup();
  try {
    await encrypted();
    ctl.start();
    await settle(() => key() !== undefined);
    const c = await store.update((tx) => tx.create('node', aNode('c')));
    await settle(() => key()!.Nodes.length === 3);
    assert.is(key()!.Key, 'key-1');
    const id = (c.value as { ID: string }).ID;
    await store.update((tx) => tx.delete('node', id));
    await settle(() => key()!.Generation === 2);
    assert.is(key()!.Key, 'key-2');
    assert.not.ok(key()!.Nodes.includes(id));
  } finally { ctl.stop(); }
});

test('the key rotates when its period is over', async () => {
  const { ctl, key, advance, encrypted } = await setup();
  try {
    await encrypted();
    ctl.start();
    await settle(() => key() !== undefined);
    advance(10);
    // The controller's timer (5 ms) fires and finds the period over on the manual clock.
    for (let i = 0; i < 200 && key()!.Generation < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.is(key()!.Generation, 2);
  } finally { ctl.stop(); }
});

/** Waits (5 ms steps, bounded) until the generation is reached; returns the last one. */
async function generation(key: () => { Generation: number } | undefined, want: number): Promise<number> {
  for (let i = 0; i < 200 && (key()?.Generation ?? 0) < want; i++) await new Promise((r) => setTimeout(r, 5));
  return key()?.Generation ?? 0;
}

test('a timer that fires before the clock reaches the due time is armed again', async () => {
  const { ctl, key, advance, encrypted, reads } = await setup();
  try {
    await encrypted();
    ctl.start();
    await settle(() => key() !== undefined);
    // The 5 ms timer fires while the manual clock stands still: the pass finds the period
    // not over (the wall clock behind the timer's monotonic one).
    const before = reads();
    for (let i = 0; i < 200 && reads() === before; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(reads() > before, 'a pass ran on the timer');
    advance(10);
    assert.is(await generation(key, 2), 2, 'the key still rotates');
  } finally { ctl.stop(); }
});

test.run();
