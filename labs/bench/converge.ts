/**
 * `npm run bench -- converge [--rounds N] [--no-docker] [--timeout-ms N]`
 *
 * Fair (issue 20, see fair.ts): both labs stay up; each round runs Shoal like for like
 * (the swarm inited with Docker's 5 s dispatcher heartbeat), Shoal as shipped (1 s) and
 * Docker (its default, 5 s), in alternating order; each figure is the median of at least
 * 3 rounds with min and max; a failed round is reported; flags read 'met' only when Docker ran.
 *
 * How fast a service converges, Shoal against Docker Swarm on the same lab (3 hosts, h1
 * the manager, h2 and h3 workers; Docker: Debian's docker.io dockerd per host, see
 * docker-swarm-lab.ts), the same image from the lab registry (`sleep 3600`, stop grace
 * 1 s), both driven through the same Engine API calls:
 *
 * - `create10_ms`, `create60_ms`: `POST /services/create` with N replicas until N tasks
 *   run (the image is pulled on every host first, and a warm-up service runs once;
 *   Docker's lab dockerd never pulls for a task, see docker-swarm-lab.ts);
 * - `scale_up_ms`: 10 → 60 until 60 run; `scale_down_ms`: 60 → 10 until only 10 run
 *   (the others stopped);
 * - `reschedule_ms`: kill -9 of h3 (daemon and containers) until the service's 10 tasks
 *   run on h1 and h2 again.
 *
 * Prints figures; the last line is one JSON object (each figure like for like, its
 * `_defaults` twin, its `docker_` twins and ratios Docker / Shoal). Asserts nothing about time.
 */
import { existsSync } from 'node:fs';
import { ApiClient } from '../../src/api/client.ts';
import type { Service, ServiceSpec } from '../../src/api/types/service.ts';
import type { Task } from '../../src/api/types/task.ts';
import { Lab } from '../lib/lab.ts';
import { IMAGE, waitFor } from '../lib/swarm-services.ts';
import { formBenchSwarm } from './bench-swarm.ts';
import { DOCKERD, downLabs, upDockerLab } from './docker-swarm-lab.ts';
import { type SideRounds, alternateRecords, figureFields, flag, ratio } from './fair.ts';


/** How long one step may take before the bench gives up, ms (`--timeout-ms`, default 180 000). */
let stepTimeoutMs = 180_000;

type Figures = Record<'create10_ms' | 'create60_ms' | 'scale_up_ms' | 'scale_down_ms' | 'reschedule_ms', number>;

/** Benchmarks poll every 50 ms so the figures are not rounded up to a slow poll. */
function until<T>(what: string | (() => string), fn: () => Promise<T | false | undefined>, timeoutMs = stepTimeoutMs): Promise<T> {
  return waitFor(what, fn, timeoutMs, 50);
}

/** The steps, over the Engine API of h1 (the manager) of a 3-host lab. */
class Steps {
  readonly api: ApiClient;
  hostOf = new Map<string, string>();

  constructor(private readonly lab: Lab) {
    this.api = new ApiClient(lab.dockerHost('h1'));
  }

  /** `heartbeatNs`: the swarm's dispatcher heartbeat (like for like); the side's default when undefined. */
  async formSwarm(heartbeatNs?: number): Promise<void> {
    const nodes = await formBenchSwarm(this.lab, until, heartbeatNs ? { Dispatcher: { HeartbeatPeriod: heartbeatNs } } : undefined);
    this.hostOf = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
  }

  /** Back to no swarm between rounds: h3 (killed by the reschedule step) restarted, every host out of the swarm. */
  async reset(): Promise<void> {
    if (!this.lab.daemonPid('h3')) await this.lab.startDaemon('h3');
    for (const h of ['h3', 'h2', 'h1']) {
      const api = new ApiClient(this.lab.dockerHost(h));
      const info = await api.get<{ Swarm: { LocalNodeState: string } }>('/info');
      if (info.Swarm.LocalNodeState !== 'inactive') await api.post('/swarm/leave', undefined, { query: { force: 'true' }, timeoutMs: 60_000 });
    }
  }

  /** The daemon's version (GET /version), for the JSON. */
  async version(): Promise<string> {
    return (await this.api.get<{ Version: string }>('/version')).Version;
  }

  async create(name: string, replicas: number): Promise<string> {
    const spec: ServiceSpec = {
      Name: name, Labels: {}, Mode: { Replicated: { Replicas: replicas } },
      TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } },
    };
    return (await this.api.post<{ ID: string }>('/services/create', spec)).ID;
  }

  async tasks(id: string): Promise<Task[]> {
    return this.api.get<Task[]>('/tasks', { query: { filters: JSON.stringify({ service: [id] }) } });
  }

  /**
   * Until exactly `n` tasks are in state running, all of them wanted. With `avoid` (a lost
   * host): until `n` wanted tasks run elsewhere (the lost host's tasks keep their last
   * reported state, as in Docker).
   */
  async running(id: string, n: number, avoid?: string): Promise<void> {
    let seen = '';
    await until(() => `${n} running tasks (last seen: ${seen})`, async () => {
      const all = await this.tasks(id);
      seen = [...new Set(all.map((t) => `${t.Status.State} ${t.Status.Err ?? ''}`))].join('; ');
      let ts = all.filter((t) => t.Status.State === 'running');
      if (avoid) ts = ts.filter((t) => t.DesiredState === 'running');
      return ts.length === n && ts.every((t) => t.DesiredState === 'running') && (!avoid || ts.every((t) => this.hostOf.get(t.NodeID!) !== avoid));
    });
  }

  async scale(id: string, replicas: number): Promise<void> {
    const s = await this.api.get<Service>(`/services/${id}`);
    await this.api.post(`/services/${id}/update`, { ...s.Spec, Mode: { Replicated: { Replicas: replicas } } }, { query: { version: s.Version.Index } });
  }

  async remove(id: string): Promise<void> {
    await this.api.delete(`/services/${id}`);
    await until('no task running', async () => (await this.tasks(id).catch(() => [])).every((t) => t.Status.State !== 'running'));
  }

  async timed(fn: () => Promise<void>): Promise<number> {
    const t0 = performance.now();
    await fn();
    return +(performance.now() - t0).toFixed(1);
  }

  async all(log: (m: string) => void, heartbeatNs?: number): Promise<Figures> {
    await this.reset();
    await this.formSwarm(heartbeatNs);
    log('swarm formed; pulling the image on every host, warming up');
    for (const h of ['h1', 'h2', 'h3']) {
      const r = await new ApiClient(this.lab.dockerHost(h)).request('POST', '/images/create', { query: { fromImage: IMAGE.slice(0, IMAGE.lastIndexOf(':')), tag: 'v1' }, timeoutMs: 120_000 });
      if (r.status !== 200 || /"error"/.test(r.body.toString())) throw new Error(`bench: pull on ${h} failed: ${r.status} ${r.body.toString().slice(-300)}`);
    }
    const warm = await this.create('warm', 6);
    await this.running(warm, 6);
    await this.remove(warm);
    const f = {} as Figures;
    let id = '';
    f.create10_ms = await this.timed(async () => { id = await this.create('c10', 10); await this.running(id, 10); });
    log(`create10 ${f.create10_ms} ms`);
    await this.remove(id);
    f.create60_ms = await this.timed(async () => { id = await this.create('c60', 60); await this.running(id, 60); });
    log(`create60 ${f.create60_ms} ms`);
    await this.remove(id);
    id = await this.create('s', 10);
    await this.running(id, 10);
    f.scale_up_ms = await this.timed(async () => { await this.scale(id, 60); await this.running(id, 60); });
    log(`scale 10→60 ${f.scale_up_ms} ms`);
    f.scale_down_ms = await this.timed(async () => { await this.scale(id, 10); await this.running(id, 10); });
    log(`scale 60→10 ${f.scale_down_ms} ms`);
    f.reschedule_ms = await this.timed(async () => { await this.lab.killDaemon('h3'); await this.running(id, 10, 'h3'); });
    log(`worker loss → rescheduled ${f.reschedule_ms} ms`);
    return f;
  }
}


/** Like for like: the dispatcher heartbeat both sides run with in the `_same` figures (Docker's default, ns). */
export const SAME_HEARTBEAT_NS = 5e9;

/** What each side runs with; `_defaults` figures use each side's shipped heartbeat. */
export const SETTINGS = {
  same: { dispatcher_heartbeat_ms: SAME_HEARTBEAT_NS / 1e6, stop_grace_ms: 1000 },
  defaults: { shoal: { dispatcher_heartbeat_ms: 1000 }, docker: { dispatcher_heartbeat_ms: 5000 }, stop_grace_ms: 1000 },
  node_down_after: '3 heartbeats without news (both sides)',
  image: IMAGE,
  command: ['sleep', '3600'],
};

/** The sides of a converge run: Shoal twice (like for like, as shipped), Docker once (its default is the common heartbeat). */
export type ConvergeSide = 'shoal_same' | 'shoal_defaults' | 'docker';

const KEYS = ['create10_ms', 'create60_ms', 'scale_up_ms', 'scale_down_ms', 'reschedule_ms'] as const;

/**
 * The JSON line from each side's rounds (`docker` absent: it did not run). Un-suffixed
 * keys are like for like, `_defaults` as shipped; Docker's default heartbeat is the common
 * one, so its `_defaults` figures are its like-for-like rounds. `ratio_X` = Docker / Shoal. Pure.
 */
export function convergeReport(r: Partial<Record<ConvergeSide, SideRounds>>, meta: { rounds: number; shoalVersion?: string; peerVersion?: string; dockerNote?: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {
    bench: 'converge', rounds: meta.rounds, order: 'rounds alternate which side goes first',
    docker_ran: !!r.docker, peer: r.docker ? `Docker Swarm ${meta.peerVersion ?? 'unknown version'} (Debian docker.io)` : 'peer did not run',
    shoal_version: meta.shoalVersion ?? null, settings: SETTINGS,
    docker_same_is_defaults: true,
  };
  const fig = (side: ConvergeSide, k: string) => r[side]?.figures[k];
  for (const k of KEYS) {
    const base = k.replace(/_ms$/, '');
    Object.assign(out,
      figureFields(k, fig('shoal_same', k)), figureFields(`${k}_defaults`, fig('shoal_defaults', k)),
      figureFields(`docker_${k}`, fig('docker', k)), figureFields(`docker_${k}_defaults`, fig('docker', k)));
    out[`ratio_${base}`] = ratio(fig('docker', k)?.median, fig('shoal_same', k)?.median);
    out[`ratio_${base}_defaults`] = ratio(fig('docker', k)?.median, fig('shoal_defaults', k)?.median);
    // Lower is better: Shoal at most Docker's time; 'met' only when Docker ran.
    out[`target_${base}`] = flag(fig('shoal_same', k)?.median, fig('docker', k)?.median ?? null, 1);
  }
  for (const side of ['shoal_same', 'shoal_defaults', 'docker'] as const) if (r[side]?.failed.length) out[`${side}_failed_rounds`] = r[side]!.failed;
  if (meta.dockerNote) out.docker_note = meta.dockerNote;
  return out;
}

export async function run(args: string[]): Promise<void> {
  const log = (who: string) => (m: string) => console.log(`${who}: ${m}`);
  const t = args.indexOf('--timeout-ms');
  if (t >= 0) stepTimeoutMs = Number(args[t + 1]);
  const ri = args.indexOf('--rounds');
  const rounds = Math.max(3, ri >= 0 ? Number(args[ri + 1]) : 3);
  const labs: Lab[] = [];
  const steps = new Map<ConvergeSide, Steps>();
  let dockerNote: string | undefined;
  try {
    const lab = await Lab.up({ hosts: 3, prefix: 'shoalcv', replace: true });
    labs.push(lab);
    const shoal = new Steps(lab);
    steps.set('shoal_same', shoal).set('shoal_defaults', shoal);
    if (args.includes('--no-docker')) dockerNote = 'skipped (--no-docker)';
    else if (!existsSync(DOCKERD)) dockerNote = `${DOCKERD} is missing: run bash scripts/setup.sh --bench`;
    else {
      const dlab = await upDockerLab({ hosts: 3, prefix: 'shoalcd', registry: true });
      labs.push(dlab);
      steps.set('docker', new Steps(dlab));
    }
    const sides = [...steps.keys()];
    const res = await alternateRecords(rounds, sides, async (side, round) => {
      const f = await steps.get(side)!.all(log(`${side} round ${round + 1}`), side === 'shoal_same' ? SAME_HEARTBEAT_NS : undefined);
      return f;
    });
    const report = convergeReport(res, {
      rounds, dockerNote,
      shoalVersion: await shoal.version().catch(() => undefined),
      peerVersion: steps.has('docker') ? await steps.get('docker')!.version().catch(() => undefined) : undefined,
    });
    console.log(JSON.stringify(report));
  } finally {
    await downLabs(labs);
  }
}
