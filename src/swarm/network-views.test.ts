import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryStore } from '../store/index.ts';
import { aService } from '../store/testing.ts';
import { NetworkViews } from './network-views.ts';
import type { NodeNetworkView } from '../wire/network-view-types.ts';

const turn = () => new Promise<void>((r) => setImmediate(r));

/** A store that counts its read views (each recomputation of the views is one). */
function countingStore(): { store: MemoryStore; views: () => number } {
  const store = new MemoryStore();
  let n = 0;
  const view = store.view.bind(store);
  store.view = ((fn: Parameters<MemoryStore['view']>[0]) => (n++, view(fn))) as MemoryStore['view'];
  return { store, views: () => n };
}

test('sessions arriving between commits and the next turn share one recomputation, and each gets its view', async () => {
  const { store, views } = countingStore();
  const nv = new NetworkViews(store);
  const got = new Map<string, NodeNetworkView[]>();
  const sub = (id: string) => nv.subscribe(id, (v) => got.set(id, [...(got.get(id) ?? []), v]));
  sub('n0');
  await turn();
  assert.is(got.get('n0')?.length, 1, 'the first session got its view');
  const before = views();
  for (let i = 1; i <= 3; i++) {
    await store.update((tx) => void tx.create('service', aService(`s${i}`)));
    sub(`n${i}`);
  }
  // The old publisher recomputed synchronously for each of the three (each found the views dirty).
  assert.is(views() - before, 0, 'nothing computed before the turn ends');
  await turn();
  assert.is(views() - before, 1, 'one computation for all of them');
  for (let i = 1; i <= 3; i++) assert.is(got.get(`n${i}`)?.length, 1, `n${i} got its view`);
  nv.close();
});

test('a session arriving while the views are up to date gets its view at once', async () => {
  const { store, views } = countingStore();
  const nv = new NetworkViews(store);
  nv.subscribe('n0', () => {});
  await turn();
  const before = views();
  const got: NodeNetworkView[] = [];
  nv.subscribe('n1', (v) => got.push(v));
  assert.is(got.length, 1);
  assert.is(views(), before);
  nv.close();
});

test.run();
