// The scale bench's rounds without daemons (a stub measures each round): every N once per
// round in alternating order, a round that throws kept as failed, a round that left
// something behind stops the bench (the rest recorded as not run), an abort stops
// between rounds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run, runScale, type ScaleOptions, type ScaleRun } from './scale.ts';

const base: ScaleOptions = { nodes: [10, 20], tasks: 50, lost: 2, restS: 1, perProc: 5, log: () => {} };

/** A stub round: every figure `n`, failover the round number; records the calls. */
function stub(calls: string[], over: (n: number, k: number) => Partial<ScaleRun> | Error = () => ({})) {
  return async (n: number, _o: ScaleOptions, k: number): Promise<ScaleRun> => {
    calls.push(`${n}/${k}`);
    const o = over(n, k);
    if (o instanceof Error) throw o;
    return {
      nodes: n, round: k, tasks: 50, lost: 2, raft_tick_ms: null, join_ms: n, leader_cpu_pct: n, leader_rss_mb: n, leader_cpu_pct_with_tasks: n,
      heartbeat_lag_ms: n, heartbeat_lag_p50_ms: n, schedule10k_ms: n, mass_loss_detect_ms: n, mass_loss_ms: n, schedule10k_cpu_ms: n,
      mass_loss_cpu_ms: n, failover_ms: k, failover_first_ms: k, load: [0, 0], errors: [], ...o,
    };
  };
}

const perN = (out: Record<string, unknown>) => out.runs as Record<string, unknown>[];

test('every round runs every N once, the order alternating; rounds default to 3', async () => {
  const calls: string[] = [];
  const out = await runScale({ ...base, measure: stub(calls) });
  assert.equal(calls, ['10/1', '20/1', '20/2', '10/2', '10/3', '20/3']);
  assert.is(out.rounds, 3);
  assert.equal([out.nodes, out.failover_ms, out.failover_ms_min, out.failover_ms_max, out.failover_ms_runs], [20, 2, 1, 3, 3]);
  assert.equal((out.settings as Record<string, unknown>).nodes, [10, 20]);
});

test('a round that throws is kept as a failed round; the others still run', async () => {
  const calls: string[] = [];
  const out = await runScale({ ...base, nodes: [10], measure: stub(calls, (_n, k) => (k === 2 ? new Error('scale: daemon m1 exited with 1') : {})) });
  assert.is(calls.length, 3);
  assert.is(out.rounds_failed, 1);
  assert.equal(out.failover_ms_failed, ['round 2: scale: daemon m1 exited with 1']);
  assert.equal([out.failover_ms, out.failover_ms_runs], [2, 2]);
});

test('a round that left something behind stops the bench; the rounds not run are failed, not dropped', async () => {
  const calls: string[] = [];
  const out = await runScale({ ...base, measure: stub(calls, (n, k) => (n === 20 && k === 1 ? { errors: ['left behind: pid 4242'] } : {})) });
  assert.equal(calls, ['10/1', '20/1']);
  const [ten, twenty] = perN(out);
  assert.is(ten.rounds, 3);
  assert.is(ten.rounds_failed, 2);
  assert.match(String((ten.errors as string[])[0]), /^round 2: not run: n=20 round 1 left behind: pid 4242/);
  assert.is(twenty.rounds_failed, 3);
});

test('an abort stops between rounds and says so', async () => {
  const calls: string[] = [];
  const ctl = new AbortController();
  const out = await runScale({ ...base, signal: ctl.signal, measure: stub(calls, (n) => (n === 20 ? (ctl.abort(new Error('bench: aborted by SIGINT')), {}) : {})) });
  assert.equal(calls, ['10/1', '20/1']);
  assert.is(out.aborted, 'bench: aborted by SIGINT');
  assert.is(out.failover_ms_runs, 1);
});

test('the command line refuses an N listed twice, a round count below 1, an unknown flag and a missing value, before starting anything', async () => {
  const refused = (args: string[]) => run(args).then(() => '', (e: Error) => e.message);
  assert.match(await refused(['--nodes', '10,20,10']), /--nodes lists 10 twice/);
  assert.match(await refused(['--nodes', '10', '--rounds', '0']), /--rounds wants a whole number of at least 1/);
  assert.match(await refused(['--nodes', '10', '--rounds', 'two']), /--rounds wants a whole number/);
  assert.match(await refused(['--nodes', '10', '--round', '5']), /unknown argument "--round"/);
  assert.match(await refused(['--nodes', '10', '--profile']), /--profile wants a value/);
  assert.match(await refused(['--keep-logs', '--nodes', '10']), /--keep-logs wants a value/);
});

test.run();
