// TaskVipRunner: the shell applies until the task's nft session runs, the session is asked
// to start once (off the apply, through `later`), and applies go through it once it runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryNft, NftError, encodeVipReplace, encodeVipUpdate, renderReplace, renderUpdate, type VipService } from '../../../net/lb/index.ts';
import { TaskVipRunner } from './task-vip-runner.ts';

/** A session that records its applies and starts only when `warm` is called (or fails to). */
function fakeSession(o: { failWarm?: boolean } = {}) {
  const s = {
    pid: undefined as number | undefined,
    applied: [] as string[],
    warms: 0,
    apply: async (text: string) => { s.applied.push(text); },
    warm: async () => { s.warms++; if (o.failWarm) throw new Error('nft missing'); s.pid = 4242; },
  };
  return s;
}

test('the shell applies until the session runs; the session starts once, later; then it applies', async () => {
  const session = fakeSession();
  const cold = new MemoryNft();
  const later: (() => Promise<void>)[] = [];
  const r = new TaskVipRunner({ session, cold, later: (start) => later.push(start) });
  await r.apply('a');
  await r.apply('b');
  assert.equal(cold.applied, ['a', 'b'], 'both through the shell');
  assert.is(later.length, 1, 'one start asked for, not one per apply');
  assert.is(session.warms, 0, 'not started during the apply');
  await later[0]();
  await r.apply('c');
  assert.equal(session.applied, ['c']);
  assert.equal(cold.applied, ['a', 'b']);
});

test('a failed start is asked for again by the next cold apply; a failed cold apply rejects and asks for nothing', async () => {
  const session = fakeSession({ failWarm: true });
  const cold = new MemoryNft();
  const later: (() => Promise<void>)[] = [];
  const r = new TaskVipRunner({ session, cold, later: (start) => later.push(start) });
  await r.apply('a');
  await later[0]().catch(() => {});
  cold.fail = new NftError('refused', '');
  await r.apply('b').then(() => assert.unreachable('should reject'), (err: Error) => assert.match(err.message, /refused/));
  assert.is(later.length, 1, 'nothing asked for by the failed apply');
  await r.apply('c');
  assert.is(later.length, 2, 'asked again');
  assert.equal(cold.applied, ['a', 'c']);
});

test('while the spawner works, the first apply starts the session and goes through it; when it stops working, the shell again', async () => {
  const session = fakeSession();
  session.apply = async (text: string) => { session.applied.push(text); session.pid = 4242; };
  const cold = new MemoryNft();
  const later: (() => Promise<void>)[] = [];
  let working = true;
  const r = new TaskVipRunner({ session, cold, later: (start) => later.push(start), sessionFirst: () => working });
  await r.apply('a');
  assert.equal(session.applied, ['a'], 'the session took the first apply');
  assert.equal(cold.applied, [], 'nothing through the shell');
  assert.is(later.length, 0, 'no later start asked for');
  const other = fakeSession();
  const r2 = new TaskVipRunner({ session: other, cold, later: (start) => later.push(start), sessionFirst: () => working });
  working = false;
  await r2.apply('b');
  assert.equal(cold.applied, ['b'], 'the shell, with the spawner not working');
  assert.is(later.length, 1, 'and the session asked for later');
  await r.apply('c');
  assert.equal(session.applied, ['a', 'c'], 'a running session keeps its applies');
});

test('whole tables and updates go as netlink batches, no session asked for; a failed batch goes as text', async () => {
  const session = fakeSession();
  const cold = new MemoryNft();
  const later: (() => Promise<void>)[] = [];
  const sent: Buffer[] = [];
  let refuse = false;
  const told: [string, number][] = [];
  const r = new TaskVipRunner({
    session, cold, later: (start) => later.push(start),
    netlink: async (batch) => { if (refuse) throw new Error('helper gone'); sent.push(batch.bytes); },
    onNetlinkFailure: (err, n) => told.push([(err as Error).message, n]),
  });
  const a: VipService[] = [{ name: 'web', vip: '10.0.0.2', backends: ['10.0.0.5'] }];
  const b: VipService[] = [{ name: 'web', vip: '10.0.0.2', backends: ['10.0.0.5', '10.0.0.6'] }];
  await r.replaceVips(a, {});
  await r.updateVips(a, b, {});
  assert.equal(sent, [encodeVipReplace(a).bytes, encodeVipUpdate(a, b).bytes]);
  assert.is(r.lastWhole, 'netlink');
  assert.equal(cold.applied, [], 'no text');
  assert.is(later.length, 0, 'no session asked for');
  refuse = true;
  await r.updateVips(b, a, {});
  await r.replaceVips(a, {});
  assert.equal(cold.applied, [renderUpdate(b, a), renderReplace(a)], 'the same changes as text');
  assert.is(r.lastWhole, 'text');
  assert.is(later.length, 1, 'the session asked for once text is needed');
  assert.equal(told, [['helper gone', 1], ['helper gone', 2]], 'each failed batch told, counted');
  assert.is(r.netlinkFailures, 2);
});

test.run();
