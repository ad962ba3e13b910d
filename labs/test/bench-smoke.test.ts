// Smoke tests of the benchmarks' fairness rules (issue 20) without their labs: the shared
// helpers of labs/bench/fair.ts, and each benchmark's JSON line built from tiny figures
// with the peer (Docker, etcd) not run: the peer's fields must say so and no flag may
// read 'met'. Docker and etcd never run in npm test (Debian's docker.io is for benches).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { alternate, figureFields, flag, flagWithBound, median, orderFor, ratio, summary, type Summary } from '../bench/fair.ts';
import { failoverReport } from '../bench/failover.ts';

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

test('failover: without Docker, the peer fields say so and no flag reads met', () => {
  const s = { init: tiny(100, 110, 120), joinWorker: tiny(50, 60, 70), joinManager: tiny(80, 90, 95), joinManagerVoter: tiny(300, 310, 320), failover: tiny(700, 800, 900), attempts: tiny(7, 8, 9), partition: tiny(1200, 1300, 1400) };
  const out = failoverReport(s, undefined, { rounds: 3, dockerNote: 'skipped (--no-docker)' });
  assert.is(out.docker_ran, false);
  assert.is(out.peer, 'peer did not run');
  assert.is(out.failover_ms_defaults, 800);
  assert.is(out.failover_ms_defaults_min, 700);
  assert.is(out.failover_ms_defaults_max, 900);
  assert.is(out.failover_ms_defaults_runs, 3);
  assert.is(out.docker_failover_ms_defaults, null);
  assert.is(out.failover_ratio_defaults, null);
  assert.is(out.failover_ms_same, null);
  assert.type(out.failover_same_note, 'string');
  assert.ok(out.settings_defaults);
  for (const f of flags(out)) assert.is.not(f, 'met');
  assert.is(out.failover_target_defaults, 'peer did not run');
});

test.run();
