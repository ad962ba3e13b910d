// The node's mesh table: applied only when its text changes, and backends that left
// every published port reset after their drain, by the table's own timer. A manual
// clock; no sleeping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MeshTable, type MeshPort } from './mesh-table.ts';
import { renderMeshReplace, renderMeshUpdate } from './mesh.ts';
import { MemoryNft } from './nft.ts';
import { NftError } from './errors.ts';

const opts = { ingressSubnet: '10.255.0.0/16' };
const web = (backends: string[], extra: Partial<MeshPort> = {}): MeshPort => ({ service: 'web', protocol: 'tcp', published: 8080, target: 80, backends, ...extra });
const api = (backends: string[]): MeshPort => ({ service: 'api', protocol: 'tcp', published: 9090, target: 90, backends });

function manualTimers() {
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  let now = 0;
  return {
    now: () => now,
    setTimer: (ms: number, fn: () => void) => { const t = { at: now + ms, fn, live: true }; timers.push(t); return () => { t.live = false; }; },
    advance(to: number) { now = to; for (const t of timers) if (t.live && t.at <= now) { t.live = false; t.fn(); } },
  };
}
const turn = () => new Promise((r) => setImmediate(r));

test('the same ports apply once; a change replaces the table in one transaction', async () => {
  const nft = new MemoryNft();
  const t = new MeshTable(nft);
  await t.sync([web(['10.255.0.5'])], opts);
  await t.sync([web(['10.255.0.5'])], opts);
  assert.equal(nft.applied, [renderMeshReplace([web(['10.255.0.5'])], opts)]);
  assert.ok(t.applied);
  await t.remove();
  assert.is(nft.applied.at(-1), 'table ip shoal-mesh\ndelete table ip shoal-mesh\n');
  assert.not.ok(t.applied);
});

test('a change keeps the hook chains; other hook chains (a new device) replace the whole table', async () => {
  const nft = new MemoryNft();
  const t = new MeshTable(nft);
  await t.sync([web(['10.255.0.5'])], opts);
  await t.sync([web(['10.255.0.5', '10.255.0.6'])], opts);
  assert.is(nft.applied[1], renderMeshUpdate([web(['10.255.0.5'])], opts, [web(['10.255.0.5', '10.255.0.6'])], opts));
  assert.not.match(nft.applied[1], 'delete table');
  const withDev = { ...opts, ingressDevice: 'shoal-ingress' };
  assert.is(renderMeshUpdate([web(['10.255.0.5'])], opts, [web(['10.255.0.5'])], withDev), undefined);
  await t.sync([web(['10.255.0.5', '10.255.0.6'])], withDev);
  assert.is(nft.applied[2], renderMeshReplace([web(['10.255.0.5', '10.255.0.6'])], withDev));
});

test('a failed apply rejects and the next sync applies again', async () => {
  const nft = new MemoryNft();
  const t = new MeshTable(nft);
  nft.fail = new NftError('nft -f failed', 'boom');
  await t.sync([web(['10.255.0.5'])], opts).then(() => assert.unreachable(), (e) => assert.instance(e, NftError));
  await t.sync([web(['10.255.0.5'])], opts);
  assert.is(nft.applied.length, 1);
});

test('a backend that left is reset after its drain, by the timer alone, then forgotten', async () => {
  const clock = manualTimers();
  const nft = new MemoryNft();
  const t = new MeshTable(nft, { now: clock.now, setTimer: clock.setTimer, gone: { afterMs: 30_000, forMs: 60_000 } });
  await t.sync([web(['10.255.0.5', '10.255.0.6'])], opts);
  await t.sync([web(['10.255.0.5'])], opts);
  assert.is(nft.applied.at(-1), renderMeshUpdate([web(['10.255.0.5', '10.255.0.6'])], opts, [web(['10.255.0.5'])], opts), 'a leaving backend may still drain');
  clock.advance(29_999);
  await turn();
  assert.is(nft.applied.length, 2);
  clock.advance(30_000);
  await turn();
  assert.is(nft.applied.at(-1), renderMeshUpdate([web(['10.255.0.5'])], opts, [web(['10.255.0.5'], { gone: ['10.255.0.6'] })], opts));
  assert.match(nft.applied.at(-1)!, 'add element ip shoal-mesh gone { 10.255.0.6 }');
  clock.advance(90_000);
  await turn();
  assert.is(nft.applied.at(-1), renderMeshUpdate([web(['10.255.0.5'], { gone: ['10.255.0.6'] })], opts, [web(['10.255.0.5'])], opts), 'forgotten after forMs');
  assert.is(nft.applied.length, 4);
});

test('a longer stop grace delays the reset; an address still serving another port is never gone', async () => {
  const clock = manualTimers();
  const nft = new MemoryNft();
  const t = new MeshTable(nft, { now: clock.now, setTimer: clock.setTimer, gone: { afterMs: 10, forMs: 1000 } });
  await t.sync([web(['10.255.0.5', '10.255.0.6'], { drainMs: 50 }), api(['10.255.0.7'])], opts);
  await t.sync([web(['10.255.0.5'], { drainMs: 50 }), api(['10.255.0.7', '10.255.0.6'])], opts);
  clock.advance(100);
  await turn();
  assert.not.match(nft.applied.at(-1)!, 'add element ip shoal-mesh gone', 'moved to another port: not gone');
  await t.sync([web(['10.255.0.5'], { drainMs: 50 }), api(['10.255.0.7'])], opts);
  clock.advance(149);
  await turn();
  assert.not.match(nft.applied.at(-1)!, 'gone { 10.255.0.6 }', 'still draining for the longer grace');
  clock.advance(150);
  await turn();
  assert.match(nft.applied.at(-1)!, 'add element ip shoal-mesh gone { 10.255.0.6 }');
});

test('a bad port is refused at once, before anything is queued', () => {
  const t = new MeshTable(new MemoryNft());
  assert.throws(() => t.sync([web(['nope'])], opts), /invalid backend of service "web": "nope"/);
});

test.run();
