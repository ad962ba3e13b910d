/**
 * `npm run bench -- secrets [--rounds N] [--no-docker]`
 *
 * Secrets, Shoal against Docker Swarm (Debian's docker.io 20.10, see docker-swarm-lab.ts)
 * on the same lab shape (3 hosts: h1 the manager, h2 and h3 workers; the lab registry's
 * image, `sleep 3600`, stop grace 1 s), both labs up side by side and driven through the
 * same Engine API calls:
 *
 * - `secret_start_ms`: 10 new secrets, then `POST /services/create` of 10 replicas each
 *   mounting all 10, until the 10 tasks run (secrets created before the clock starts);
 *   median of N rounds (default 3), the order of the two systems alternating per round;
 * - `unlock_ms`: autolock on, the manager restarted (kill -9 of h1 and its containers),
 *   from `POST /swarm/unlock` to the first write it serves (`POST /secrets/create` → 201);
 *   median of N; Docker's twin measured the same way.
 *
 * Prints figures; the last line is one JSON object with the peer's version and the
 * settings. Asserts nothing about time.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { ApiClient } from '../../src/api/client.ts';
import type { ServiceSpec } from '../../src/api/types/service.ts';
import type { Swarm } from '../../src/api/types/swarm.ts';
import type { Task } from '../../src/api/types/task.ts';
import { Lab } from '../lib/lab.ts';
import { IMAGE, waitFor } from '../lib/swarm-services.ts';
import { formBenchSwarm } from './bench-swarm.ts';
import { DOCKERD, upDockerLab } from './docker-swarm-lab.ts';
import { median, orderFor } from './fair.ts';

const REPLICAS = 10;
const SECRETS = 10;
const STEP_TIMEOUT_MS = 180_000;

const until = <T>(what: string | (() => string), fn: () => Promise<T | false | undefined>, timeoutMs = STEP_TIMEOUT_MS) => waitFor(what, fn, timeoutMs, 50);
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** One system's lab, driven over h1's Engine API. */
class System {
  constructor(readonly name: 'shoal' | 'docker', readonly lab: Lab) {}

  get api(): ApiClient {
    return new ApiClient(this.lab.dockerHost('h1'));
  }

  async formSwarm(): Promise<void> {
    await formBenchSwarm(this.lab, until);
    for (const h of ['h1', 'h2', 'h3']) {
      const r = await new ApiClient(this.lab.dockerHost(h)).request('POST', '/images/create', { query: { fromImage: IMAGE.slice(0, IMAGE.lastIndexOf(':')), tag: 'v1' }, timeoutMs: 120_000 });
      if (r.status !== 200 || /"error"/.test(r.body.toString())) throw new Error(`bench: pull on ${h} (${this.name}) failed: ${r.status} ${r.body.toString().slice(-300)}`);
    }
  }

  private async running(id: string, n: number): Promise<void> {
    let seen = '';
    await until(() => `${n} running tasks (${this.name}; last seen: ${seen})`, async () => {
      const ts = await this.api.get<Task[]>('/tasks', { query: { filters: JSON.stringify({ service: [id] }) } });
      seen = [...new Set(ts.map((t) => `${t.Status.State} ${t.Status.Err ?? ''}`))].join('; ');
      const run = ts.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
      return run.length === n;
    });
  }

  /** Secrets made first (untimed), then the service create until every replica runs; cleans up after. Resolves with ms. */
  async secretStart(tag: string): Promise<number> {
    const names: string[] = [];
    for (let i = 0; i < SECRETS; i++) {
      const name = `b${tag}s${i}`;
      await this.api.post('/secrets/create', { Name: name, Labels: {}, Data: b64(`bench-${randomBytes(8).toString('hex')}`) });
      names.push(name);
    }
    const spec = {
      Name: `b${tag}`, Labels: {}, Mode: { Replicated: { Replicas: REPLICAS } },
      TaskTemplate: {
        ContainerSpec: {
          Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9,
          Secrets: names.map((n) => ({ SecretName: n, SecretID: '', File: { Name: n, UID: '0', GID: '0', Mode: 0o444 } })),
        },
      },
    };
    // Docker wants SecretIDs: both systems get them resolved the same way, before the clock.
    const all = await this.api.get<{ ID: string; Spec: { Name: string } }[]>('/secrets');
    for (const r of spec.TaskTemplate.ContainerSpec.Secrets) r.SecretID = all.find((s) => s.Spec.Name === r.SecretName)!.ID;
    const t0 = performance.now();
    const { ID } = await this.api.post<{ ID: string }>('/services/create', spec as unknown as ServiceSpec);
    await this.running(ID, REPLICAS);
    const ms = +(performance.now() - t0).toFixed(1);
    await this.api.delete(`/services/${ID}`);
    await until('tasks gone', async () => (await this.api.get<Task[]>('/tasks', { query: { filters: JSON.stringify({ service: [ID] }) } }).catch(() => [])).every((t) => t.Status.State !== 'running'));
    for (const n of names) await until(`secret ${n} removed`, async () => (await this.api.request('DELETE', `/secrets/${n}`)).status < 300);
    return ms;
  }

  /** Autolock on; kill -9 of h1; restart; unlock; ms from the unlock call to the first write served. */
  async unlock(round: number): Promise<number> {
    const sw = await this.api.get<Swarm>('/swarm');
    if (!sw.Spec.EncryptionConfig?.AutoLockManagers) {
      await this.api.post('/swarm/update', { ...sw.Spec, EncryptionConfig: { AutoLockManagers: true } }, { query: { version: sw.Version.Index } });
    }
    const key = (await this.api.get<{ UnlockKey: string }>('/swarm/unlockkey')).UnlockKey;
    // Give the manager time to seal its keys under the new key (Shoal: asynchronously).
    await new Promise((r) => setTimeout(r, 2000));
    await this.lab.killDaemon('h1');
    await this.lab.startDaemon('h1');
    await until('h1 locked', async () => (await this.api.get<{ Swarm: { LocalNodeState: string } }>('/info')).Swarm.LocalNodeState === 'locked', 60_000);
    const t0 = performance.now();
    await this.api.post('/swarm/unlock', { UnlockKey: key }, { timeoutMs: 60_000 });
    await until('a write served after unlock', async () => {
      const r = await this.api.request('POST', '/secrets/create', { body: { Name: `u${round}-${Date.now()}`, Labels: {}, Data: b64('x') }, timeoutMs: 5000 }).catch(() => undefined);
      return r?.status === 201;
    }, 120_000);
    return +(performance.now() - t0).toFixed(1);
  }
}


export async function run(args: string[]): Promise<void> {
  const r = args.indexOf('--rounds');
  const rounds = r >= 0 ? Number(args[r + 1]) : 3;
  const withDocker = !args.includes('--no-docker') && existsSync(DOCKERD);
  const log = (m: string) => console.log(m);
  const systems: System[] = [];
  const out: Record<string, unknown> = {};
  try {
    systems.push(new System('shoal', await Lab.up({ hosts: 3, prefix: 'shoallkb', replace: true })));
    if (withDocker) systems.push(new System('docker', await upDockerLab({ hosts: 3, prefix: 'shoallkd', registry: true })));
    for (const s of systems) {
      await s.formSwarm();
      log(`${s.name}: swarm formed, image pulled; warm-up`);
      await s.secretStart('w');
    }
    const samples: Record<string, number[]> = { shoal: [], docker: [] };
    for (let i = 0; i < rounds; i++) {
      for (const s of orderFor(i, systems)) {
        const ms = await s.secretStart(String(i));
        samples[s.name].push(ms);
        log(`round ${i + 1}: ${s.name} secret_start ${ms} ms`);
      }
    }
    const unlock: Record<string, number[]> = { shoal: [], docker: [] };
    for (let i = 0; i < rounds; i++) {
      for (const s of orderFor(i, systems)) {
        try {
          const ms = await s.unlock(i);
          unlock[s.name].push(ms);
          log(`round ${i + 1}: ${s.name} unlock ${ms} ms`);
        } catch (err) {
          log(`round ${i + 1}: ${s.name} unlock failed: ${(err as Error).message}`);
        }
      }
    }
    out.secret_start_ms = median(samples.shoal);
    out.secret_start_samples = samples.shoal;
    if (withDocker) {
      out.docker_secret_start_ms = median(samples.docker);
      out.docker_secret_start_samples = samples.docker;
      out.ratio_secret_start = +((out.secret_start_ms as number) / (out.docker_secret_start_ms as number)).toFixed(2);
    }
    if (unlock.shoal.length) out.unlock_ms = median(unlock.shoal);
    out.unlock_samples = unlock.shoal;
    if (unlock.docker.length) {
      out.docker_unlock_ms = median(unlock.docker);
      out.docker_unlock_samples = unlock.docker;
    }
    if (withDocker) {
      const v = await systems[1].api.get<{ Version: string; ApiVersion: string }>('/version').catch(() => undefined);
      out.peer = { system: 'docker swarm', version: v?.Version ?? 'unknown', api: v?.ApiVersion ?? '', daemon: DOCKERD };
    } else out.peer = 'missing';
    out.settings = { hosts: 3, manager: 'h1', replicas: REPLICAS, secrets_per_task: SECRETS, rounds, order: 'alternating per round', image: IMAGE };
  } finally {
    for (const s of systems) await s.lab.down().catch((err) => console.error(`down ${s.name}: ${String(err)}`));
  }
  console.log(JSON.stringify(out));
}
