/**
 * The randomized simulation: many seeds, each a cluster under chaos with safety checked
 * after every step and liveness after every heal. A failing seed prints its replay
 * command. RAFT_SIM_SEEDS=N runs N seeds, RAFT_SIM_SEED=S replays one, RAFT_SIM_SEED_BASE
 * shifts the range (for long nightly runs), RAFT_SIM_TRACE=1 prints the trace as it runs.
 */
import { test } from 'uvu';
import { runSimulation } from './simulation.ts';
import type { SimulationOptions, SimulationResult } from './simulation.ts';
import { replayCommand, seedsFromEnv } from './seeds.ts';

const FILE = 'raft/test/sim/simulation.test.ts';
const OPTIONS: SimulationOptions = { rounds: 3, chaosSteps: 400, livenessTicks: 300, proposeRate: 0.15 };

test('randomized cluster simulation keeps Raft safe and recovers after faults heal', () => {
  const seeds = seedsFromEnv(500);
  const started = Date.now();
  const results: SimulationResult[] = [];
  for (const seed of seeds) {
    try {
      results.push(runSimulation(seed, OPTIONS));
    } catch (err) {
      const e = err as Error;
      e.message = `seed ${seed} failed: ${e.message}\nreplay: ${replayCommand(FILE, seed)}`;
      throw e;
    }
  }
  const recover = results.flatMap((r) => r.recoveryTicks).sort((a, b) => a - b);
  const pct = (p: number): number => recover[Math.min(recover.length - 1, Math.floor(p * recover.length))];
  const sum = (k: 'terms' | 'committed' | 'steps'): number => results.reduce((s, r) => s + r[k], 0);
  console.log(
    `simulation: ${seeds.length} seeds in ${((Date.now() - started) / 1000).toFixed(1)} s; ${sum('steps')} steps, ` +
      `${sum('terms')} terms with a leader, ${sum('committed')} entries committed; ` +
      `recovery ticks p50=${pct(0.5)} p99=${pct(0.99)} max=${recover[recover.length - 1]}`,
  );
});

test.run();
