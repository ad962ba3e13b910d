/**
 * The driver on real files, crashed without `stop()` and losing unsynced writes (see
 * `disk-crash-sim.ts`). RAFT_SIM_SEEDS=N runs N seeds (default 200), RAFT_SIM_SEED=S replays
 * one, RAFT_SIM_TRACE=1 prints its trace.
 */
import { test } from 'uvu';
import { runDiskCrashSim, type DiskCrashResult } from './disk-crash-sim.ts';
import { replayCommand, seedsFromEnv } from './seeds.ts';

const FILE = 'raft/test/sim/disk-crash-sim.test.ts';

test('RaftNode on DiskStorage restarts after any crash and stays safe and live', async () => {
  const seeds = seedsFromEnv(200);
  const trace = process.env.RAFT_SIM_TRACE ? (l: string) => console.log(l) : undefined;
  const started = Date.now();
  const results: DiskCrashResult[] = [];
  for (const seed of seeds) {
    try {
      results.push(await runDiskCrashSim(seed, { chaosTicks: 150, livenessTicks: 400, ...(trace ? { trace } : {}) }));
    } catch (err) {
      const e = err as Error;
      e.message = `seed ${seed} failed: ${e.message}\nreplay: ${replayCommand(FILE, seed)}`;
      throw e;
    }
  }
  const sum = (k: 'crashes' | 'restarts' | 'committed') => results.reduce((s, r) => s + r[k], 0);
  console.log(`disk crash simulation: ${seeds.length} seeds in ${((Date.now() - started) / 1000).toFixed(1)} s; ${sum('crashes')} crashes, ${sum('restarts')} restarts, ${sum('committed')} entries applied`);
});

test.run();
