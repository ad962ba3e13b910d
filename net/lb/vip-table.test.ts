import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VipTable } from './vip-table.ts';
import { MemoryNft } from './nft.ts';
import { NftError, LbSpecError } from './errors.ts';
import { renderDelete, renderReplace, type VipService } from './ruleset.ts';

const web = (backends: string[]): VipService => ({ name: 'web', vip: '10.0.0.2', backends });

test('sync applies a whole-table replacement, and only when the table changes', async () => {
  const nft = new MemoryNft();
  const t = new VipTable(nft);
  await t.sync([web(['10.0.0.5', '10.0.0.6'])]);
  await t.sync([web(['10.0.0.6', '10.0.0.5'])]);
  await t.sync([web(['10.0.0.5'])]);
  assert.equal(nft.applied, [renderReplace([web(['10.0.0.5', '10.0.0.6'])]), renderReplace([web(['10.0.0.5'])])]);
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
