/**
 * `npm run bench -- network-dns [--rounds N] [--queries N] [--tasks N] [--hosts N] [--rt] [--no-docker]`
 *
 * A task's DNS latency, Shoal against Docker Swarm 20.10 in the same run (issue 20, item 5),
 * without the rest of the network bench (whose DNS step calls {@link dnsWhileScaling} too).
 * Both labs stay up (the same hosts, image, services); rounds alternate which side goes
 * first; each figure is the median of the rounds with min and max (fair.ts).
 *
 * The same client on both sides, run inside the `client` task's netns on h1 with the
 * host's Perl (no JIT or garbage collector of its own in the timings):
 * - quiet, `dns_p50_ms`, `dns_p99_ms`: `--queries` (default 2000) back-to-back A queries
 *   for `web` to 127.0.0.11 (labs/lib/dnsq.pl, as the network bench), once both sides' labs
 *   are quiet (`dns_settle_ms`: how long that took);
 * - busy, `dns_scale60_p50_ms`, `dns_scale60_p99_ms`, `dns_scale60_max_ms`: one query every
 *   millisecond (dnsq-until.pl; an unanswered one counts 1000 ms) from just before a
 *   service `filler` on the same network is scaled 0 → `--tasks` (default 60) until all of
 *   them run; `scale60_s` how long that took. Then `filler` goes back to 0.
 * `--rt`: the client runs as SCHED_FIFO on both sides (a loaded machine's wake-up delays of
 * the client itself otherwise make most of the tail). Docker's twins carry the `docker_` prefix. Asserts nothing about time.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../src/api/client.ts';
import { labCgroupDir } from '../lib/cgroup.ts';
import { Lab } from '../lib/lab.ts';
import { dnsLatency } from '../lib/netprobe.ts';
import { run as runCmd, sleep } from '../lib/procs.ts';
import { createNetwork, createService, placedTasks, webSpec, type PlacedTask } from '../lib/swarm-net.ts';
import { formSwarm, IMAGE, scale, tasksOf, waitFor, waitRunning } from '../lib/swarm-services.ts';
import { DNS_BUSY_NICE, DNS_NICE, DNS_SLICE_NS } from '../../src/agent/network/dns-process.ts';
import { DOCKERD, downLabs, upDockerLab } from './docker-swarm-lab.ts';
import { flag, orderFor } from './fair.ts';
import { networkFigures, pullOnEveryHost } from './network.ts';
import { failure } from './network-overlay.ts';

const UNTIL = fileURLToPath(new URL('./dnsq-until.pl', import.meta.url));
type Out = Record<string, number | string>;

/** Where a side's client task is: Shoal names its netns, Docker gives the container's PID. */
export interface DnsClientTask {
  lab: Lab;
  docker: boolean;
  client: PlacedTask;
  /** The overlay network the client (and the filler tasks) are on. */
  netId: string;
  /**
   * Run the client as SCHED_FIFO (`chrt -f 1`), on both sides alike: on a loaded machine
   * the client's own wake-up after each answer is otherwise most of the tail.
   */
  rt?: boolean;
}

/** The argv prefix entering the client's host, as SCHED_FIFO with `rt`. */
const enterHost = (c: DnsClientTask) => [...c.lab.enterCommand(c.client.host), ...(c.rt ? ['chrt', '-f', '1'] : [])];

const into = (c: DnsClientTask) => (c.docker && c.client.pid ? ['nsenter', '-t', String(c.client.pid), '-n'] : ['nsenter', `--net=/run/netns/${c.client.netns}`]);

/** The labs are quiet when all their processes together used less than this share of one CPU per lab over {@link SETTLE_WINDOW_MS}. */
const SETTLE_CPU = 0.15;
const SETTLE_WINDOW_MS = 1000;
/** Give up waiting for quiet after this long (the figure is then taken anyway, `dns_settle_ms` shows it). */
const SETTLE_MAX_MS = 30_000;

/**
 * Waits until every lab of the run is quiet (their cgroups' CPU time, cgroup v2
 * `cpu.stat`): a quiet figure taken right after setup or after 60 tasks were removed
 * otherwise times that clean-up (either side's: both labs share the CPUs), and the side
 * that goes first in more rounds pays it more often. Resolves with the ms waited (0
 * without cgroup v2).
 */
async function settle(labs: readonly Lab[]): Promise<number> {
  const dirs = labs.map((l) => labCgroupDir(l.names.cgroupName)).filter((d): d is string => d !== undefined);
  const usage = () => dirs.reduce((sum, d) => {
    try { return sum + Number(/usage_usec (\d+)/.exec(readFileSync(`${d}/cpu.stat`, 'utf8'))?.[1] ?? 0); } catch { return sum; }
  }, 0);
  const t0 = Date.now();
  if (dirs.length === 0) return 0;
  while (Date.now() - t0 < SETTLE_MAX_MS) {
    const u0 = usage();
    await sleep(SETTLE_WINDOW_MS);
    if ((usage() - u0) / 1000 < SETTLE_CPU * labs.length * SETTLE_WINDOW_MS) break;
  }
  return Date.now() - t0;
}

/** Quiet latency: `n` back-to-back queries for `name` (dnsq.pl), as the network bench times it, once `quiet` (default the side's own lab) are quiet. */
export async function dnsQuiet(c: DnsClientTask, n: number, name = 'web', quiet: readonly Lab[] = [c.lab]): Promise<Out> {
  const waited = await settle(quiet);
  const where = c.docker ? { pid: c.client.pid } : { netns: c.client.netns };
  const d = await dnsLatency(enterHost(c), where, n, name);
  if (d.errors) throw new Error(`${d.errors} of ${n} queries unanswered`);
  return { dns_p50_ms: d.p50_ms, dns_p99_ms: d.p99_ms, dns_max_ms: d.max_ms, dns_settle_ms: waited };
}

/**
 * Latency while `tasks` tasks start: a paced client (one query per ms, dnsq-until.pl)
 * runs in the client task from before the scale of service `filler` (made on first use,
 * same network, `sleep`) until all of them run; then `filler` goes back to 0 and this
 * waits until none of its tasks runs, so the next measurement is quiet again.
 */
export async function dnsWhileScaling(c: DnsClientTask, tasks = 60, name = 'web'): Promise<Out> {
  const { lab } = c;
  if (!(await serviceExists(lab, 'filler'))) {
    await createService(lab, webSpec('filler', { networks: [c.netId], replicas: 0, command: ['sleep', '86400'] }));
  }
  const stop = join(lab.baseDir, `dnsq-stop-${process.pid}`);
  rmSync(stop, { force: true });
  const [cmd, ...rest] = [...enterHost(c), ...into(c), 'perl', UNTIL, name, stop, '1000', '600'];
  const client = runCmd(cmd, rest, { timeoutMs: 660_000 });
  let took = 0;
  try {
    await new Promise((r) => setTimeout(r, 500)); // the client runs before the scale starts
    const t0 = Date.now();
    await scale(lab, 'filler', tasks);
    await waitRunning(lab, 'filler', tasks, 'h1', 600_000);
    took = (Date.now() - t0) / 1000;
  } finally {
    writeFileSync(stop, '');
  }
  const r = await client;
  rmSync(stop, { force: true });
  let d: { n: number; p50_ms: number; p99_ms: number; max_ms: number; errors: number };
  try {
    d = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    throw new Error(`dnsq-until: no result (code ${r.code}): ${r.stderr.trim().slice(-300)}`);
  }
  await scale(lab, 'filler', 0);
  // Until the orchestrator removed every filler task (each was shut down on its node),
  // so the next measurement does not run beside this side's clean-up.
  await waitFor('filler tasks removed', async () => (await tasksOf(lab, 'filler')).length === 0, 120_000).catch(() => {});
  return {
    dns_scale60_p50_ms: d.p50_ms, dns_scale60_p99_ms: d.p99_ms, dns_scale60_max_ms: d.max_ms,
    dns_scale60_queries: d.n, dns_scale60_errors: d.errors, scale60_s: Math.round(took * 10) / 10,
  };
}

async function serviceExists(lab: Lab, name: string): Promise<boolean> {
  const r = await new ApiClient(lab.dockerHost('h1')).request('GET', `/services/${name}`);
  return r.status === 200;
}

/** Sets one side up: swarm, network `bench`, the `client` task on h1 and one `web` task off it. */
async function setup(lab: Lab, docker: boolean, hosts: number): Promise<DnsClientTask> {
  const hostOf = await formSwarm(lab, { hosts });
  if (docker) await pullOnEveryHost(lab);
  const netId = await createNetwork(lab, 'bench', { attachable: true });
  await createService(lab, webSpec('client', { networks: [netId], command: ['sleep', '86400'], constraints: ['node.hostname==h1'] }));
  await createService(lab, webSpec('web', { networks: [netId], constraints: ['node.hostname!=h1'] }));
  const [client] = await placedTasks(lab, 'client', hostOf, 1, netId, 180_000);
  await placedTasks(lab, 'web', hostOf, 1, netId, 180_000);
  return { lab, docker, client, netId };
}

/**
 * The JSON figures of both sides over their rounds (network.ts's `networkFigures`: median,
 * min, max, runs, failures kept), the uptime of each measurement, and the target flags of
 * issue 20 (DNS p99 at most Docker's, quiet and while tasks start), which read 'met' only
 * when Docker's figure exists. Pure.
 */
export function dnsReport(shoal: Out[], docker: Out[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rounds, prefix] of [[shoal, ''], [docker, 'docker_']] as const) {
    if (!rounds) continue;
    const figures = networkFigures(rounds.map((o) => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('uptime')))), prefix);
    Object.assign(out, figures, { [`${prefix}uptimes`]: rounds.map((o) => `quiet: ${o.uptime_quiet ?? '?'}; busy: ${o.uptime_busy ?? '?'}`) });
  }
  const n = (k: string) => (typeof out[k] === 'number' ? (out[k] as number) : null);
  out.target_dns_p99 = flag(n('dns_p99_ms'), n('docker_dns_p99_ms'), 1);
  out.target_dns_scale60_p99 = flag(n('dns_scale60_p99_ms'), n('docker_dns_scale60_p99_ms'), 1);
  return out;
}

export async function run(args: string[]): Promise<void> {
  const num = (f: string, def: number) => (args.includes(f) ? Number(args[args.indexOf(f) + 1]) : def);
  const rounds = Math.max(3, num('--rounds', 3));
  const queries = num('--queries', 2000);
  const tasks = num('--tasks', 60);
  const hosts = num('--hosts', 3);
  const rt = args.includes('--rt');
  const labs: Lab[] = [];
  const sides: { name: string; prefix: string; ctx?: DnsClientTask; error?: string }[] = [];
  const out: Record<string, unknown> = {
    bench: 'network-dns', rounds, order: 'rounds alternate which side goes first',
    settings: {
      image: IMAGE, hosts, queries, scale_tasks: tasks, client: `Perl (dnsq.pl quiet, dnsq-until.pl paced 1 ms while scaling), same on both sides${rt ? ', SCHED_FIFO (chrt -f 1)' : ''}`,
      // As shipped: Docker's resolver runs in dockerd at its default priority.
      shoal_dns_child: `nice ${DNS_NICE} (thread and autogroup), EEVDF slice ${DNS_SLICE_NS / 1000} us; nice ${DNS_BUSY_NICE} while its loop uses over half a CPU`,
    },
  };
  const uptime = async () => (await runCmd('uptime', [])).stdout.trim();
  out.uptime_start = await uptime();
  try {
    const lab = await Lab.up({ hosts, prefix: 'shoaldq', replace: true });
    labs.push(lab);
    sides.push({ name: 'shoal', prefix: '' });
    if (args.includes('--no-docker')) out.docker_note = 'skipped (--no-docker)';
    else if (!existsSync(DOCKERD)) out.docker_note = `${DOCKERD} is missing: run bash scripts/setup.sh --bench`;
    else {
      labs.push(await upDockerLab({ hosts, prefix: 'shoaldk', registry: true }));
      sides.push({ name: 'docker', prefix: 'docker_' });
    }
    for (const [i, s] of sides.entries()) {
      try { s.ctx = { ...(await setup(labs[i], s.name === 'docker', hosts)), rt }; } catch (err) { s.error = failure(err); console.log(`${s.name}: setup ${s.error}`); }
    }
    // Each round: every side's quiet figure (sides alternating), then every side's busy one,
    // so that no quiet figure is taken while a side still tears down its filler tasks.
    const got = new Map<string, Out[]>(sides.map((s) => [s.name, []]));
    for (let r = 0; r < rounds; r++) {
      const o = new Map<string, Out>(sides.map((s) => [s.name, {}]));
      for (const [phase, fn] of [['quiet', (c: DnsClientTask) => dnsQuiet(c, queries, 'web', labs)], ['busy', (c: DnsClientTask) => dnsWhileScaling(c, tasks)]] as const) {
        for (const s of orderFor(r, sides)) {
          const into = o.get(s.name)!;
          const key = phase === 'quiet' ? 'dns_p99_ms' : 'dns_scale60_p99_ms';
          if (!s.ctx) into[key] = s.error ?? 'fail: not set up';
          else {
            try { Object.assign(into, await fn(s.ctx)); } catch (err) { into[key] = failure(err); }
          }
          into[`uptime_${phase}`] = await uptime();
          console.log(`round ${r + 1} ${phase} ${s.name}: ${JSON.stringify(into)}`);
        }
      }
      for (const s of sides) got.get(s.name)!.push(o.get(s.name)!);
    }
    Object.assign(out, dnsReport(got.get('shoal')!, got.get('docker')));
    out.docker_ran = sides.some((s) => s.name === 'docker' && s.ctx);
  } finally {
    await downLabs(labs);
  }
  out.uptime_end = await uptime();
  console.log(JSON.stringify(out));
}
