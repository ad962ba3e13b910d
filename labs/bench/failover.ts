/**
 * `npm run bench -- failover [--runs N] [--docker-runs N] [--join-runs N] [--partition-runs N] [--no-docker]`
 *
 * Manager failover, Shoal against Docker Swarm, on the same lab (3 hosts, one daemon
 * each; Docker: Debian's docker.io dockerd per host, see docker-swarm-lab.ts):
 *
 * - init / join: `swarm init` on h1, `swarm join` of h2 with the worker token and of h3
 *   with the manager token, each timed from the request to its answer (`--join-runs`
 *   times, everyone leaving in between). A Docker manager's join answers once it is a
 *   Raft member; a Shoal manager's join answers when it serves, and it becomes a voter
 *   a little later (the leader adds it as a learner, then promotes it once caught up),
 *   so that time is given too (`join_manager_voter_ms`, from the leader's log).
 * - failover: 3 managers; kill -9 of the leader's daemon; time until a write — a label
 *   added to a node through another manager, as `docker node update --label-add` does
 *   it (GET /nodes/ID, then POST /nodes/ID/update?version=N) — succeeds. Attempts start
 *   every 100 ms (at most 8 in flight, 20 s timeout each), so a request stuck on the dead
 *   leader costs no more than the next attempt, and one that would succeed late is not
 *   cut short. Median over `--runs` (default 5;
 *   Docker `--docker-runs`, default 5). Between runs the killed host (dockerd with its
 *   containerd) restarts, and the next run waits until it has caught up (it reads the
 *   last write) and the leader sees every manager reachable.
 * - partition failover (Shoal only, `--partition-runs`, default 3): the same write after
 *   the leader is cut off the underlay instead of killed — no connection reset tells the
 *   others, so this is the election-timeout path (`failover_partition_ms`).
 *
 * Both systems are driven through the same Engine API calls over the hosts' sockets.
 * Prints figures; the last line is one JSON object. Asserts nothing about time.
 */
import { readFileSync } from 'node:fs';
import { Lab } from '../lib/lab.ts';
import { signal } from '../lib/procs.ts';
import { SWARM_PORT, addLabel, api, leaderOf, waitFor, waitForLeader } from '../lib/swarm-lab.ts';
import { DockerMissingError, upDockerLab } from './docker-swarm-lab.ts';

const MANAGERS = ['h1', 'h2', 'h3'];

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return +(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2).toFixed(1);
}

const round = (x: number) => +x.toFixed(1);

/** What one system measured. */
interface Figures {
  init: number[];
  joinWorker: number[];
  joinManager: number[];
  /** Shoal only: join request → the leader promoted it to voter. */
  joinManagerVoter: number[];
  failover: number[];
  /** Attempts each failover took until one succeeded. */
  attempts: number[];
  /** Failover after cutting the leader off the network (no connection resets to notice). */
  partition: number[];
}

interface System {
  name: 'shoal' | 'docker';
  lab: Lab;
}

/** Every node ID by host, as the daemons say (GET /info). */
async function nodeIds(lab: Lab, hosts: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of hosts) out[h] = (await api(lab, h).swarmInfo()).NodeID;
  return out;
}

async function leaveAll(lab: Lab): Promise<void> {
  for (const h of [...MANAGERS].reverse()) {
    const info = await api(lab, h).swarmInfo();
    if (info.LocalNodeState !== 'inactive') await api(lab, h).leave(true);
  }
}

/** True once the leader's log says it promoted `nodeId` to voter (Shoal). */
function shoalVoter(lab: Lab, nodeId: string): boolean {
  for (const h of lab.hosts) {
    try {
      if (readFileSync(lab.daemonLog(h), 'utf8').includes(`raft membership change kind=promote nodeId=${nodeId}`)) return true;
    } catch { /* not yet */ }
  }
  return false;
}

/** One init / join round on a fresh swarm: h1 init, h2 worker, h3 manager. */
async function joinRound(sys: System, f: Figures): Promise<void> {
  const { lab } = sys;
  await leaveAll(lab);
  let t0 = performance.now();
  await api(lab, 'h1').init(lab.address('h1'));
  f.init.push(performance.now() - t0);
  const s = await api(lab, 'h1').swarm();
  const remote = `${lab.address('h1')}:${SWARM_PORT}`;
  t0 = performance.now();
  await api(lab, 'h2').join({ advertise: lab.address('h2'), remote, token: s.JoinTokens.Worker });
  f.joinWorker.push(performance.now() - t0);
  t0 = performance.now();
  await api(lab, 'h3').join({ advertise: lab.address('h3'), remote, token: s.JoinTokens.Manager });
  f.joinManager.push(performance.now() - t0);
  if (sys.name === 'shoal') {
    const id = (await api(lab, 'h3').swarmInfo()).NodeID;
    await waitFor('h3 a voter', () => shoalVoter(lab, id), { timeoutMs: 30_000, intervalMs: 5 });
    f.joinManagerVoter.push(performance.now() - t0);
  }
  await waitFor('3 nodes ready', async () => {
    const nodes = await api(lab, 'h1').nodes();
    return nodes.length === 3 && nodes.every((n) => n.Status.State === 'ready');
  }, { timeoutMs: 60_000 });
}

/** A fresh swarm of 3 managers, all voters and reachable. */
async function threeManagers(sys: System): Promise<Record<string, string>> {
  const { lab } = sys;
  await leaveAll(lab);
  await api(lab, 'h1').init(lab.address('h1'));
  const s = await api(lab, 'h1').swarm();
  for (const h of ['h2', 'h3']) {
    await api(lab, h).join({ advertise: lab.address(h), remote: `${lab.address('h1')}:${SWARM_PORT}`, token: s.JoinTokens.Manager });
  }
  const ids = await nodeIds(lab, MANAGERS);
  if (sys.name === 'shoal') for (const h of ['h2', 'h3']) await waitFor(`${h} a voter`, () => shoalVoter(lab, ids[h]), { timeoutMs: 30_000 });
  await allReachable(lab, ids);
  return ids;
}

/** Waits until every manager answers and the leader lists every manager reachable and ready. */
async function allReachable(lab: Lab, ids: Record<string, string>, timeoutMs = 120_000): Promise<void> {
  await waitFor('all managers reachable', async () => {
    const leader = await waitForLeader(lab, MANAGERS, ids, { timeoutMs: 5000 });
    const nodes = await api(lab, leader, 3000).nodes();
    if (!nodes.every((n) => n.ManagerStatus?.Reachability === 'reachable' && n.Status.State === 'ready')) return false;
    for (const h of MANAGERS) await api(lab, h, 3000).nodes();
    return true;
  }, { timeoutMs, intervalMs: 200 });
}

/** How the attempts of one measurement failed before the first success: message → count, first seen (ms after t0). */
type ErrorTally = Record<string, { n: number; firstMs: number }>;

/**
 * Starts an attempt every `intervalMs` (at most `maxInFlight` in flight) until one
 * succeeds; resolves with the time of the first success after `t0`, the attempts made
 * and how the others failed.
 */
async function firstSuccess(attempt: () => Promise<void>, t0: number, opts: { intervalMs: number; maxInFlight: number; timeoutMs: number }): Promise<{ ms: number; attempts: number; errors: ErrorTally }> {
  return new Promise((resolve, reject) => {
    let inFlight = 0;
    let attempts = 0;
    let done = false;
    const errors: ErrorTally = {};
    const timer = setInterval(() => {
      if (done) return;
      if (performance.now() - t0 > opts.timeoutMs) {
        done = true;
        clearInterval(timer);
        reject(new Error(`bench: no write succeeded within ${opts.timeoutMs} ms (errors: ${JSON.stringify(errors)})`));
        return;
      }
      if (inFlight >= opts.maxInFlight) return;
      inFlight++;
      attempts++;
      attempt().then(() => {
        if (!done) {
          done = true;
          clearInterval(timer);
          resolve({ ms: performance.now() - t0, attempts, errors });
        }
      }, (err: unknown) => {
        const k = (err as Error).message.replace(/unix:\/\/\S+/, 'SOCKET').slice(0, 90);
        errors[k] ??= { n: 0, firstMs: Math.round(performance.now() - t0) };
        errors[k].n++;
      }).finally(() => inFlight--);
    }, opts.intervalMs);
  });
}

/** Attempt pacing, the same for both systems: a request is never abandoned before the next could succeed. */
const ATTEMPTS = { intervalMs: 100, maxInFlight: 8, timeoutMs: 120_000 };
/** Per-request timeout of an attempt, ms (long: a request that would succeed is not cut short). */
const ATTEMPT_TIMEOUT_MS = 20_000;

function describeErrors(errors: ErrorTally): string {
  return Object.entries(errors).map(([m, e]) => `${e.n}x from ${e.firstMs} ms: ${m}`).join('; ');
}

/** One failover: kill -9 of the leader's daemon, a write through another manager. */
async function failoverRun(sys: System, ids: Record<string, string>, run: number, f: Figures, log: (m: string) => void): Promise<void> {
  const { lab } = sys;
  await allReachable(lab, ids);
  const leader = leaderOf(await api(lab, 'h1').nodes().catch(() => api(lab, 'h2').nodes()), ids)
    ?? await waitForLeader(lab, MANAGERS, ids);
  const via = MANAGERS.find((h) => h !== leader)!;
  const target = ids[via];
  const pid = lab.daemonPid(leader);
  if (!pid) throw new Error(`bench: no daemon pid for ${leader}`);
  const key = `failover-${run}`;
  const t0 = performance.now();
  signal(pid, 'SIGKILL');
  const r = await firstSuccess(() => addLabel(lab, via, target, key, String(run), ATTEMPT_TIMEOUT_MS), t0, ATTEMPTS);
  f.failover.push(r.ms);
  f.attempts.push(r.attempts);
  log(`${sys.name} failover ${run + 1}: leader ${leader} killed, write through ${via} after ${round(r.ms)} ms (${r.attempts} attempts; ${describeErrors(r.errors) || 'no errors'})`);
  // The rest of the host (Docker: its containerd), then the daemon again.
  await lab.killDaemon(leader);
  const t1 = performance.now();
  await lab.startDaemon(leader);
  await waitFor(`${leader} caught up`, async () => (await api(lab, leader, 3000).node(target)).Spec.Labels[key] === String(run), { timeoutMs: 120_000, intervalMs: 100 });
  log(`${sys.name}   ${leader} restarted and caught up in ${round(performance.now() - t1)} ms`);
}

/**
 * The same with the leader cut off the underlay (nftables drop) instead of killed: its
 * peers see no connection reset, only silence, so this is the election-timeout path.
 */
async function partitionRun(sys: System, ids: Record<string, string>, run: number, f: Figures, log: (m: string) => void): Promise<void> {
  const { lab } = sys;
  await allReachable(lab, ids);
  const leader = await waitForLeader(lab, MANAGERS, ids);
  const via = MANAGERS.find((h) => h !== leader)!;
  const target = ids[via];
  const key = `partition-${run}`;
  const t0 = performance.now();
  await lab.partition(leader);
  const r = await firstSuccess(() => addLabel(lab, via, target, key, String(run), ATTEMPT_TIMEOUT_MS), t0, ATTEMPTS);
  f.partition.push(r.ms);
  log(`${sys.name} partition ${run + 1}: leader ${leader} cut off, write through ${via} after ${round(r.ms)} ms (${r.attempts} attempts; ${describeErrors(r.errors) || 'no errors'})`);
  await lab.heal();
  await waitFor(`${leader} caught up after heal`, async () => (await api(lab, leader, 3000).node(target)).Spec.Labels[key] === String(run), { timeoutMs: 120_000, intervalMs: 100 });
}

async function measure(sys: System, opts: { runs: number; joinRuns: number; partitionRuns: number }, log: (m: string) => void): Promise<Figures> {
  const f: Figures = { init: [], joinWorker: [], joinManager: [], joinManagerVoter: [], failover: [], attempts: [], partition: [] };
  for (let i = 0; i < opts.joinRuns; i++) {
    await joinRound(sys, f);
    log(`${sys.name} join round ${i + 1}: init ${round(f.init[i])} ms, join worker ${round(f.joinWorker[i])} ms, join manager ${round(f.joinManager[i])} ms${f.joinManagerVoter[i] !== undefined ? ` (voter after ${round(f.joinManagerVoter[i])} ms)` : ''}`);
  }
  const ids = await threeManagers(sys);
  for (let i = 0; i < opts.runs; i++) await failoverRun(sys, ids, i, f, log);
  for (let i = 0; i < opts.partitionRuns; i++) await partitionRun(sys, ids, i, f, log);
  return f;
}

function summary(name: string, f: Figures): string {
  const fmt = (xs: number[]) => `median ${median(xs)} ms  [${xs.map(round).join(', ')}]`;
  return [
    `${name}: swarm init        ${fmt(f.init)}`,
    `${name}: join worker       ${fmt(f.joinWorker)}`,
    `${name}: join manager      ${fmt(f.joinManager)}`,
    ...(f.joinManagerVoter.length ? [`${name}: manager → voter   ${fmt(f.joinManagerVoter)}`] : []),
    `${name}: failover (write)  ${fmt(f.failover)}`,
    ...(f.partition.length ? [`${name}: partition failover ${fmt(f.partition)}`] : []),
  ].join('\n');
}

export async function run(args: string[]): Promise<void> {
  const runs = arg(args, 'runs', 5);
  const dockerRuns = arg(args, 'docker-runs', 5);
  const joinRuns = arg(args, 'join-runs', 5);
  const partitionRuns = arg(args, 'partition-runs', 3);
  const noDocker = args.includes('--no-docker');
  const log = (m: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

  const shoalLab = await Lab.up({ hosts: 3, prefix: 'shoalfo', registry: false, replace: true });
  let shoal: Figures;
  try {
    shoal = await measure({ name: 'shoal', lab: shoalLab }, { runs, joinRuns, partitionRuns }, log);
  } finally {
    await shoalLab.down();
  }
  console.log(summary('shoal', shoal));

  let docker: Figures | undefined;
  let dockerNote: string | undefined;
  if (!noDocker) {
    let dockerLab: Lab | undefined;
    try {
      dockerLab = await upDockerLab({ hosts: 3, prefix: 'shoalfd' });
      docker = await measure({ name: 'docker', lab: dockerLab }, { runs: dockerRuns, joinRuns, partitionRuns: 0 }, log);
      console.log(summary('docker', docker));
    } catch (err) {
      if (!(err instanceof DockerMissingError)) throw err;
      dockerNote = err.message;
      console.log(`docker: skipped: ${err.message}`);
    } finally {
      await dockerLab?.down();
    }
  }

  const m = (xs?: number[]) => (xs && xs.length ? median(xs) : null);
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? +(a / b).toPrecision(3) : null);
  const out = {
    bench: 'failover',
    failover_ms: m(shoal.failover),
    docker_failover_ms: m(docker?.failover),
    failover_ratio: ratio(m(shoal.failover), m(docker?.failover)),
    init_ms: m(shoal.init),
    docker_init_ms: m(docker?.init),
    init_ratio: ratio(m(shoal.init), m(docker?.init)),
    join_ms: m(shoal.joinWorker),
    docker_join_ms: m(docker?.joinWorker),
    join_ratio: ratio(m(shoal.joinWorker), m(docker?.joinWorker)),
    join_manager_ms: m(shoal.joinManager),
    docker_join_manager_ms: m(docker?.joinManager),
    join_manager_ratio: ratio(m(shoal.joinManager), m(docker?.joinManager)),
    join_manager_voter_ms: m(shoal.joinManagerVoter),
    failover_partition_ms: m(shoal.partition),
    failover_runs: shoal.failover.length,
    docker_failover_runs: docker?.failover.length ?? 0,
    join_runs: shoal.init.length,
    docker_join_runs: docker?.init.length ?? 0,
    failover_target_met: m(shoal.failover) !== null && m(shoal.failover)! <= 1500 && (m(docker?.failover) === null || m(shoal.failover)! <= m(docker?.failover)! / 10),
    write: 'GET /nodes/ID + POST /nodes/ID/update (docker node update --label-add), through a surviving manager',
    join_note: 'join_ms: worker token; join_manager_ms: manager token (a Shoal manager answers before its voter promotion, join_manager_voter_ms; a Docker manager after joining Raft)',
    ...(dockerNote ? { docker_note: dockerNote } : {}),
  };
  console.log(JSON.stringify(out));
}
