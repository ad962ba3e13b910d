// The chaos workload: one sequential client writing through the managers in turn (the
// Docker API over each host's socket): services created, scaled, updated (image v1↔v2 or an
// env change) and removed; overlay networks and secrets created and removed; node labels
// set (read-modify-write of the node spec). Each call is
// recorded with its outcome. Configs are created and removed like secrets. Names are never reused, so every name has one create and a
// totally ordered history (what checks.ts relies on).
import { ApiClient } from '../../src/api/client.ts';
import type { Node } from '../../src/api/types/node.ts';
import type { Service, ServiceSpec } from '../../src/api/types/service.ts';
import type { Lab } from '../lib/lab.ts';
import { classify, serviceValue, type History, type ObjectKind, type OpEntry, type ServiceValue } from './history.ts';
import { between, pick } from './nemesis.ts';

/** How long one call may take before its outcome counts as unknown. */
export const CALL_TIMEOUT_MS = 5000;

/** Options of a workload client. */
export interface WorkloadOptions {
  lab: Lab;
  history: History;
  /** Client number (names start with `c<N>-`). */
  client: number;
  managers: string[];
  rnd: () => number;
  /** Image refs the updates switch between. */
  images: [string, string];
  /** Upper bound of live services (keeps the lab's load bounded). */
  maxServices?: number;
  /** Node ID per host, for node updates (a `chaos` label); none when absent. */
  nodes?: Record<string, string>;
  /** Pause between calls, ms. Default 100. */
  pauseMs?: number;
}

/** One sequential client; {@link run} writes until `stop()` is called. */
export class Workload {
  private stopped = false;
  private turn = 0;
  private seq = 0;
  /** Names created (acknowledged or unknown) and not removed by an acknowledged rm. */
  private readonly live: Record<ObjectKind, string[]> = { service: [], network: [], secret: [], config: [], node: [] };
  private label = 0;

  constructor(private readonly o: WorkloadOptions) {}

  /** Asks {@link run} to end after the call in flight. */
  stop(): void {
    this.stopped = true;
  }

  /** Writes until stopped; resolves with the number of calls made. */
  async run(): Promise<number> {
    let calls = 0;
    while (!this.stopped) {
      await this.step();
      calls++;
      await new Promise((r) => setTimeout(r, this.o.pauseMs ?? 100));
    }
    return calls;
  }

  private next(): { via: string; api: ApiClient } {
    const via = this.o.managers[this.turn++ % this.o.managers.length];
    return { via, api: new ApiClient(this.o.lab.dockerHost(via)) };
  }

  private name(kind: ObjectKind): string {
    return `c${this.o.client}-${kind.slice(0, 3)}${this.seq++}`;
  }

  /** One call, chosen at random among those that make sense now. */
  async step(): Promise<void> {
    const nodes = Object.keys(this.o.nodes ?? {});
    if (nodes.length && this.o.rnd() < 0.08) return this.updateNode(pick(this.o.rnd, nodes));
    const r = this.o.rnd();
    const svcs = this.live.service.length;
    const max = this.o.maxServices ?? 6;
    if (r < 0.22 && svcs < max) return this.createService();
    if (r < 0.5 && svcs) {
      await this.updateService(pick(this.o.rnd, this.live.service), this.o.rnd() < 0.5 ? 'scale' : 'spec');
      return;
    }
    if (r < 0.62 && svcs) return this.rm('service', pick(this.o.rnd, this.live.service));
    if (r < 0.72) return this.create('network');
    if (r < 0.8 && this.live.network.length) return this.rm('network', pick(this.o.rnd, this.live.network));
    if (r < 0.85) return this.create(this.o.rnd() < 0.5 ? 'secret' : 'config');
    if (r < 0.93 && this.live.secret.length) return this.rm('secret', pick(this.o.rnd, this.live.secret));
    if (this.live.config.length) return this.rm('config', pick(this.o.rnd, this.live.config));
    return this.createService();
  }

  /**
   * Updates one live service's image (for the nemesis, which kills the leader while the
   * update rolls); resolves with whether an update was acknowledged.
   */
  async updateForNemesis(): Promise<boolean> {
    if (!this.live.service.length) return false;
    return (await this.updateService(pick(this.o.rnd, this.live.service), 'image')) === 'acknowledged';
  }

  /** Makes one call and records it; resolves with its history entry. */
  private async call(e: Omit<OpEntry, 'type' | 'client' | 'start' | 'end' | 'outcome'>, fn: () => Promise<unknown>): Promise<OpEntry> {
    const start = this.o.history.now();
    let res: Pick<OpEntry, 'outcome' | 'status' | 'error'>;
    try {
      await fn();
      res = { outcome: 'acknowledged' };
    } catch (err) {
      res = classify(err);
    }
    const entry: OpEntry = { type: 'op', client: this.o.client, ...e, start, end: this.o.history.now(), ...res };
    this.o.history.add(entry);
    return entry;
  }

  private spec(name: string, v: ServiceValue): ServiceSpec {
    return {
      Name: name, Labels: { chaos: '1' },
      TaskTemplate: { ContainerSpec: { Image: v.image, Env: [`V=${v.env}`], StopGracePeriod: 1e9 } },
      Mode: v.global ? { Global: {} } : { Replicated: { Replicas: v.replicas } },
    } as ServiceSpec;
  }

  /** One service in eight is global (a task on every node), the rest replicated. */
  private async createService(): Promise<void> {
    const name = this.name('service');
    const value: ServiceValue = this.o.rnd() < 0.125
      ? { replicas: 0, image: this.o.images[0], env: '0', global: true }
      : { replicas: between(this.o.rnd, 1, 3), image: this.o.images[0], env: '0' };
    const { via, api } = this.next();
    const { outcome } = await this.call({ op: 'create', kind: 'service', name, via, value }, () =>
      api.post('/services/create', this.spec(name, value), { timeoutMs: CALL_TIMEOUT_MS }));
    if (outcome !== 'refused') this.live.service.push(name);
  }

  /**
   * The read of a read-modify-write. When it fails, the update is recorded as not sent
   * (refused, or unknown) and undefined is returned.
   */
  private async read<T>(api: ApiClient, path: string, kind: 'service' | 'node', name: string, via: string): Promise<T | undefined> {
    try {
      return await api.get<T>(path, { timeoutMs: CALL_TIMEOUT_MS });
    } catch (err) {
      const c = classify(err);
      const now = this.o.history.now();
      this.o.history.add({ type: 'op', client: this.o.client, op: 'update', kind, name, via, start: now, end: now, outcome: c.outcome === 'refused' ? 'refused' : 'unknown', status: c.status, error: `read: ${c.error}`, sent: false });
      return undefined;
    }
  }

  /** Read-modify-write of a service: its replica count, or its image / env (`spec`: either). */
  private async updateService(name: string, what: 'scale' | 'spec' | 'image'): Promise<string | undefined> {
    const { via, api } = this.next();
    const svc = await this.read<Service>(api, `/services/${name}`, 'service', name, via);
    if (!svc) return undefined;
    const cs = svc.Spec.TaskTemplate.ContainerSpec!;
    const cur = serviceValue(svc.Spec);
    // A global service has no replica count: its "scale" changes the env instead.
    const value: ServiceValue = what === 'scale' && !cur.global
      ? { ...cur, replicas: between(this.o.rnd, 0, 3) }
      : what === 'image' || this.o.rnd() < 0.5
        ? { ...cur, image: cur.image === this.o.images[0] ? this.o.images[1] : this.o.images[0] }
        : { ...cur, env: String(Number(cur.env || 0) + 1) };
    const spec: ServiceSpec = {
      ...svc.Spec,
      TaskTemplate: { ...svc.Spec.TaskTemplate, ContainerSpec: { ...cs, Image: value.image, Env: [`V=${value.env}`] } },
      Mode: value.global ? { Global: {} } : { Replicated: { Replicas: value.replicas } },
    };
    const { outcome } = await this.call({ op: 'update', kind: 'service', name, via, value }, () =>
      api.post(`/services/${svc.ID}/update`, spec, { query: { version: svc.Version.Index }, timeoutMs: CALL_TIMEOUT_MS }));
    return outcome;
  }

  /** Read-modify-write of a node's spec: a new value of its `chaos` label. */
  private async updateNode(host: string): Promise<void> {
    const id = this.o.nodes![host];
    const { via, api } = this.next();
    const node = await this.read<Node>(api, `/nodes/${id}`, 'node', host, via);
    if (!node) return;
    const value = { label: String(++this.label) };
    const spec = { ...node.Spec, Labels: { ...node.Spec.Labels, chaos: value.label } };
    await this.call({ op: 'update', kind: 'node', name: host, via, value }, () =>
      api.post(`/nodes/${id}/update`, spec, { query: { version: node.Version.Index }, timeoutMs: CALL_TIMEOUT_MS }));
  }

  private async create(kind: 'network' | 'secret' | 'config'): Promise<void> {
    const name = this.name(kind);
    const { via, api } = this.next();
    const { outcome } = await this.call({ op: 'create', kind, name, via }, () => kind === 'network'
      ? api.post('/networks/create', { Name: name, Driver: 'overlay', Labels: { chaos: '1' } }, { timeoutMs: CALL_TIMEOUT_MS })
      : api.post(`/${kind}s/create`, { Name: name, Labels: { chaos: '1' }, Data: Buffer.from(`${kind} ${name}`).toString('base64') }, { timeoutMs: CALL_TIMEOUT_MS }));
    if (outcome !== 'refused') this.live[kind].push(name);
  }

  private async rm(kind: ObjectKind, name: string): Promise<void> {
    const { via, api } = this.next();
    const path = `/${kind}s/${name}`;
    const { outcome, status } = await this.call({ op: 'rm', kind, name, via }, () => api.delete(path, { timeoutMs: CALL_TIMEOUT_MS }));
    // An acknowledged rm, or a 404, ends the name; after an unknown one it may be tried again.
    if (outcome === 'acknowledged' || status === 404) this.live[kind] = this.live[kind].filter((n) => n !== name);
  }
}
