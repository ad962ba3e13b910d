/**
 * `docker top`: runs `ps` on the host with the caller's arguments (default `-ef`, as
 * Docker) and keeps the rows whose PID is in the container's cgroup. The parsing is
 * pure ({@link filterPsOutput}); Docker does the same.
 */
import { runCommand } from '../exec/cmd.ts';

/** `ps` arguments were refused or `ps` failed (the API answers 500 with its message, as Docker). */
export class TopError extends Error {
  override readonly name = 'TopError';
  readonly retryable = false;
  constructor(message: string) { super(`top: ${message}`); }
}

/** Docker's ContainerTopResponse. */
export interface TopResult { Titles: string[]; Processes: string[][] }

/** Keeps the rows of `ps` output whose PID column is one of `pids`; the last column keeps its spaces. */
export function filterPsOutput(output: string, pids: number[]): TopResult {
  const lines = output.split('\n').filter((l) => l.trim());
  if (lines.length === 0) throw new TopError('ps printed nothing');
  const titles = lines[0].trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new TopError('couldn\'t find PID field in ps output');
  const want = new Set(pids);
  const processes: string[][] = [];
  for (const l of lines.slice(1)) {
    const fields = l.trim().split(/\s+/);
    if (!want.has(Number(fields[pidIndex]))) continue;
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

/** Runs `ps ARGS` and filters it to `pids`. `psArgs` is split on spaces, as Docker does. */
export async function top(pids: number[], psArgs = '-ef'): Promise<TopResult> {
  const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : ['-ef'];
  const r = await runCommand(['ps', ...args], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new TopError(`ps ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return filterPsOutput(r.stdout, pids);
}
