/**
 * Linearizability of the KV store replicated by raft-ts under faults: for every seed the
 * clients' history must check out against the sequential KV model. Seeds as in the
 * simulation (RAFT_SIM_SEEDS, RAFT_SIM_SEED, RAFT_SIM_SEED_BASE); KV_SIM_SEEDS overrides the
 * default count for this file alone.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkOperations, describeFailure } from './checker.ts';
import { kvModel } from './kv-model.ts';
import { runKvSimulation } from './kv-sim.ts';
import type { KvBugs } from './kv-app.ts';
import { replayCommand, seedsFromEnv } from '../sim/seeds.ts';

const FILE = 'raft/test/linearizability/kv-sim.test.ts';

test('KV histories on the simulated cluster under faults are linearizable', () => {
  const seeds = seedsFromEnv(Number(process.env.KV_SIM_SEEDS ?? 150));
  const started = Date.now();
  let ops = 0;
  let open = 0;
  let checkMs = 0;
  let idle = 0;
  for (const seed of seeds) {
    let res;
    try {
      res = runKvSimulation(seed, { clients: 5, activeSteps: 1500, drainSteps: 1500 });
    } catch (err) {
      const e = err as Error;
      e.message = `seed ${seed} failed: ${e.message}\nreplay: ${replayCommand(FILE, seed)}`;
      throw e;
    }
    const t = Date.now();
    const verdict = checkOperations(kvModel, res.ops);
    checkMs += Date.now() - t;
    if (!verdict.ok) {
      throw new Error(`seed ${seed}: ${describeFailure(kvModel, verdict)}\n${res.cluster.recentTrace().split('\n').slice(-40).join('\n')}\nreplay: ${replayCommand(FILE, seed)}`);
    }
    if (!verdict.decided) throw new Error(`seed ${seed}: the checker gave up undecided; replay: ${replayCommand(FILE, seed)}`);
    ops += res.ops.length;
    const openHere = res.ops.filter((o) => o.ret === Infinity).length;
    open += openHere;
    if (res.ops.length - openHere < 10) idle++;
  }
  // Guard against a vacuous pass: a cluster that serves nothing is trivially linearizable.
  assert.ok(open <= 0.2 * ops, `${open} of ${ops} operations never completed`);
  assert.ok(idle <= Math.max(1, 0.1 * seeds.length), `${idle} seeds completed fewer than 10 operations`);
  console.log(`kv linearizability: ${seeds.length} seeds in ${((Date.now() - started) / 1000).toFixed(1)} s (checker ${(checkMs / 1000).toFixed(1)} s); ${ops} operations, ${open} left open, ${idle} seeds with < 10 completed`);
});

/** Runs seeds with a deliberately broken server until the checker rejects one. */
function firstRejected(bugs: KvBugs, maxSeeds: number): number | undefined {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const res = runKvSimulation(seed, { clients: 5, activeSteps: 1500, drainSteps: 1500, bugs });
    if (!checkOperations(kvModel, res.ops).ok) return seed;
  }
  return undefined;
}

test('the same pipeline rejects a server that reads its local state without ReadIndex', () => {
  const seed = firstRejected({ staleReads: true }, 60);
  assert.ok(seed !== undefined, 'stale reads were never caught');
});

test('the same pipeline rejects a server that executes retried writes again', () => {
  const seed = firstRejected({ noDedup: true }, 60);
  assert.ok(seed !== undefined, 'duplicate executions were never caught');
});

test.run();
