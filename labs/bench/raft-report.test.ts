// The raft bench's report of sliced rounds: a round's slices pool into one result, every
// round's puts pool into `p99_ms_cN_pooled` the same way on each side, and the JSON says how
// long and in how many slices each level ran (issue 20: a figure is never read without how
// it was taken).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { raftReport, run, type RaftFigures } from './raft.ts';
import { loadResult, newTally, quantile, type LoadResult } from './raft-load.ts';

/** A round whose puts took 1..n ms (shuffled), over `ms` ms of loading. */
function round(n: number, ms: number, slow = 0): LoadResult {
  const t = newTally();
  for (let i = n; i >= 1; i--) t.lat.push(i + slow);
  t.ms = ms;
  return loadResult(1, t);
}

const side = (rs: LoadResult[]): RaftFigures => ({ load: new Map([[1, rs]]), loadFailed: new Map(), failover: [], failoverFailed: [] });

test('raft-report: a tally pools its slices into one sorted result, writes/s over the time spent loading', () => {
  const t = newTally();
  t.lat.push(3, 1);
  t.ms += 1000;
  t.lat.push(2, 4);
  t.ms += 1000;
  t.errs = 1;
  const r = loadResult(1, t);
  assert.equal(r.lat, [1, 2, 3, 4]);
  assert.equal([r.n, r.errs, r.writesPerSec, r.p50ms, r.p99ms, r.maxms], [4, 1, 2, 3, 4, 4]);
  assert.ok(Number.isNaN(quantile([], 0.99)));
});

test('raft-report: p99 pooled over every round beside the median round, both sides alike; slices and seconds recorded', () => {
  // raft-ts: two quiet rounds and one with a slow tail; etcd: three alike.
  const ours = side([round(100, 1000), round(100, 1200, 50), round(100, 1000)]);
  const etcd = side([round(100, 1000), round(100, 1000), round(100, 1000)]);
  const out = raftReport({ 'raft-ts': ours, etcd }, { rounds: 3, seconds: 3, levels: [1], slicesByLevel: { 1: 3 }, secondsByLevel: { 1: 9 }, etcdVersion: '3.4.23', env: {} });
  assert.equal(out.slices_by_level, { 1: 3 });
  assert.equal(out.seconds_by_level, { 1: 9 });
  assert.match(String(out.order), /slices/);
  assert.is(out.p99_ms_c1, 100);
  assert.is(out.p99_ms_c1_max, 150);
  // 300 puts pooled: the 297th is in the slow round's tail.
  assert.is(out.p99_ms_c1_pooled, 148);
  assert.is(out.etcd_p99_ms_c1_pooled, 100);
  assert.is(out.target_p99_c1, 'met');
  // No latencies kept (an older caller): no pooled figure rather than a wrong one.
  const bare = raftReport({ 'raft-ts': side([{ ...round(10, 1000), lat: undefined }]) }, { rounds: 3, seconds: 3, levels: [1], env: {} });
  assert.is(bare.p99_ms_c1_pooled, null);
  assert.equal(bare.slices_by_level, { 1: 1 });
  assert.is(bare.order, 'rounds alternate which side goes first');
  assert.equal(bare.seconds_by_level, { 1: 3 });
});

test('raft-report: p99 is the median of the rounds\' p99s, not the median-throughput round\'s, and the target reads it', () => {
  // writes/s 100, 90, 110 with p99 150, 100, 120: the median-throughput round has the worst tail.
  const ours = side([round(100, 1000, 50), round(100, 1111), round(100, 909, 20)]);
  const etcd = side([round(100, 1000, 25), round(100, 1000, 25), round(100, 1000, 25)]);
  const out = raftReport({ 'raft-ts': ours, etcd }, { rounds: 3, seconds: 3, levels: [1], etcdVersion: '3.4.23', env: {} });
  assert.is(out.writes_per_s_c1, 100);
  assert.equal([out.p99_ms_c1, out.p99_ms_c1_min, out.p99_ms_c1_max], [120, 100, 150]);
  assert.is(out.p50_ms_c1, 71);
  assert.is(out.etcd_p99_ms_c1, 125);
  assert.is(out.target_p99_c1, 'met');
});

test('flags are refused before anything starts: a bad --rounds, one-client flags without one client', async () => {
  const refused = async (args: string[]) => { try { await run(args); } catch (err) { return (err as Error).message; } return 'accepted'; };
  assert.match(await refused(['--rounds', 'x']), /--rounds must be a whole number/);
  assert.match(await refused(['--conc', '16', '--slices', '2']), /--slices apply to the one-client level, which --conc 16 leaves out/);
  assert.match(await refused(['--conc', '16,64', '--c1-seconds=4']), /--c1-seconds apply/);
});

test.run();
