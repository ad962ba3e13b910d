import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VipTable } from './vip-table.ts';
import { MemoryNft } from './nft.ts';
import { NftError, LbSpecError } from './errors.ts';
import { renderDelete, renderReplace, renderUpdate, type VipService } from './ruleset.ts';

const web = (backends: string[]): VipService => ({ name: 'web', vip: '10.0.0.2', backends });

test('sync applies a whole table first, then only what changed, and only when the table changes', async () => {
  const nft = new MemoryNft();
  const t = new VipTable(nft);
  await t.sync([web(['10.0.0.5', '10.0.0.6'])]);
  await t.sync([web(['10.0.0.6', '10.0.0.5'])]);
  await t.sync([web(['10.0.0.5'])]);
  assert.equal(nft.applied, [renderReplace([web(['10.0.0.5', '10.0.0.6'])]), renderUpdate([web(['10.0.0.5', '10.0.0.6'])], [web(['10.0.0.5'])])]);
  assert.not.match(nft.applied[1], 'delete table', 'the hook chains stay');
});

test('a runner that replaces whole from services gets the first table and the one after a failure; text otherwise', async () => {
  const nft = new MemoryNft();
  const whole: VipService[][] = [];
  let failWhole = false;
  const runner = Object.assign(nft, { replaceVips: async (services: readonly VipService[]) => { if (failWhole) throw new NftError('refused', ''); whole.push([...services]); } });
  const t = new VipTable(runner);
  await t.sync([web(['10.0.0.5'])]);
  await t.sync([web(['10.0.0.5', '10.0.0.6'])]);
  assert.equal(whole, [[web(['10.0.0.5'])]], 'the first table from its services');
  assert.equal(nft.applied, [renderUpdate([web(['10.0.0.5'])], [web(['10.0.0.5', '10.0.0.6'])])], 'then text updates');
  nft.fail = new NftError('refused', '');
  await t.sync([web(['10.0.0.7'])]).catch(() => {});
  nft.fail = undefined;
  failWhole = true;
  await t.sync([web(['10.0.0.8'])]).then(() => assert.unreachable('the whole replacement failed'), () => {});
  failWhole = false;
  await t.sync([web(['10.0.0.9'])]);
  assert.equal(whole.at(-1), [web(['10.0.0.9'])], 'after failures, whole again from the services');
});

test('a runner that updates from services gets every change after the first table', async () => {
  const nft = new MemoryNft();
  const updates: [VipService[], VipService[]][] = [];
  const runner = Object.assign(nft, { updateVips: async (applied: readonly VipService[], services: readonly VipService[]) => { updates.push([[...applied], [...services]]); } });
  const t = new VipTable(runner);
  await t.sync([web(['10.0.0.5'])]);
  await t.sync([web(['10.0.0.5', '10.0.0.6'])]);
  await t.sync([web(['10.0.0.6'])]);
  assert.equal(nft.applied, [renderReplace([web(['10.0.0.5'])])], 'text for the whole table only');
  assert.equal(updates, [[[web(['10.0.0.5'])], [web(['10.0.0.5', '10.0.0.6'])]], [[web(['10.0.0.5', '10.0.0.6'])], [web(['10.0.0.6'])]]]);
});

test('an update refills the maps and keeps, adds and deletes per-port chains by name', async () => {
  const api = (backends: string[]): VipService => ({ name: 'api', vip: '10.0.0.3', ports: [{ protocol: 'tcp', port: 80 }], backends });
  const text = renderUpdate([web(['10.0.0.5']), api(['10.0.0.7'])], [web(['10.0.0.5', '10.0.0.6']), api([])]);
  assert.equal(text.trim().split('\n'), [
    'flush map ip shoal-lb vip_ports', 'flush map ip shoal-lb vip_any', 'flush set ip shoal-lb vip_none', 'flush set ip shoal-lb vip_gone',
    'delete chain ip shoal-lb s1_api_tcp_80',
    'flush chain ip shoal-lb s0_web', 'add rule ip shoal-lb s0_web dnat to numgen random mod 2 map { 0 : 10.0.0.5, 1 : 10.0.0.6 }',
    'add element ip shoal-lb vip_any { 10.0.0.2 : goto s0_web }', 'add element ip shoal-lb vip_none { 10.0.0.3 }',
  ]);
});

test('after a failed apply the next sync replaces the whole table', async () => {
  const nft = new MemoryNft();
  const t = new VipTable(nft);
  await t.sync([web(['10.0.0.5'])]);
  nft.fail = new NftError('nft -f failed', 'Error: boom');
  await t.sync([web(['10.0.0.6'])]).catch(() => {});
  await t.sync([web(['10.0.0.6'])]);
  assert.equal(nft.applied, [renderReplace([web(['10.0.0.5'])]), renderReplace([web(['10.0.0.6'])])]);
});

test('a burst of syncs ends with the newest state applied', async () => {
  const nft = new MemoryNft();
  const t = new VipTable(nft);
  const all = [t.sync([web(['10.0.0.5'])]), t.sync([web(['10.0.0.6'])]), t.sync([web(['10.0.0.7'])])];
  await Promise.all(all);
  assert.is(nft.applied.at(-1), renderReplace([web(['10.0.0.7'])]));
});

test('a failed apply rejects, and the next sync applies again', async () => {
  const nft = new MemoryNft();
  const t = new VipTable(nft);
  nft.fail = new NftError('nft -f failed', 'Error: boom');
  try { await t.sync([web(['10.0.0.5'])]); assert.unreachable(); } catch (e) { assert.instance(e, NftError); }
  await t.sync([web(['10.0.0.5'])]);
  assert.equal(nft.applied, [renderReplace([web(['10.0.0.5'])])]);
});

test('a bad spec throws before anything is applied; remove deletes the table', async () => {
  const nft = new MemoryNft();
  const t = new VipTable(nft, { table: 'lb1' });
  assert.throws(() => t.sync([web(['nope'])]), (e: Error) => e instanceof LbSpecError);
  await t.remove();
  assert.equal(nft.applied, [renderDelete({ table: 'lb1' })]);
});

test.run();
