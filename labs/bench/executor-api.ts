/**
 * The executor benchmark's like-for-like layer (issue 20): a task started through each
 * system's own API and agent path, Shoal and Docker alike. On a one-host lab per system
 * (Shoal's daemon; Debian's dockerd, see docker-swarm-lab.ts), a swarm of one node, the
 * image pulled from the lab registry first; each start is `POST /services/create` with
 * N replicas → every task `running` in `GET /tasks` (assignment → agent → runtime →
 * reported), polled every 20 ms on both sides; the service is removed and its tasks
 * gone before the next. The same calls and the same poll on both sides.
 */
import { ApiClient } from '../../src/api/client.ts';
import type { Task } from '../../src/api/types/task.ts';
import { Lab } from '../lib/lab.ts';
import { IMAGE, waitFor } from '../lib/swarm-services.ts';
import { upDockerLab } from './docker-swarm-lab.ts';

const POLL_MS = 20;
const STEP_TIMEOUT_MS = 120_000;

/** One system on its one-host lab, ready to start services. */
export class ApiSide {
  private seq = 0;
  readonly api: ApiClient;

  private constructor(readonly name: 'shoal' | 'docker', readonly lab: Lab) {
    this.api = new ApiClient(lab.dockerHost('h1'));
  }

  /** Brings up the lab (replacing a leftover), inits a one-node swarm and pulls the image. Throws when dockerd is missing. */
  static async up(name: 'shoal' | 'docker', prefix: string): Promise<ApiSide> {
    const lab = name === 'docker' ? await upDockerLab({ hosts: 1, prefix, registry: true }) : await Lab.up({ hosts: 1, prefix, replace: true });
    const side = new ApiSide(name, lab);
    try {
      await side.api.post('/swarm/init', { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: lab.address('h1') }, { timeoutMs: 60_000 });
      const r = await side.api.request('POST', '/images/create', { query: { fromImage: IMAGE.slice(0, IMAGE.lastIndexOf(':')), tag: 'v1' }, timeoutMs: 120_000 });
      if (r.status !== 200 || /"error"/.test(r.body.toString())) throw new Error(`bench: pull failed: ${r.status} ${r.body.toString().slice(-300)}`);
    } catch (err) {
      await lab.down();
      throw err;
    }
    return side;
  }

  /** The daemon's version (GET /version). */
  async version(): Promise<string> {
    return (await this.api.get<{ Version: string }>('/version')).Version;
  }

  private async tasks(id: string): Promise<Task[]> {
    return this.api.get<Task[]>('/tasks', { query: { filters: JSON.stringify({ service: [id] }) } });
  }

  /** ms from `POST /services/create` with `replicas` until every task runs; the service is removed after (untimed). */
  async start(replicas: number): Promise<number> {
    const name = `x${this.seq++}`;
    const t0 = performance.now();
    const { ID: id } = await this.api.post<{ ID: string }>('/services/create', {
      Name: name, Labels: {}, Mode: { Replicated: { Replicas: replicas } },
      TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 0 } },
    });
    try {
      await waitFor(`${replicas} tasks of ${name} running`, async () => {
        const ts = await this.tasks(id);
        return ts.filter((t) => t.Status.State === 'running').length === replicas;
      }, STEP_TIMEOUT_MS, POLL_MS);
      return +(performance.now() - t0).toFixed(2);
    } finally {
      await this.api.delete(`/services/${id}`);
      await waitFor(`${name} gone`, async () => (await this.tasks(id).catch(() => [])).every((t) => t.Status.State !== 'running'), STEP_TIMEOUT_MS, 100);
    }
  }

  async down(): Promise<void> {
    await this.lab.down();
  }
}
