/**
 * `npm run lin -- [--seconds 60] [--seed S] [--clients 4] [--keys 5]`: the linearizability
 * run of issue 19 item 2 against three real raft-ts processes (see run.ts). Prints the
 * verdict and a JSON last line; exits 1 on a violation. Data, logs and the history go to
 * /tmp/shoal-raft-lin/seed-S/.
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runLinearizability } from './run.ts';

const { values: a } = parseArgs({
  options: { seconds: { type: 'string' }, seed: { type: 'string' }, clients: { type: 'string' }, keys: { type: 'string' } },
});
const seed = Number(a.seed ?? Date.now() % 100_000);
const dir = `/tmp/shoal-raft-lin/seed-${seed}`;
rmSync(dir, { recursive: true, force: true });
const r = await runLinearizability({
  seed, durationMs: Number(a.seconds ?? 60) * 1000, clients: Number(a.clients ?? 4), keys: Number(a.keys ?? 5), dir,
  log: (l) => console.log(`${new Date().toISOString()} ${l}`),
});
console.log(r.ok ? (r.decided ? 'linearizable' : 'no violation found (search undecided)') : `NOT linearizable:\n  ${r.failure!.join('\n  ')}`);
console.log(`history: ${r.historyFile}`);
console.log(JSON.stringify({ seed, ok: r.ok, decided: r.decided, operations: r.operations, completed: r.completed, open: r.open, faults: r.faults.length, check_ms: r.checkMs }));
process.exit(r.ok ? 0 : 1);
