/**
 * Benchmark dispatcher: `npm run bench -- NAME [ARGS...]` loads `labs/bench/NAME.ts` and
 * calls its exported `run(args, { signal })`. A benchmark prints its figures and ends with
 * one JSON line; it asserts nothing about time (see docs/CONVENTIONS.md). `npm run bench`
 * alone lists the benchmarks found here. SIGINT/SIGTERM abort a bench in order: its
 * clean-up runs, then the process exits 128 + the signal's number (run-bench.ts).
 * A stale dist/ is rebuilt first and SHOAL_RUN=dist pinned for the bench's daemons
 * (labs/lib/fresh-dist.ts), so they run what a user runs.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { runBench, type BenchModule } from './run-bench.ts';
import { ensureFreshDist } from '../lib/fresh-dist.ts';

export type { BenchModule };

const dir = fileURLToPath(new URL('.', import.meta.url));

function available(): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'main.ts' && f !== 'run-bench.ts' && !f.includes('.test.'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  if (!name || !/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    console.error(`usage: npm run bench -- NAME [ARGS...]\nbenchmarks: ${available().join(', ')}`);
    process.exit(2);
  }
  const mod = (await import(pathToFileURL(join(dir, `${name}.ts`)).href).catch((err: unknown) => {
    console.error(`bench: cannot load ${name}: ${String(err)}\nbenchmarks: ${available().join(', ')}`);
    process.exit(2);
  })) as Partial<BenchModule>;
  if (typeof mod.run !== 'function') {
    console.error(`bench: ${name}.ts does not export run(args)`);
    process.exit(2);
  }
  try {
    ensureFreshDist(join(dir, '../..'));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  return runBench(mod.run.bind(mod), args);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
