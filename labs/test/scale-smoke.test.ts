// Smoke test of the scale bench (labs/bench/scale.ts) at a tiny N: three real manager
// daemons on loopback, 10 simulated nodes joined with the real token and certificates,
// 50 tasks, 2 nodes lost, the leader killed. Asserts the JSON line's shape and that
// every step produced a figure; nothing about how fast (a benchmark is not a test).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScale, scaleReport, type ScaleRun } from '../bench/scale.ts';

const TOP = ['nodes', 'leader_cpu_pct', 'leader_rss_mb', 'heartbeat_lag_ms', 'schedule10k_ms', 'mass_loss_ms', 'failover_ms'];

test('scale: 10 simulated nodes and 50 tasks give every figure, in the JSON shape', async () => {
  const lines: string[] = [];
  const out = await runScale({ nodes: [10], tasks: 50, lost: 2, restS: 1, perProc: 5, stepTimeoutMs: 90_000, log: (l) => lines.push(l) });
  const json = JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
  const runs = json.runs as ScaleRun[];
  assert.is(runs.length, 1);
  assert.equal(runs[0].errors, [], lines.join('\n'));
  for (const k of TOP) assert.type(json[k], 'number', `${k}: ${lines.join('\n')}`);
  assert.is(json.nodes, 10);
  assert.is(runs[0].lost, 2);
  assert.is(runs[0].load.length, 2);
});

test('scale: the largest N is at the top level, every N under runs', () => {
  const run = (nodes: number, failover: number | null): ScaleRun => ({
    nodes, tasks: 10, lost: 1, raft_tick_ms: null, join_ms: 1, leader_cpu_pct: 1, leader_rss_mb: 1, leader_cpu_pct_with_tasks: 1, heartbeat_lag_ms: 1,
    heartbeat_lag_p50_ms: 1, schedule10k_ms: 1, mass_loss_detect_ms: 1, mass_loss_ms: 1, failover_ms: failover, failover_first_ms: 1, schedule10k_cpu_ms: 1, mass_loss_cpu_ms: 1, load: [0, 0], errors: [],
  });
  const out = scaleReport([run(100, 5), run(1000, null), run(500, 7)]);
  assert.is(out.nodes, 1000);
  assert.is(out.failover_ms, null);
  assert.is((out.runs as ScaleRun[]).length, 3);
  assert.is((out.targets as Record<string, string>).failover_under_3s, 'not measured');
});

test.run();
