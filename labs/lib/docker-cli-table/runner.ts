/**
 * Runs the docker CLI table (rows.ts) one row at a time: the stock `docker` client against
 * one host of a lab (Shoal's daemons, or dockerds for the peer run), each row's exit code
 * and output checked, values saved for later rows. Used by labs/docker-cli-table.lab.test.ts
 * and by run-peer.ts (the same table against Docker Engine, to prove the expectations).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILES } from './files.ts';

/** What an output check is: a regex, a regex source with `{VAR}`s (compiled with flag m), or a predicate. */
export type OutputCheck = RegExp | string | ((out: string, vars: Vars) => boolean);

/** What a row expects (also the shape of a peer override). */
export interface Expectation {
  /** Exit code (or the codes any of which will do). Default 0. */
  exit?: number | number[];
  /** Checked against stdout. */
  out?: OutputCheck;
  /** Checked against stderr. */
  err?: OutputCheck;
}

/** One invocation of the table. */
export interface Row extends Expectation {
  /** The command line after `docker`, as typed (words split as a shell does, with '…' and "…"
   * quoting); `{VAR}` is replaced by a value of {@link Vars} after splitting. */
  cmd: string;
  /** The lab host whose daemon the command talks to. Default 'h1'. */
  on?: 'h1' | 'h2';
  /** Standard input (after substitution). */
  stdin?: string;
  /** Extra environment (e.g. compose variables), after substitution. */
  env?: Record<string, string>;
  /** Retried every 500 ms (up to 90 s) until it matches: for states that converge. */
  until?: boolean;
  /** A command that does not end by itself (`logs -f`): stopped once `out` matches (up to 30 s). */
  follow?: boolean;
  /** Saves capture group 1 of the regex (over stdout) as the variable NAME. */
  save?: [name: string, re: RegExp];
  /** Saves the time (Unix seconds, 1 s early) as the variable NAME before the command runs (for `events --since`). */
  mark?: string;
  /** What Docker Engine does instead, where Shoal deliberately differs (with `why`). */
  peer?: Expectation & { why: string };
}

/** Values rows refer to as `{NAME}`. */
export type Vars = Record<string, string>;

/** One finished command. */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** The table's run context: which side, the lab's sockets, the working directory with FILES. */
export interface TableContext {
  side: 'shoal' | 'docker';
  /** DOCKER_HOST of each host. */
  hosts: Record<string, string>;
  /** Directory holding FILES (commands run there, so compose paths are relative). */
  dir: string;
  vars: Vars;
  /** The docker client binary. Default `docker` on PATH. */
  docker?: string;
}

/** Writes FILES to a fresh temporary directory and returns a context over it. */
export function tableContext(side: 'shoal' | 'docker', hosts: Record<string, string>, vars: Vars): TableContext {
  const dir = mkdtempSync(join(tmpdir(), 'docker-cli-table-'));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(dir, name), text);
  return { side, hosts, dir, vars: { ...vars, DIR: dir, START: String(Math.floor(Date.now() / 1000) - 1) } };
}

/** `{NAME}` replaced by its value; an unknown name is an error (a row depends on one that failed). */
export function substitute(s: string, vars: Vars): string {
  return s.replace(/\{([A-Z][A-Z0-9_]*)\}/g, (_, k: string) => {
    if (!(k in vars)) throw new Error(`docker-cli-table: {${k}} is not set (an earlier row failed?)`);
    return vars[k];
  });
}

/** Splits a command line into words as a shell does for plain words and '…' / "…" quoting. */
export function words(line: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:'([^']*)'|"([^"]*)"|([^\s'"]+))/gy;
  let cur: string | undefined;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(line)) && m[0].length) {
    // A word continues while no whitespace separates its parts (a'b'c is one word).
    const joined = cur !== undefined && !/^\s/.test(m[0]);
    const part = m[1] ?? m[2] ?? m[3];
    if (joined) cur += part;
    else { if (cur !== undefined) out.push(cur); cur = part; }
    last = re.lastIndex;
  }
  if (line.slice(last).trim()) throw new Error(`docker-cli-table: unbalanced quotes in: ${line}`);
  if (cur !== undefined) out.push(cur);
  return out;
}

/** A row's title: `docker CMD` (before substitution), with the host when not h1. */
export function title(row: Row, i: number): string {
  return `#${String(i + 1).padStart(3, '0')} ${row.on && row.on !== 'h1' ? `[${row.on}] ` : ''}docker ${row.cmd}`;
}

function checkOutput(what: string, check: OutputCheck | undefined, text: string, vars: Vars): string | undefined {
  if (check === undefined) return undefined;
  const ok = typeof check === 'function' ? check(text, vars) : (typeof check === 'string' ? new RegExp(substitute(check, vars), 'm') : check).test(text);
  return ok ? undefined : `${what} does not match ${typeof check === 'function' ? 'the predicate' : String(check)}`;
}

/** Why an outcome does not meet the expectation, or undefined when it does. */
export function mismatch(o: Outcome, e: Expectation, vars: Vars): string | undefined {
  const exits = Array.isArray(e.exit) ? e.exit : [e.exit ?? 0];
  if (!exits.includes(o.code)) return `exit ${o.code}, expected ${exits.join(' or ')}`;
  return checkOutput('stdout', e.out, o.stdout, vars) ?? checkOutput('stderr', e.err, o.stderr, vars);
}

/** Runs `docker ARGS` once; `stopWhen` ends a follow once its stdout passes (killed by its own PID). */
function exec(ctx: TableContext, row: Row, args: string[], stopWhen?: (stdout: string) => boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: ctx.hosts[row.on ?? 'h1'], DOCKER_CLI_HINTS: 'false' };
    for (const [k, v] of Object.entries(row.env ?? {})) env[k] = substitute(v, ctx.vars);
    const child = spawn(ctx.docker ?? 'docker', args, { cwd: ctx.dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stopped = false;
    const stop = () => { if (!stopped) { stopped = true; child.kill('SIGTERM'); } };
    const timer = setTimeout(stop, row.follow ? 30_000 : 120_000);
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); if (stopWhen?.(stdout)) stop(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.on('error', (err) => { stderr += String(err); });
    child.on('close', (code) => {
      clearTimeout(timer);
      // A follow stopped because its output matched counts as exit 0.
      resolve({ code: stopped && row.follow && stopWhen?.(stdout) ? 0 : (code ?? 128), stdout, stderr });
    });
    // A command that never reads its input may exit first: EPIPE is not its failure.
    child.stdin.on('error', () => {});
    if (row.stdin === undefined) child.stdin.end();
    else child.stdin.end(substitute(row.stdin, ctx.vars));
  });
}

/** The expectation of a row on this side. */
export function expectationOf(row: Row, side: 'shoal' | 'docker'): Expectation {
  return side === 'docker' && row.peer ? row.peer : row;
}

/** Runs one row (retrying an `until` row); resolves with the failure text, or undefined when it passed. */
export async function runRow(ctx: TableContext, row: Row): Promise<{ failure?: string; outcome: Outcome }> {
  if (row.mark) ctx.vars[row.mark] = String(Math.floor(Date.now() / 1000) - 1);
  const args = words(row.cmd).map((a) => substitute(a, ctx.vars));
  const e = expectationOf(row, ctx.side);
  const stopWhen = row.follow ? (s: string) => !checkOutput('stdout', e.out, s, ctx.vars) : undefined;
  const deadline = Date.now() + 90_000;
  for (;;) {
    const outcome = await exec(ctx, row, args, stopWhen);
    const failure = mismatch(outcome, e, ctx.vars);
    if (!failure) {
      if (row.save) {
        const m = row.save[1].exec(outcome.stdout);
        if (!m) return { failure: `nothing to save as {${row.save[0]}}: ${row.save[1]}`, outcome };
        ctx.vars[row.save[0]] = m[1];
      }
      return { outcome };
    }
    if (!row.until || Date.now() > deadline) {
      return { failure: `${failure}\n--- stdout:\n${outcome.stdout.slice(-1500)}\n--- stderr:\n${outcome.stderr.slice(-800)}`, outcome };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
