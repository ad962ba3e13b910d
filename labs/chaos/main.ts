// `npm run chaos -- [--hosts 5] [--managers 3] [--minutes N | --seconds N] [--seed S] [--prefix P] [--keep-logs]`:
// one chaos run (see run.ts). Prints the seed and the history file first (so a failure
// replays with the same --seed), the faults and outcomes, every violation, and one JSON
// line; exits 1 when a check failed.
import { parseArgs } from 'node:util';
import { runChaos } from './run.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '5' },
      managers: { type: 'string', default: '3' },
      minutes: { type: 'string' },
      seconds: { type: 'string' },
      seed: { type: 'string' },
      prefix: { type: 'string', default: 'shoalchaos' },
      'keep-logs': { type: 'boolean', default: false },
    },
  });
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`chaos: --${name} must be a non-negative number, got "${v}"`);
    return n;
  };
  const seed = num('seed', values.seed) ?? Math.floor(Math.random() * 2 ** 31);
  const durationMs = (num('seconds', values.seconds) ?? (num('minutes', values.minutes) ?? 2) * 60) * 1000;
  const r = await runChaos({
    hosts: num('hosts', values.hosts)!, managers: num('managers', values.managers)!, durationMs, seed,
    prefix: values.prefix!, log: (m) => console.log(m), keepLogs: values['keep-logs'],
  });
  console.log(`chaos: seed ${r.seed}: ${r.rounds} rounds (${r.faults.length} faults); calls ${JSON.stringify(r.calls)}`);
  console.log(`chaos: unknown outcomes resolved: ${r.resolved.present} present, ${r.resolved.absent} absent; stores agree ${r.agreeMs ?? '-'} ms, converged ${r.convergeMs ?? '-'} ms after heal`);
  if (r.liveness) console.log(`chaos: liveness: ${r.liveness.windows} silences, ${r.liveness.judged} long enough to judge, ${r.liveness.late} late; slowest down ${r.liveness.maxDownMs ?? '-'} ms; ${r.liveness.falseDowns} nodes marked down during a clock jump`);
  if (r.restartFailures.length) console.log(`chaos: failed restart attempts (each retried): ${r.restartFailures.join('; ')}`);
  for (const v of r.violations) console.log(`VIOLATION: ${v}`);
  console.log(`chaos: history ${r.historyFile}; replay with --seed ${r.seed}`);
  console.log(JSON.stringify({ seed: r.seed, rounds: r.rounds, faults: r.faults.length, calls: r.calls, resolved: r.resolved, restart_failures: r.restartFailures.length, liveness: r.liveness, agree_ms: r.agreeMs, converge_ms: r.convergeMs, violations: r.violations.length, history: r.historyFile }));
  process.exitCode = r.violations.length ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error((err as Error).message ?? err);
  process.exit(2);
});
