// Smoke tests of the benchmarks' fairness rules (issue 20) without their labs: the shared
// helpers of labs/bench/fair.ts, and each benchmark's JSON line built from tiny figures
// with the peer (Docker, etcd) not run: the peer's fields must say so and no flag may
// read 'met'. Docker and etcd never run in npm test (Debian's docker.io is for benches).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alternate, alternateRecords, figureFields, flag, flagWithBound, median, orderFor, ratio, summary, type Summary } from '../bench/fair.ts';
import { convergeReport } from '../bench/converge.ts';
import { dnsBench } from '../bench/dns.ts';
import { executorReport } from '../bench/executor.ts';
import { failoverReport } from '../bench/failover.ts';
import { networkFigures } from '../bench/network.ts';
import { raftReport, type RaftFigures } from '../bench/raft.ts';
import type { LoadResult } from '../bench/raft-load.ts';
import { measureCase, schedulerReport } from '../bench/scheduler.ts';

test('fair: summary gives median, min, max and keeps failed rounds', () => {
  const s = summary([30, 10, 20], ['round 2: boom']);
  assert.equal(s, { median: 20, min: 10, max: 30, values: [30, 10, 20], failed: ['round 2: boom'] });
  assert.is(median([1, 2, 3, 4]), 2.5);
  assert.is(summary([]).median, null);
});

test('fair: sides alternate which goes first', () => {
  assert.equal(orderFor(0, ['a', 'b']), ['a', 'b']);
  assert.equal(orderFor(1, ['a', 'b']), ['b', 'a']);
  assert.equal(orderFor(2, ['a', 'b']), ['a', 'b']);
});

test('fair: alternate runs every side each round and records a failed round', async () => {
  const calls: string[] = [];
  const r = await alternate(3, ['shoal', 'docker'] as const, async (side, round) => {
    calls.push(`${round}${side}`);
    if (side === 'docker' && round === 1) throw new Error('docker fell over');
    return side === 'shoal' ? 10 + round : 20 + round;
  });
  assert.equal(calls, ['0shoal', '0docker', '1docker', '1shoal', '2shoal', '2docker']);
  assert.equal(r.shoal.values, [10, 11, 12]);
  assert.equal(r.docker.values, [20, 22]);
  assert.equal(r.docker.failed, ['round 2: docker fell over']);
});

test('fair: a flag reads met only when the peer ran', () => {
  assert.is(flag(5, null, 1), 'peer did not run');
  assert.is(flag(5, undefined, 1), 'peer did not run');
  assert.is(flag(null, 5, 1), 'not measured');
  assert.is(flag(5, 10, 1), 'met');
  assert.is(flag(11, 10, 1), 'not met');
  assert.is(flagWithBound(900, 10_000, 0.1, 1500), 'met');
  assert.is(flagWithBound(1600, 100_000, 0.1, 1500), 'not met');
  assert.is(flagWithBound(900, null, 0.1, 1500), 'peer did not run');
  assert.is(ratio(5, null), null);
  assert.is(ratio(5, 10), 0.5);
  assert.equal(figureFields('x_ms', summary([1, 2, 3], ['round 4: e'])), { x_ms: 2, x_ms_min: 1, x_ms_max: 3, x_ms_runs: 3, x_ms_failed: ['round 4: e'] });
});

/** Every value of `out` that is a target flag (key containing `target`). */
function flags(out: Record<string, unknown>): unknown[] {
  return Object.entries(out).filter(([k]) => k.includes('target')).map(([, v]) => v);
}

const tiny = (...xs: number[]): Summary => summary(xs);

/** The peer did not run: its `ranKey` is false, `peer` says so, and no target flag reads 'met'. */
function assertNoPeer(out: Record<string, unknown>, ranKey: string): void {
  assert.is(out[ranKey], false);
  assert.is(out.peer, 'peer did not run');
  for (const f of flags(out)) assert.is.not(f, 'met');
}

/** One figure's JSON fields: `key` (the median), `key_min`, `key_max` and, when given, `key_runs`. */
function assertFigure(out: Record<string, unknown>, key: string, want: { median: number; min: number; max: number; runs?: number }): void {
  assert.is(out[key], want.median, key);
  assert.is(out[`${key}_min`], want.min, `${key}_min`);
  assert.is(out[`${key}_max`], want.max, `${key}_max`);
  if (want.runs !== undefined) assert.is(out[`${key}_runs`], want.runs, `${key}_runs`);
}

test('failover: without Docker, the peer fields say so and no flag reads met', () => {
  const s = { init: tiny(100, 110, 120), joinWorker: tiny(50, 60, 70), joinManager: tiny(80, 90, 95), joinManagerVoter: tiny(300, 310, 320), failover: tiny(700, 800, 900), attempts: tiny(7, 8, 9), partition: tiny(1200, 1300, 1400) };
  const out = failoverReport(s, undefined, { rounds: 3, dockerNote: 'skipped (--no-docker)' });
  assertNoPeer(out, 'docker_ran');
  assertFigure(out, 'failover_ms_defaults', { median: 800, min: 700, max: 900, runs: 3 });
  assert.is(out.docker_failover_ms_defaults, null);
  assert.is(out.failover_ratio_defaults, null);
  assert.is(out.failover_ms_same, null);
  assert.type(out.failover_same_note, 'string');
  assert.ok(out.settings_defaults);
  assert.is(out.failover_target_defaults, 'peer did not run');
  const same = failoverReport(s, undefined, { rounds: 3, shoalSame: { ...s, failover: tiny(9000, 11000, 12000) } });
  assertNoPeer(same, 'docker_ran');
  assert.is(same.failover_ms, 11000);
  assert.is(same.failover_ms_same, 11000);
  assert.is(same.docker_failover_ms, null);
  assert.is(same.failover_target, 'peer did not run');
});

test('fair: alternateRecords keeps each figure per side and the rounds that failed', async () => {
  const r = await alternateRecords(3, ['a', 'b'] as const, async (side, round) => {
    if (side === 'b' && round === 0) throw new Error('no');
    return { x_ms: round + (side === 'a' ? 0 : 10) };
  });
  assert.equal(r.a.figures.x_ms.values, [0, 1, 2]);
  assert.equal(r.b.figures.x_ms.values, [11, 12]);
  assert.equal(r.b.failed, ['round 1: no']);
});

test('converge: without Docker, like-for-like and _defaults figures, no flag met', () => {
  const f = (base: number) => ({ create10_ms: summary([base, base + 1, base + 2]), create60_ms: summary([base * 2]), scale_up_ms: summary([base]), scale_down_ms: summary([base]), reschedule_ms: summary([base * 5]) });
  const out = convergeReport({ shoal_same: { figures: f(100), failed: [] }, shoal_defaults: { figures: f(50), failed: ['round 2: boom'] } }, { rounds: 3, dockerNote: 'skipped (--no-docker)' });
  assertNoPeer(out, 'docker_ran');
  assertFigure(out, 'create10_ms', { median: 101, min: 100, max: 102 });
  assert.is(out.reschedule_ms_defaults, 250);
  assert.is(out.docker_reschedule_ms, null);
  assert.is(out.ratio_reschedule, null);
  assert.equal(out.shoal_defaults_failed_rounds, ['round 2: boom']);
  assert.ok(out.settings);
  assert.is(out.target_reschedule, 'peer did not run');
});

test('scheduler: tiny case, median of 3 rounds, count placed, SwarmKit figures marked published', () => {
  const main = measureCase(6, 12, 2, 3);
  const out = schedulerReport(main, { k1: main, k100: main });
  assert.is(out.placed, 12);
  assert.is(out.rounds, 3);
  assert.type(out.schedule_ms, 'number');
  assert.ok((out.schedule_ms_min as number) <= (out.schedule_ms as number) && (out.schedule_ms as number) <= (out.schedule_ms_max as number));
  assert.is(out.swarmkit_k1_on_1k_ms_published, 189);
  assert.match(String(out.swarmkit_note), /published.*not measured here/);
  for (const f of flags(out)) assert.is.not(f, 'met');
});

const load = (conc: number, w: number, p99: number): LoadResult => ({ conc, writesPerSec: w, p50ms: p99 / 2, p99ms: p99, maxms: p99 * 2, n: w * 3, errs: 0 });

test('raft: without etcd, like-for-like and _defaults keys, switches recorded, no flag met', () => {
  const side = (w: number): RaftFigures => ({
    load: new Map([[1, [load(1, w, 4), load(1, w + 10, 3), load(1, w + 20, 2)]]]), loadFailed: new Map([[1, ['round 4: refused']]]),
    failover: [600, null, 700], failoverFailed: [],
  });
  const out = raftReport({ 'raft-ts': side(100), 'raft-ts-defaults': side(200) }, { rounds: 3, seconds: 1, levels: [1], env: { RAFT_BENCH_FSYNC: '0' } });
  assertNoPeer(out, 'etcd_ran');
  assertFigure(out, 'writes_per_s_c1', { median: 110, min: 100, max: 120 });
  assert.is(out.p99_ms_c1, 3);
  assert.is(out.writes_per_s_c1_defaults, 210);
  assert.is(out.etcd_writes_per_s_c1, undefined);
  assert.equal(out.failed_c1, ['round 4: refused']);
  assert.is(out.failover_ms, 650);
  assert.equal(out.failover_ms_failed, ['run 2: no put committed within 20 s']);
  assert.equal((out.switches as Record<string, unknown>).RAFT_BENCH_FSYNC, '0');
  assert.is(out.fsync_same, false);
  assert.ok(out.tls);
  assert.is(out.target_writes_c1, 'peer did not run');
});

test('executor: without Docker, API-path and floor figures, layers named, no flag met', () => {
  const out = executorReport({
    api: { shoal: { start: summary([300, 320, 310]), start20: summary([900, 950, 1000]) } },
    floor: { shoal: { binary: '/usr/sbin/runc', ms: [40, 42, 41] } },
    lib: { start: [50, 60, 70], start20: [100, 110], stop: [5, 6], leftovers: 0, leftoversDetail: { mounts: 0 } },
    mem: { shoal: { perTaskKb: 300, detail: { tasks: 3 } } },
  }, { runs: 3, apiRounds: 3, cycles: 1, memTasks: 3, dockerNote: 'skipped (--no-docker)' });
  assertNoPeer(out, 'docker_ran');
  assert.is(out.start_ms, 310);
  assert.is(out.start_ms_min, 300);
  assert.is(out.start20_ms_max, 1000);
  assert.is(out.docker_start_ms, null);
  assert.is(out.start_ratio, null);
  assert.is(out.runc_floor_ms, 41);
  assert.is(out.docker_runc_floor_ms, null);
  assert.is(out.lib_start_p50_ms, 60);
  assert.is(out.docker_mem_per_task_kb, null);
  assert.is(out.mem_ratio, null);
  assert.is(out.target_start, 'peer did not run');
});

test('network: medians over rounds with min/max, failures kept, all-failed keeps the message', () => {
  const out = networkFigures([
    { overlay_ratio: 0.8, dns_p99_ms: 1.2, vip: 'ok 10.0.0.2', mesh_rps: 'fail: no ipvs' },
    { overlay_ratio: 0.9, dns_p99_ms: 'fail: timeout', vip: 'ok 10.0.0.2', mesh_rps: 'fail: no ipvs' },
    { overlay_ratio: 0.85, dns_p99_ms: 1.0, vip: 'ok 10.0.0.2', mesh_rps: 'fail: no ipvs' },
  ], '');
  assertFigure(out, 'overlay_ratio', { median: 0.85, min: 0.8, max: 0.9, runs: 3 });
  assert.is(out.dns_p99_ms, 1.1);
  assert.equal(out.dns_p99_ms_failed, ['fail: timeout']);
  assert.is(out.mesh_rps, 'fail: no ipvs');
  assert.is(out.vip, 'ok 10.0.0.2');
});

test('dns: a tiny run on loopback gives medians with min/max for the floor and each kind', async () => {
  const out = await dnsBench(20, 3);
  assert.is(out.rounds, 3);
  for (const k of ['echo', 'dns', 'tasks', 'forward']) {
    assert.type(out[`${k}_p99_ms`], 'number');
    assert.is(out[`${k}_p99_ms_runs`], 3);
    assert.ok((out[`${k}_p50_ms_min`] as number) <= (out[`${k}_p50_ms_max`] as number));
  }
  assert.type(out.dns_to_echo_p50_ratio, 'number');
});

test.run();
