/**
 * Seed selection for randomized tests. By default `count` seeds starting at
 * `RAFT_SIM_SEED_BASE` (default 1), so CI runs are reproducible; `RAFT_SIM_SEEDS=N` runs N
 * seeds instead; `RAFT_SIM_SEED=S` replays exactly one.
 */
export function seedsFromEnv(count: number): number[] {
  const one = process.env.RAFT_SIM_SEED;
  if (one !== undefined && one !== '') return [Number(one)];
  const n = Number(process.env.RAFT_SIM_SEEDS ?? count);
  const base = Number(process.env.RAFT_SIM_SEED_BASE ?? 1);
  return Array.from({ length: n }, (_, i) => base + i);
}

/** The command that replays `seed` of the test file `file` (a path from the repository root). */
export function replayCommand(file: string, seed: number): string {
  return `cd /work/main && RAFT_SIM_SEED=${seed} node --import tsx ${file}   (RAFT_SIM_TRACE=1 prints the full trace)`;
}
