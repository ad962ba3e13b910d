/**
 * `npm run bench -- stack-trace [--rounds N] [--steps] [--keep] [--prof DIR] [--import FILE]`
 *
 * Where the time of `stack deploy` goes on Shoal: the stack bench's deploy (same compose
 * file, same stock docker client, 3-host lab) with the daemons started under
 * `SHOAL_DEBUG=*`, then a timeline of each round from the daemons' logs: for every log
 * message, its first and last time on each host in ms after the client started, and the
 * moments the bench's poll saw 1, 10 and 20 tasks running; per host, when its tasks reached
 * each state (first, median, last), the per-task medians of prepare (accepted→ready: image,
 * network attach, container) and start (starting→running), and, with `--steps`, the timed lines of the steps
 * between (attach, view apply, sandbox, prepare) with their fields. Not a figure to compare with
 * Docker (debug logging costs time); a map of the phases. Also: the docker client's API calls
 * with their times (through a logging proxy), each daemon's CPU time over the round, and
 * that of its live descendants by command (netlink helpers, pooled shells and the `ip`/`nft`
 * runs they reaped, the DNS child), which the daemon's own figure misses; `--keep`
 * leaves the lab up (its logs in /tmp/shoalstt-lab); `--prof DIR` makes the daemons write V8
 * CPU profiles there (they are stopped by PID at the end); `--import FILE` preloads a module
 * into each daemon (e.g. one that logs every spawn). Asserts nothing.
 */
import { readFileSync, readdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../src/api/client.ts';
import type { Task } from '../../src/api/types/task.ts';
import { Lab } from '../lib/lab.ts';
import { defaultDaemonCommand, type DaemonContext } from '../lib/daemon.ts';
import { run as runCmd } from '../lib/procs.ts';
import { waitFor } from '../lib/swarm-services.ts';
import { formBenchSwarm } from './bench-swarm.ts';
import { LAB_REGISTRY } from './docker-swarm-lab.ts';
import { compose } from './stack.ts';

const until = <T>(what: string | (() => string), fn: () => Promise<T | false | undefined>) => waitFor(what, fn, 240_000, 20);

/** Log lines `ISO level area: message k=v…` of one host between two wall-clock times. */
function timeline(log: string, from: number, to: number): Map<string, { first: number; last: number; n: number }> {
  const out = new Map<string, { first: number; last: number; n: number }>();
  for (const line of log.split('\n')) {
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) (\w+) ([\w.]+): (.*?)(?: [\w.]+=.*)?$/.exec(line);
    if (!m) continue;
    const at = Date.parse(m[1]);
    if (at < from || at > to) continue;
    const key = `${m[3]}: ${m[4].slice(0, 70)}`;
    const e = out.get(key);
    if (e) { e.last = at - from; e.n++; } else out.set(key, { first: at - from, last: at - from, n: 1 });
  }
  return out;
}

/** States a task passes on its way to running, in order (the agent's `task state changed` lines). */
const STATES = ['accepted', 'preparing', 'ready', 'starting', 'running'] as const;

/**
 * When the tasks of one host reached each state (first / median / last, ms after `from`),
 * and the fields of the lines that time the steps in between (`keep`: message prefixes).
 */
function phases(log: string, from: number, to: number, keep: readonly string[]): { states: string[]; steps: string; lines: string[] } {
  const reached = new Map<string, number[]>();
  const byTask = new Map<string, Map<string, number>>();
  const lines: string[] = [];
  for (const line of log.split('\n')) {
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) \w+ [\w.]+: (.*)$/.exec(line);
    if (!m) continue;
    const at = Date.parse(m[1]) - from;
    if (at < 0 || at > to - from) continue;
    const st = /^task state changed .*\bstate=(\w+)/.exec(m[2]);
    if (st) {
      (reached.get(st[1]) ?? reached.set(st[1], []).get(st[1])!).push(at);
      const id = /\btask\.id=(\w+)/.exec(m[2])?.[1] ?? '';
      (byTask.get(id) ?? byTask.set(id, new Map()).get(id)!).set(st[1], at);
      continue;
    }
    if (keep.some((k) => m[2].startsWith(k))) lines.push(`${String(at).padStart(6)}  ${m[2].replace(/ task\.id=\w+/, '').slice(0, 220)}`);
  }
  const states = STATES.filter((s) => reached.has(s)).map((s) => {
    const v = reached.get(s)!.sort((a, b) => a - b);
    return `${s.padEnd(10)} n=${String(v.length).padEnd(3)} first ${String(v[0]).padStart(5)}  median ${String(v[v.length >> 1]).padStart(5)}  last ${String(v.at(-1)).padStart(5)}`;
  });
  // Per task, then the median over the host's tasks: what each step took, not when it ended.
  const step = (a: string, b: string) => {
    const d = [...byTask.values()].filter((t) => t.has(a) && t.has(b)).map((t) => t.get(b)! - t.get(a)!).sort((x, y) => x - y);
    return d.length ? `${a}→${b} median ${d[d.length >> 1]} max ${d.at(-1)}` : `${a}→${b} none`;
  };
  const steps = [step('accepted', 'ready'), step('starting', 'running')].join(', ');
  return { states, steps, lines };
}

/** Debug lines whose fields time the steps between placement and running. */
const STEP_LINES = ['network: data plane opened', 'network: task attached', 'network: view applied', 'network: sandbox created', 'network: sandbox peers', 'agent: task prepared', 'network: routing mesh connected', 'executor restored'];

/** A unix-socket proxy in front of `socket` that notes each request line and response status line with its time. */
function tracingProxy(socket: string, path: string, note: (what: string) => void): net.Server {
  const server = net.createServer((c) => {
    const up = net.connect(socket);
    c.on('data', (b: Buffer) => { const m = /^(GET|POST|PUT|DELETE|HEAD) (\S+)/.exec(b.toString('latin1', 0, 300)); if (m) note(`> ${m[1]} ${m[2].replace(/\?.*/, '').slice(0, 60)}`); });
    up.on('data', (b: Buffer) => { const m = /^HTTP\/1\.1 (\d+)/.exec(b.toString('latin1', 0, 20)); if (m) note(`< ${m[1]}`); });
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  server.listen(path);
  return server;
}

/** utime+stime and cutime+cstime of a process, ms (clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): { self: number; children: number } {
  if (!pid) return { self: 0, children: 0 };
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { self: (Number(f[11]) + Number(f[12])) * 10, children: (Number(f[13]) + Number(f[14])) * 10 };
}

/**
 * CPU, ms, of the live descendants of `pid` (helpers, pooled shells, the DNS child, …) by
 * pid, each with its own reaped children's (an `nft` run by a pooled shell counts there):
 * `cpuMs` of the daemon misses them until they end.
 */
function descendantsCpu(pid: number | undefined): Map<number, { comm: string; ms: number }> {
  const out = new Map<number, { comm: string; ms: number }>();
  if (!pid) return out;
  const procs: { pid: number; ppid: number; comm: string; ms: number }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
      const f = st.slice(st.lastIndexOf(') ') + 2).split(' ');
      procs.push({ pid: Number(d), ppid: Number(f[1]), comm, ms: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10 });
    } catch { /* gone */ }
  }
  const mine = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (!mine.has(p.pid) && mine.has(p.ppid)) { mine.add(p.pid); grew = true; }
  }
  for (const p of procs) if (p.pid !== pid && mine.has(p.pid)) out.set(p.pid, { comm: p.comm, ms: p.ms });
  return out;
}

/** What the descendants used between two snapshots, by command name. */
function cpuByComm(before: Map<number, { comm: string; ms: number }>, after: Map<number, { comm: string; ms: number }>): string {
  const by = new Map<string, { ms: number; n: number }>();
  for (const [pid, a] of after) {
    const e = by.get(a.comm) ?? by.set(a.comm, { ms: 0, n: 0 }).get(a.comm)!;
    e.ms += a.ms - (before.get(pid)?.ms ?? 0);
    e.n++;
  }
  return [...by].sort((x, y) => y[1].ms - x[1].ms).map(([c, e]) => `${c}×${e.n} ${e.ms} ms`).join(', ');
}

export async function run(args: string[]): Promise<void> {
  const opt = (k: string) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
  const rounds = Number(opt('--rounds') ?? 2);
  process.env.SHOAL_DEBUG ??= '*';
  // `--prof DIR`: the daemons write V8 CPU profiles there when they exit.
  const prof = opt('--prof');
  const pre = opt('--import');
  const nodeArgs = [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...(pre ? ['--import', pre] : [])];
  const daemons = nodeArgs.length ? { command: (ctx: DaemonContext) => { const a = defaultDaemonCommand(ctx); return [a[0], ...nodeArgs, ...a.slice(1)]; } } : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'shoalstt-'));
  writeFileSync(join(dir, 'pw.txt'), 'bench-secret');
  writeFileSync(join(dir, 'app.conf'), 'bench=1\n');
  const lab = await Lab.up({ hosts: 3, prefix: 'shoalstt', replace: true, ...(daemons ? { daemons } : {}) })
    .catch((err: unknown) => { rmSync(dir, { recursive: true, force: true }); throw err; });
  try {
    await formBenchSwarm(lab, until);
    const api = new ApiClient(lab.dockerHost('h1'));
    for (const h of ['h1', 'h2', 'h3']) {
      await new ApiClient(lab.dockerHost(h)).request('POST', '/images/create', { query: { fromImage: `${LAB_REGISTRY}/shoal/bb`, tag: 'v1' }, timeoutMs: 120_000 });
    }
    for (let r = 0; r < rounds; r++) {
      const stack = `t${r}`;
      writeFileSync(join(dir, `stack${r}.yml`), compose(r));
      const marks: [string, number][] = [];
      const cpu0 = Object.fromEntries(['h1', 'h2', 'h3'].map((h) => [h, cpuMs(lab.daemonPid(h))]));
      const kids0 = Object.fromEntries(['h1', 'h2', 'h3'].map((h) => [h, descendantsCpu(lab.daemonPid(h))]));
      const w0 = Date.now();
      const t0 = performance.now();
      const mark = (what: string) => marks.push([what, +(performance.now() - t0).toFixed(1)]);
      const psock = join(dir, `proxy${r}.sock`);
      const proxy = tracingProxy(lab.socket('h1'), psock, mark);
      const cli = runCmd('env', [`DOCKER_HOST=unix://${psock}`, 'sh', '-c', `cd "$1" && shift && exec docker "$@"`, 'sh', dir, 'stack', 'deploy', '-c', `stack${r}.yml`, stack], { timeoutMs: 240_000 })
        .then((x) => { mark(`docker stack deploy exited ${x.code}`); if (x.code) console.log(x.stderr); });
      const seen = new Set<number>();
      await until('20 running', async () => {
        const ts = await api.get<Task[]>('/tasks', { query: { filters: JSON.stringify({ label: [`com.docker.stack.namespace=${stack}`] }) } });
        const n = ts.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').length;
        for (const k of [1, 10, 20]) if (n >= k && !seen.has(k)) { seen.add(k); mark(`poll: ${k} running`); }
        if (ts.length && !seen.has(0)) { seen.add(0); mark(`poll: ${ts.length} tasks exist`); }
        return n === 20;
      });
      await cli;
      // Before the log is read: the helpers a round started are still alive.
      const kids1 = Object.fromEntries(['h1', 'h2', 'h3'].map((h) => [h, descendantsCpu(lab.daemonPid(h))]));
      proxy.close();
      const w1 = Date.now() + 50;
      console.log(`\n=== round ${r}: ${marks.at(-1)?.[1]} ms (${new Date(w0).toISOString()} .. ${new Date(w1).toISOString()})`);
      for (const [w, ms] of marks) console.log(`  bench ${ms.toFixed(0).padStart(6)}  ${w}`);
      for (const h of ['h1', 'h2', 'h3']) {
        const c = cpuMs(lab.daemonPid(h));
        console.log(`  ${h} daemon cpu ${c.self - cpu0[h].self} ms, its reaped children ${c.children - cpu0[h].children} ms`);
        console.log(`  ${h} live descendants (with what they reaped): ${cpuByComm(kids0[h], kids1[h]) || 'none'}`);
      }
      for (const h of ['h1', 'h2', 'h3']) {
        const tl = timeline(readFileSync(lab.daemonLog(h), 'utf8'), w0, w1);
        const rows = [...tl].sort((a, b) => a[1].first - b[1].first);
        for (const [k, e] of rows) console.log(`  ${h} ${String(e.first).padStart(6)} ${String(e.last).padStart(6)} x${String(e.n).padEnd(4)} ${k}`);
      }
      for (const h of ['h1', 'h2', 'h3']) {
        const { states, steps, lines } = phases(readFileSync(lab.daemonLog(h), 'utf8'), w0, w1, STEP_LINES);
        console.log(`  --- ${h}: tasks reaching each state (ms)`);
        for (const s of states) console.log(`    ${s}`);
        console.log(`    per task: ${steps}`);
        if (args.includes('--steps')) for (const l of lines) console.log(`    ${l}`);
      }
      await runCmd('env', [`DOCKER_HOST=${lab.dockerHost('h1')}`, 'docker', 'stack', 'rm', stack], { timeoutMs: 60_000 });
      await until(`stack ${stack} gone`, async () => {
        const q = { query: { filters: JSON.stringify({ label: [`com.docker.stack.namespace=${stack}`] }) } };
        const [ts, nets] = await Promise.all([api.get<Task[]>('/tasks', q), api.get<unknown[]>('/networks', q)]);
        return ts.every((t) => t.Status.State !== 'running') && nets.length === 0;
      });
    }
    if (prof) {
      // A daemon writes its profile when it exits: stop each by its PID and wait for it.
      const pids = ['h1', 'h2', 'h3'].map((h) => lab.daemonPid(h)).filter((p): p is number => !!p);
      for (const p of pids) process.kill(p, 'SIGTERM');
      await until('daemons exited', async () => pids.every((p) => { try { process.kill(p, 0); return false; } catch { return true; } }));
    }
  } finally {
    if (!args.includes('--keep')) await lab.down();
    rmSync(dir, { recursive: true, force: true });
  }
}
