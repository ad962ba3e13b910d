// The scale bench's report over rounds: medians with min/max/runs, failed rounds kept and
// counted, skipped steps not counted as failures, targets read from the medians only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scaleReport, type ScaleRun } from './scale-report.ts';

/** A round of `nodes` with every figure 1 except those given. */
const run = (nodes: number, round: number, over: Partial<ScaleRun> = {}): ScaleRun => ({
  nodes, round, tasks: 10_000, lost: 100, raft_tick_ms: null, join_ms: 1, leader_cpu_pct: 1, leader_rss_mb: 1, leader_cpu_pct_with_tasks: 1,
  heartbeat_lag_ms: 1, heartbeat_lag_p50_ms: 1, schedule10k_ms: 1, mass_loss_detect_ms: 1, mass_loss_ms: 1, schedule10k_cpu_ms: 1,
  mass_loss_cpu_ms: 1, failover_ms: 1, failover_first_ms: 1, load: [0.5, 1], errors: [], ...over,
});

test('each figure is the median of its rounds, min/max/runs beside it; the largest N on top, every N under runs', () => {
  const out = scaleReport([
    run(1000, 1, { failover_ms: 4200, failover_first_ms: 1300 }), run(100, 1, { failover_ms: 800 }),
    run(100, 2, { failover_ms: 900 }), run(1000, 2, { failover_ms: 2750, failover_first_ms: 900 }),
    run(1000, 3, { failover_ms: 2500, failover_first_ms: 1000, load: [0.2, 2.3] }), run(100, 3, { failover_ms: 840 }),
  ]);
  assert.is(out.nodes, 1000);
  assert.equal([out.failover_ms, out.failover_ms_min, out.failover_ms_max, out.failover_ms_runs], [2750, 2500, 4200, 3]);
  assert.equal([out.failover_first_ms, out.failover_first_ms_min, out.failover_first_ms_max], [1000, 900, 1300]);
  assert.not.ok('failover_ms_failed' in out, 'no round failed');
  assert.is(out.rounds_failed, 0);
  assert.equal(out.load, [0.2, 2.3]);
  const runs = out.runs as Record<string, unknown>[];
  assert.equal(runs.map((r) => r.nodes), [100, 1000]);
  assert.equal([runs[0].failover_ms, runs[0].failover_ms_min, runs[0].failover_ms_max], [840, 800, 900]);
  assert.equal((runs[1].per_round as ScaleRun[]).map((r) => r.failover_ms), [4200, 2750, 2500], 'every round kept, in order');
  assert.is((out.targets as Record<string, string>).failover_under_3s, 'met', 'the median, not the slowest round, is read');
  assert.is(out.targets_from, 'medians');
});

test('a failed round is counted and listed, its measured figures still count, its missing ones are failures', () => {
  const out = scaleReport([
    run(50, 1, { failover_ms: 2000 }),
    run(50, 2, { failover_ms: null, failover_first_ms: null, errors: ['scale: timed out waiting for every session on the new leader'] }),
    run(50, 3, { failover_ms: 4000 }),
  ]);
  assert.is(out.rounds_failed, 1);
  assert.equal((out.runs as Record<string, unknown>[])[0].errors, ['round 2: scale: timed out waiting for every session on the new leader']);
  assert.equal([out.failover_ms, out.failover_ms_runs], [3000, 2]);
  assert.equal(out.failover_ms_failed, ['round 2: scale: timed out waiting for every session on the new leader']);
  assert.equal([out.leader_cpu_pct, out.leader_cpu_pct_runs], [1, 3], 'what the failed round did measure is kept');
  assert.is((out.targets as Record<string, string>).failover_under_3s, 'not met', '3000 is not under 3 s');
});

test('a target reads from the median even when one round meets it', () => {
  const out = scaleReport([run(10, 1, { schedule10k_ms: 9000 }), run(10, 2, { schedule10k_ms: 12_000 }), run(10, 3, { schedule10k_ms: 11_000 })]);
  assert.equal([out.schedule10k_ms, out.schedule10k_ms_min], [11_000, 9000]);
  assert.is((out.targets as Record<string, string>).schedule10k_under_10s, 'not met');
});

test('a step skipped on purpose (no nodes to lose) is neither a figure nor a failure', () => {
  const out = scaleReport([run(10, 1, { lost: 0, mass_loss_ms: null, mass_loss_detect_ms: null, mass_loss_cpu_ms: null }), run(10, 2, { lost: 0, mass_loss_ms: null, mass_loss_detect_ms: null, mass_loss_cpu_ms: null })]);
  assert.equal([out.mass_loss_ms, out.mass_loss_ms_runs, out.rounds_failed], [null, 0, 0]);
  assert.not.ok('mass_loss_ms_failed' in out);
  assert.is((out.targets as Record<string, string>).mass_loss_under_5s, 'not measured');
});

test('the settings and the rounds asked for are in the JSON', () => {
  const settings = {
    nodes: [10], rounds: 2, tasks: 50, lost: 2, rest_s: 1, per_proc: 5, raft_tick_ms: null, step_timeout_s: 90, profile_dir: null,
    profile_failover: false, keep_logs: null, daemon_env: { SHOAL_DATA_PLANE: 'off' }, node_version: 'v24.0.0',
  };
  const out = scaleReport([run(10, 1), run(10, 2)], settings);
  assert.is(out.rounds, 2);
  assert.equal(out.settings, settings);
  assert.equal(JSON.parse(JSON.stringify(out)), out, 'plain JSON');
});

test('no rounds at all: nothing measured, no target met', () => {
  const out = scaleReport([]);
  assert.equal([out.nodes, out.runs, out.targets], [null, [], {}]);
});

test.run();
