// The short chaos run of `npm test` (issue 19): 5 hosts, 3 managers and 2 workers, 75 s
// of seeded faults (kill -9 and restart, pauses, isolation, majority/minority splits,
// one-way partitions, the leader killed while an update rolls, wall-clock jumps of a
// daemon forward and back; seed 13438 plays every kind in its first 55 s) under a workload
// through the managers in turn;
// then healed and checked: nothing acknowledged lost or doubled, nothing refused present,
// identical stores on every manager, one running container per slot per runc within
// 60 s, every node silenced long enough marked down within its bound (chaos/liveness.ts),
// and nothing left behind by the lab. Replay a failure with
// `npm run chaos -- --hosts 5 --managers 3 --seconds 75 --seed 13438` (history under
// /tmp/shoalchs-chaos/).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runChaos } from './chaos/run.ts';

const SEED = 13438;

test(`chaos, seed ${SEED}: no lost or doubled write, identical stores, converged, nodes marked down in time, nothing leaked`, async () => {
  const r = await runChaos({ hosts: 5, managers: 3, durationMs: 75_000, seed: SEED, prefix: 'shoalchs', log: (m) => console.log(`  ${m}`) });
  console.log(`  calls ${JSON.stringify(r.calls)}; unknown resolved ${JSON.stringify(r.resolved)}; stores agree ${r.agreeMs} ms, converged ${r.convergeMs} ms after heal`);
  assert.ok(r.rounds >= 4, `${r.rounds} fault rounds`);
  const kinds = new Set(r.faults.map((f) => f.split(' ')[0]));
  for (const k of ['kill', 'pause', 'isolate', 'split', 'oneway', 'kill-leader-mid-update', 'clock']) assert.ok(kinds.has(k), `fault ${k} played (played: ${[...kinds].join(', ')})`);
  assert.ok((r.calls['create acknowledged'] ?? 0) >= 20, 'the workload made progress');
  console.log(`  liveness ${JSON.stringify(r.liveness)}; failed restart attempts: ${r.restartFailures.join('; ') || 'none'}`);
  assert.ok((r.liveness?.windows ?? 0) >= 5, 'the liveness watch saw the silencing faults');
  assert.ok((r.liveness?.judged ?? 0) >= 1, 'at least one silence (the probe) was long enough to judge');
  assert.equal(r.violations, [], `seed ${SEED}, history ${r.historyFile}`);
});

test.run();
