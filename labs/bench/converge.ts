/**
 * `npm run bench -- converge [--no-docker] [--no-shoal] [--timeout-ms N]`
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
 * Prints figures; the last line is one JSON object (each figure with its `docker_` twin
 * and ratios). Asserts nothing about time.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '../../src/api/client.ts';
import type { Service, ServiceSpec } from '../../src/api/types/service.ts';
import type { Task } from '../../src/api/types/task.ts';
import { Lab } from '../lib/lab.ts';
import { waitFor } from '../lib/swarm-services.ts';
import { formBenchSwarm } from './bench-swarm.ts';
import type { DaemonContext } from '../lib/daemon.ts';
import { DOCKERD, DockerMissingError, dockerdCommand } from './docker-swarm-lab.ts';

const IMAGE = '192.168.100.1:5000/shoal/bb:v1';
const REGISTRY = '192.168.100.1:5000';

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

  async formSwarm(): Promise<void> {
    const nodes = await formBenchSwarm(this.lab, until);
    this.hostOf = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
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

  async all(log: (m: string) => void): Promise<Figures> {
    await this.formSwarm();
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

/** dockerd with the lab registry allowed over plain HTTP. */
function dockerdWithRegistry(ctx: DaemonContext): string[] {
  const argv = dockerdCommand(ctx);
  writeFileSync(join(ctx.hostDir, 'daemon.json'), JSON.stringify({ 'insecure-registries': [REGISTRY] }) + '\n');
  return argv;
}

export async function run(args: string[]): Promise<void> {
  const log = (who: string) => (m: string) => console.log(`${who}: ${m}`);
  const out: Record<string, number | string> = {};
  const t = args.indexOf('--timeout-ms');
  if (t >= 0) stepTimeoutMs = Number(args[t + 1]);

  if (!args.includes('--no-shoal')) {
    const lab = await Lab.up({ hosts: 3, prefix: 'shoalcv', replace: true });
    try {
      Object.assign(out, await new Steps(lab).all(log('shoal')));
    } finally {
      await lab.down();
    }
  }

  if (!args.includes('--no-docker')) {
    let dlab: Lab | undefined;
    try {
      if (!existsSync(DOCKERD)) throw new DockerMissingError(`${DOCKERD} is missing: run bash scripts/setup.sh --bench`);
      // As upDockerLab, plus the lab registry, which dockerd may use over plain HTTP.
      dlab = await Lab.up({ hosts: 3, prefix: 'shoalcd', replace: true, daemons: { command: dockerdWithRegistry, readyTimeoutMs: 60_000 } });
      const d = await new Steps(dlab).all(log('docker'));
      for (const [k, v] of Object.entries(d)) {
        out[`docker_${k}`] = v;
        if (typeof out[k] === 'number') out[`ratio_${k.replace(/_ms$/, '')}`] = +(v / (out[k] as number)).toFixed(2);
      }
    } catch (err) {
      if (!(err instanceof DockerMissingError)) throw err;
      out.docker = 'missing';
    } finally {
      await dlab?.down();
    }
  }
  console.log(JSON.stringify(out));
}
