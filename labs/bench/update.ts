/**
 * `npm run bench -- update [--rounds N] [--no-docker] [--timeout-ms N]`
 *
 * Rolling updates, rollbacks and deploys under load, Shoal against Docker Swarm 20.10
 * (Debian's docker.io, one dockerd per lab host; see docker-swarm-lab.ts) on the same
 * 3-host lab topology, the same image (the lab registry's bb:v1/bb:v2, pulled on every
 * host first), the same specs and update configs, the same stop signal (SIGTERM, which
 * the task command traps to exit at once) and stop grace (2 s), driven through the same
 * Engine API calls. Both labs stay up for all rounds; rounds alternate which side goes
 * first; each figure is the median of the rounds (default 3).
 *
 * - `update30_ms`: 30 replicas, parallelism 5, delay 0, stop-first: from the update call
 *   until all 30 wanted tasks run the new image;
 * - `rollback30_ms`: `rollback=previous` until all 30 run the old image again;
 * - `auto_rollback_ms`: an update whose task exits 1 (failure action rollback, max failure
 *   ratio 0, monitor 1 s) until all 30 old tasks run again; `auto_rollback_start_ms`: from
 *   the first failed task's timestamp to the update state `rollback_started` (polled);
 * - `failed_requests` / `requests`: a start-first, health-gated update (6 web tasks with
 *   a health check, parallelism 1) while a client outside the hosts opens new connections
 *   to a published port through the routing mesh (round 1 only); Docker's twin is
 *   `fail: …` when its mesh does not answer in this lab;
 * - `bluegreen_mixed_ms` (Shoal only): a blue-green update of 6 web tasks, the time
 *   during which both versions answered new connections (round 1 only).
 *
 * Prints figures; the last line is one JSON object with each figure's `docker_` twin, the
 * peer's version and the settings; `target_*` flags read `met` only when the peer ran.
 * Asserts nothing about time.
 */
import { existsSync } from 'node:fs';
import { ApiClient } from '../../src/api/client.ts';
import type { Service, ServiceSpec, UpdateConfig } from '../../src/api/types/service.ts';
import type { Task } from '../../src/api/types/task.ts';
import { Lab } from '../lib/lab.ts';
import { waitFor } from '../lib/swarm-services.ts';
import { formBenchSwarm } from './bench-swarm.ts';
import { connTimeline, mixedWindowMs } from '../lib/conn-timeline.ts';
import { probe, type HttpResult } from '../lib/netprobe.ts';
import { DOCKERD, downLabs, LAB_REGISTRY, upDockerLab } from './docker-swarm-lab.ts';
import { flag, median, orderFor } from './fair.ts';

const V1 = `${LAB_REGISTRY}/shoal/bb:v1`;
const V2 = `${LAB_REGISTRY}/shoal/bb:v2`;
const S = 1e9;
/** Exits at once on SIGTERM (a shell waiting in `wait` runs its trap immediately). */
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];
const FAILING = ['sh', '-c', 'exit 1'];
const WEB = ['sh', '-c', 'mkdir -p /srv && cp /www/VERSION /srv/index.html && httpd -f -p 80 -h /srv & trap "kill $!; exit 0" TERM; wait'];
const UPDATE: UpdateConfig = { Parallelism: 5, Delay: 0, Monitor: 1 * S, FailureAction: 'pause', Order: 'stop-first', MaxFailureRatio: 0 };
const SETTINGS = {
  replicas: 30, parallelism: 5, delay_s: 0, monitor_s: 1, order: 'stop-first', stop_signal: 'SIGTERM', stop_grace_s: 2,
  load: { replicas: 6, order: 'start-first', parallelism: 1, health_interval_s: 1, conc: 4, pace_ms: 5 },
};

let stepTimeoutMs = 240_000;
const until = <T>(what: string | (() => string), fn: () => Promise<T | false | undefined>) => waitFor(what, fn, stepTimeoutMs, 50);

function spec(name: string, o: { replicas: number; command: string[]; image?: string; update?: UpdateConfig; port?: number; health?: boolean; labels?: Record<string, string> }): ServiceSpec {
  return {
    Name: name, Labels: o.labels ?? {}, Mode: { Replicated: { Replicas: o.replicas } },
    TaskTemplate: {
      ContainerSpec: {
        Image: o.image ?? V1, Command: o.command, StopSignal: 'SIGTERM', StopGracePeriod: 2 * S,
        ...(o.health ? { Healthcheck: { Test: ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1/'], Interval: 1 * S, Timeout: 1 * S, Retries: 2, StartPeriod: 0 } } : {}),
      },
      RestartPolicy: { Condition: 'any', Delay: 1 * S },
    },
    UpdateConfig: { ...UPDATE, ...o.update },
    RollbackConfig: { ...UPDATE, ...o.update, FailureAction: 'pause' },
    ...(o.port ? { EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: o.port, PublishMode: 'ingress' }] } } : {}),
  } as ServiceSpec;
}

/** One side (Shoal or Docker) over the Engine API of h1 of its lab. */
class Side {
  readonly api: ApiClient;
  version = '';

  constructor(readonly name: 'shoal' | 'docker', readonly lab: Lab, private readonly log: (m: string) => void) {
    this.api = new ApiClient(lab.dockerHost('h1'));
  }

  async setup(): Promise<void> {
    await formBenchSwarm(this.lab, until);
    for (const h of ['h1', 'h2', 'h3']) {
      for (const tag of ['v1', 'v2']) {
        const r = await new ApiClient(this.lab.dockerHost(h)).request('POST', '/images/create', { query: { fromImage: `${LAB_REGISTRY}/shoal/bb`, tag }, timeoutMs: 120_000 });
        if (r.status !== 200 || /"error"/.test(r.body.toString())) throw new Error(`bench: ${this.name}: pull ${tag} on ${h} failed: ${r.status} ${r.body.toString().slice(-300)}`);
      }
    }
    this.version = (await this.api.get<{ Version: string }>('/version')).Version;
    this.log(`swarm formed, images pulled (version ${this.version})`);
  }

  async create(s: ServiceSpec): Promise<string> {
    return (await this.api.post<{ ID: string }>('/services/create', s)).ID;
  }

  tasks(id: string): Promise<Task[]> {
    return this.api.get<Task[]>('/tasks', { query: { filters: JSON.stringify({ service: [id] }) } });
  }

  service(id: string): Promise<Service> {
    return this.api.get<Service>(`/services/${id}`);
  }

  /** Until exactly `n` wanted tasks run, each satisfying `ok`, and nothing else runs. */
  async running(id: string, n: number, ok: (t: Task) => boolean = () => true): Promise<void> {
    let seen = '';
    await until(() => `${this.name}: ${n} running tasks (last: ${seen})`, async () => {
      const ts = (await this.tasks(id)).filter((t) => t.Status.State === 'running');
      seen = `${ts.length} running, ${ts.filter(ok).length} wanted ones`;
      return ts.length === n && ts.every((t) => t.DesiredState === 'running' && ok(t));
    });
  }

  /** Until exactly `n` WANTED tasks run, each satisfying `ok` (tasks being stopped may still run). */
  async wantedRunning(id: string, n: number, ok: (t: Task) => boolean): Promise<void> {
    let seen = '';
    await until(() => `${this.name}: ${n} wanted tasks running (last: ${seen})`, async () => {
      const ts = (await this.tasks(id)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
      seen = `${ts.length} wanted running, ${ts.filter(ok).length} of them new`;
      return ts.length === n && ts.every(ok);
    });
  }

  /** The tasks not matching `ok` that still run, for the log. */
  async leftovers(id: string, ok: (t: Task) => boolean): Promise<string> {
    const ts = (await this.tasks(id)).filter((t) => t.Status.State === 'running' && !ok(t));
    return ts.map((t) => `${t.ID.slice(0, 12)} desired ${t.DesiredState}${t.Status.Health ? ` health ${t.Status.Health.Status}` : ''}`).join(', ');
  }

  async update(id: string, change: (s: ServiceSpec) => void, rollback = false): Promise<void> {
    const s = await this.service(id);
    const next = structuredClone(s.Spec);
    change(next);
    await this.api.post(`/services/${id}/update`, next, { query: { version: s.Version.Index, ...(rollback ? { rollback: 'previous' } : {}) } });
  }

  async remove(id: string): Promise<void> {
    await this.api.delete(`/services/${id}`);
    await until(`${this.name}: tasks gone`, async () => (await this.tasks(id).catch(() => [])).every((t) => t.Status.State !== 'running'));
  }

  async timed(fn: () => Promise<void>): Promise<number> {
    const t0 = performance.now();
    await fn();
    return +(performance.now() - t0).toFixed(1);
  }

  /** One round of update30, rollback30 and the automatic rollback. */
  async round(r: number): Promise<Record<string, number>> {
    const f: Record<string, number> = {};
    const id = await this.create(spec(`u${r}`, { replicas: 30, command: SLEEPER }));
    await this.running(id, 30);
    const image = (img: string) => (t: Task) => t.Spec.ContainerSpec.Image.startsWith(img);
    f.update30_ms = await this.timed(async () => { await this.update(id, (s) => (s.TaskTemplate.ContainerSpec.Image = V2)); await this.running(id, 30, image(V2)); });
    this.log(`round ${r}: update30 ${f.update30_ms} ms`);
    await until(`${this.name}: update completed`, async () => (await this.service(id)).UpdateStatus?.State === 'completed');
    f.rollback30_ms = await this.timed(async () => { await this.update(id, () => {}, true); await this.running(id, 30, image(V1)); });
    this.log(`round ${r}: rollback30 ${f.rollback30_ms} ms`);
    await until(`${this.name}: rollback completed`, async () => (await this.service(id)).UpdateStatus?.State === 'rollback_completed');
    let startedSeen = 0;
    const good = (t: Task) => image(V1)(t) && t.Spec.ContainerSpec.Command?.[2] === SLEEPER[2];
    f.auto_rollback_ms = await this.timed(async () => {
      await this.update(id, (s) => { s.TaskTemplate.ContainerSpec.Command = FAILING; s.UpdateConfig = { ...s.UpdateConfig, FailureAction: 'rollback' }; });
      await until(`${this.name}: automatic rollback`, async () => {
        const st = (await this.service(id)).UpdateStatus?.State;
        if (st?.startsWith('rollback') && !startedSeen) startedSeen = Date.now();
        return !!startedSeen;
      });
      await this.running(id, 30, good);
    });
    const failedAt = Math.min(...(await this.tasks(id)).filter((t) => t.Status.State === 'failed').map((t) => Date.parse(t.Status.Timestamp)));
    f.auto_rollback_start_ms = Number.isFinite(failedAt) ? startedSeen - failedAt : NaN;
    this.log(`round ${r}: auto rollback ${f.auto_rollback_ms} ms (started ${f.auto_rollback_start_ms} ms after the first failure)`);
    await this.remove(id);
    return f;
  }

  /** Requests through the mesh during a health-gated start-first update; a string when the mesh does not serve. */
  async underLoad(): Promise<{ failed: number; requests: number } | string> {
    const port = 8090;
    const id = await this.create(spec('load', { replicas: 6, command: WEB, port, health: true, update: { Parallelism: 1, Order: 'start-first' } }));
    try {
      await this.running(id, 6);
      const ask = (n: number) => probe<HttpResult>([], { netns: this.lab.names.switchNetns }, ['http', this.lab.address('h1'), String(port), String(n), '4']);
      try {
        await waitFor('the mesh answers', async () => (await ask(4)).ok === 4, 60_000, 500);
      } catch (err) {
        return `fail: the routing mesh does not answer in this lab (${(err as Error).message.slice(0, 160)})`;
      }
      const client = connTimeline([], { netns: this.lab.names.switchNetns }, { addr: this.lab.address('h1'), port, durationMs: 60_000, conc: SETTINGS.load.conc, paceMs: SETTINGS.load.pace_ms });
      const isNew = (t: Task) => t.Spec.ContainerSpec.Image.startsWith(V2);
      await this.update(id, (s) => (s.TaskTemplate.ContainerSpec.Image = V2));
      await this.wantedRunning(id, 6, isNew);
      const t = await client;
      const left = await this.leftovers(id, isNew);
      if (left) this.log(`under load: old tasks still running after the update: ${left}`);
      this.log(`under load: ${t.errors} failed of ${t.samples.length}${t.firstError ? ` (first: ${t.firstError})` : ''}`);
      return { failed: t.errors, requests: t.samples.length };
    } finally {
      await this.remove(id);
    }
  }

  /** The mixed window of a blue-green update seen from outside through the mesh. */
  async blueGreen(): Promise<number> {
    const port = 8091;
    const id = await this.create(spec('bg', { replicas: 6, command: WEB, port, health: true, labels: { 'com.shoal.update.strategy': 'blue-green' } }));
    try {
      await this.running(id, 6);
      await waitFor('the mesh answers', async () => (await probe<HttpResult>([], { netns: this.lab.names.switchNetns }, ['http', this.lab.address('h2'), String(port), '4', '4'])).ok === 4, 60_000, 500);
      const client = connTimeline([], { netns: this.lab.names.switchNetns }, { addr: this.lab.address('h2'), port, durationMs: 30_000, conc: 4, paceMs: 2 });
      await this.update(id, (s) => (s.TaskTemplate.ContainerSpec.Image = V2));
      await until('blue-green completed', async () => (await this.service(id)).UpdateStatus?.State === 'completed');
      const t = await client;
      const mixed = mixedWindowMs(t.samples, 'v1', 'v2');
      this.log(`blue-green: mixed window ${mixed} ms over ${t.samples.length} connections (${t.errors} failed)`);
      return mixed;
    } finally {
      await this.remove(id);
    }
  }
}


export async function run(args: string[]): Promise<void> {
  const opt = (k: string) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
  const rounds = Number(opt('--rounds') ?? 3);
  if (opt('--timeout-ms')) stepTimeoutMs = Number(opt('--timeout-ms'));
  const withDocker = !args.includes('--no-docker') && existsSync(DOCKERD);
  const out: Record<string, unknown> = { rounds, settings: SETTINGS };
  const labs: Lab[] = [];
  try {
    const shoalLab = await Lab.up({ hosts: 3, prefix: 'shoalub', replace: true });
    labs.push(shoalLab);
    const sides: Side[] = [new Side('shoal', shoalLab, (m) => console.log(`shoal: ${m}`))];
    if (withDocker) {
      const dlab = await upDockerLab({ hosts: 3, prefix: 'shoalud', registry: true });
      labs.push(dlab);
      sides.push(new Side('docker', dlab, (m) => console.log(`docker: ${m}`)));
    } else {
      out.docker = args.includes('--no-docker') ? 'skipped' : `missing: ${DOCKERD} (run bash scripts/setup.sh --bench)`;
    }
    for (const s of sides) await s.setup();
    const figures = new Map<string, Record<string, number>[]>(sides.map((s) => [s.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const s of orderFor(r, sides)) figures.get(s.name)!.push(await s.round(r));
    }
    for (const s of sides) {
      const pre = s.name === 'shoal' ? '' : 'docker_';
      const fs = figures.get(s.name)!;
      for (const k of Object.keys(fs[0] ?? {})) out[`${pre}${k}`] = median(fs.map((f) => f[k]));
    }
    const shoal = sides[0];
    // A step that cannot finish is recorded as `fail: …` and the others still run.
    const attempt = async <T>(fn: () => Promise<T>): Promise<T | string> => fn().catch((err: unknown) => `fail: ${(err as Error).message.slice(0, 300)}`);
    const load = await attempt(() => shoal.underLoad());
    if (typeof load === 'string') out.failed_requests = load;
    else { out.failed_requests = load.failed; out.requests = load.requests; }
    if (sides[1]) {
      const dload = await attempt(() => sides[1].underLoad());
      if (typeof dload === 'string') out.docker_failed_requests = dload;
      else { out.docker_failed_requests = dload.failed; out.docker_requests = dload.requests; }
      out.peer = `Docker Swarm ${sides[1].version} (Debian docker.io)`;
    }
    out.bluegreen_mixed_ms = await attempt(() => shoal.blueGreen());
    out.shoal_version = shoal.version;
    const ratio = (k: string) => (typeof out[k] === 'number' && typeof out[`docker_${k}`] === 'number' ? +((out[k] as number) / (out[`docker_${k}`] as number)).toFixed(3) : undefined);
    for (const k of ['update30_ms', 'rollback30_ms', 'auto_rollback_ms']) {
      const q = ratio(k);
      if (q !== undefined) out[`ratio_${k.replace(/_ms$/, '')}`] = q;
    }
    const num = (k: string) => (typeof out[k] === 'number' ? (out[k] as number) : null);
    out.target_update30 = flag(num('update30_ms'), num('docker_update30_ms'), 0.25);
    out.target_rollback30 = flag(num('rollback30_ms'), num('docker_rollback30_ms'), 0.25);
    out.target_zero_failed = typeof out.failed_requests === 'number' && (out.requests as number) >= 3000 && out.failed_requests === 0 ? 'met' : 'not met';
    out.target_auto_rollback_start = typeof out.auto_rollback_start_ms === 'number' && (out.auto_rollback_start_ms as number) <= SETTINGS.monitor_s * 1000 + 1000 ? 'met' : 'not met';
    out.target_bluegreen_mixed = typeof out.bluegreen_mixed_ms === 'number' && out.bluegreen_mixed_ms < 100 ? 'met' : 'not met';
  } finally {
    await downLabs(labs);
  }
  console.log(JSON.stringify(out));
}
