// The nemesis schedule is pure and seeded: the same seed gives the same rounds, rounds do
// not overlap, fit the duration, and never impair more managers than a quorum survives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import type { Lab } from '../lib/lab.ts';
import { CLOCK_BACK_MAX_S, CLOCK_FORWARD_MAX_S, clockJump, describeFault, impaired, LEADER, prng, restartDaemon, schedule, tolerated } from './nemesis.ts';

const managers = ['h1', 'h2', 'h3'];
const workers = ['h4', 'h5'];

test('prng: same seed, same sequence; values in [0, 1)', () => {
  const a = prng(42), b = prng(42), c = prng(43);
  const xs = Array.from({ length: 100 }, a);
  assert.equal(xs, Array.from({ length: 100 }, b));
  assert.not.equal(xs, Array.from({ length: 100 }, c));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('schedule: deterministic per seed', () => {
  const o = { seed: 7, managers, workers, durationMs: 120_000 };
  assert.equal(schedule(o), schedule(o));
  assert.ok(schedule(o).length >= 5, 'two minutes hold several rounds');
});

test('schedule: rounds in order, inside the duration, quorum always kept', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 600_000 }),
    (seed, m, w, durationMs) => {
      const ms = Array.from({ length: m }, (_, i) => `h${i + 1}`);
      const ws = Array.from({ length: w }, (_, i) => `h${m + i + 1}`);
      const rounds = schedule({ seed, managers: ms, workers: ws, durationMs });
      let end = 0;
      for (const r of rounds) {
        assert.ok(r.at >= end, 'rounds do not overlap');
        end = r.at + r.holdMs;
        assert.ok(end <= durationMs, 'healed within the duration');
        const hosts = r.faults.flatMap(impaired);
        assert.is(new Set(hosts).size, hosts.length, 'a host has one fault at a time');
        assert.ok(hosts.filter((h) => ms.includes(h) || h === LEADER).length <= tolerated(m), 'a quorum of managers is left');
        assert.ok(r.faults.length >= 1 && r.faults.length <= 2);
      }
    }), { numRuns: 300 });
});

test('schedule: with 3 managers and workers, every fault kind shows up', () => {
  const kinds = new Set(schedule({ seed: 1, managers, workers, durationMs: 1_800_000 }).flatMap((r) => r.faults.map((f) => f.kind)));
  assert.equal([...kinds].sort(), ['clock', 'isolate', 'kill', 'kill-leader-mid-update', 'oneway', 'pause', 'split']);
});

test('clock jumps: whole seconds, never zero, forward up to 10 min and back up to 5 min, both ways', () => {
  const rnd = prng(9);
  const jumps = Array.from({ length: 2000 }, () => clockJump(rnd));
  for (const j of jumps) {
    assert.ok(j % 1000 === 0 && j !== 0, `${j}`);
    assert.ok(j <= CLOCK_FORWARD_MAX_S * 1000 && j >= -CLOCK_BACK_MAX_S * 1000, `${j}`);
    assert.ok(Math.abs(j) >= 5000, 'longer than the heartbeat grace');
  }
  assert.ok(jumps.some((j) => j > 0) && jumps.some((j) => j < 0));
});

test('clock jumps: of a named host (also beside another fault) and of the leader (alone)', () => {
  const rounds = schedule({ seed: 1, managers, workers, durationMs: 3_600_000 });
  const clocks = rounds.flatMap((r) => r.faults.filter((f) => f.kind === 'clock').map((f) => ({ f, n: r.faults.length })));
  assert.ok(clocks.some(({ f }) => f.host === undefined), 'the leader is hit');
  assert.ok(clocks.some(({ f }) => f.host !== undefined && workers.includes(f.host)), 'a worker is hit');
  assert.ok(clocks.some(({ f }) => f.host !== undefined && managers.includes(f.host)), 'a named manager is hit');
  assert.ok(clocks.some(({ n }) => n === 2), 'beside another fault');
  assert.ok(clocks.every(({ f, n }) => f.host !== undefined || n === 1), 'the leader\'s clock jumps alone');
  assert.is(describeFault({ kind: 'clock', host: 'h2', offsetMs: -30_000 }), 'clock h2 -30s');
  assert.is(describeFault({ kind: 'clock', offsetMs: 120_000 }), 'clock leader +120s');
});

test('schedule: with 5 managers, two managers are faulted at once in some rounds', () => {
  const ms = ['h1', 'h2', 'h3', 'h4', 'h5'];
  const rounds = schedule({ seed: 2, managers: ms, workers: ['h6'], durationMs: 1_800_000 });
  assert.ok(rounds.some((r) => r.faults.flatMap(impaired).filter((h) => ms.includes(h)).length === 2));
});

test('schedule: a single manager is never faulted (no quorum to spare)', () => {
  const rounds = schedule({ seed: 3, managers: ['h1'], workers: ['h2'], durationMs: 300_000 });
  assert.ok(rounds.length > 0);
  assert.ok(rounds.every((r) => r.faults.every((f) => !impaired(f).includes('h1'))));
});

/** A lab stand-in whose daemon starts fail `failures` times, recording calls. */
function fakeLab(failures: number) {
  const calls: string[] = [];
  const lab = {
    startDaemon: async (h: string) => {
      calls.push(`start ${h}`);
      if (failures-- > 0) throw new Error(`lab: daemon of ${h} did not answer /_ping`);
      return 1;
    },
    killDaemon: async (h: string) => { calls.push(`kill ${h}`); return []; },
  } as unknown as Lab;
  return { lab, calls };
}

test('restartDaemon: a failed start is recorded, the host cleared and the start retried', async () => {
  const { lab, calls } = fakeLab(2);
  const seen: string[] = [];
  await restartDaemon(lab, 'h2', { attempts: 3, onFailure: (h, a, err) => seen.push(`${h}#${a}: ${err.message}`) });
  assert.equal(calls, ['start h2', 'kill h2', 'start h2', 'kill h2', 'start h2']);
  assert.equal(seen, ['h2#1: lab: daemon of h2 did not answer /_ping', 'h2#2: lab: daemon of h2 did not answer /_ping']);
});

test('restartDaemon: throws the last error once every attempt failed', async () => {
  const { lab, calls } = fakeLab(5);
  let n = 0;
  await restartDaemon(lab, 'h1', { attempts: 2, onFailure: () => n++ }).then(
    () => assert.unreachable('should throw'),
    (err: Error) => assert.match(err.message, /did not answer/),
  );
  assert.is(n, 2);
  assert.equal(calls, ['start h1', 'kill h1', 'start h1']);
});

test.run();
