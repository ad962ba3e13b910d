// Swarm helpers for lab tests and benchmarks: forming a swarm through join tokens, finding
// the leader, label writes (what `docker node update --label-add` sends) and polling with
// deadlines. They speak Docker's Engine API (v1.41) over a host's socket, so they drive a
// Shoal daemon and a dockerd alike.
//
//   const sw = await formSwarm(lab, { managers: ['h1', 'h2', 'h3'], workers: ['h4', 'h5'] });
//   const leader = await waitForLeader(lab, ['h2', 'h3']);
//   await addLabel(lab, 'h2', sw.nodeIds.h4, 'k', 'v');
import { ApiClient } from '../../src/api/client.ts';
import { ApiError } from '../../src/api/errors.ts';
import type { Node } from '../../src/api/types/node.ts';
import type { Swarm } from '../../src/api/types/swarm.ts';
import type { Lab } from './lab.ts';
import { sleep } from './procs.ts';

/** Port of the swarm's node-to-node traffic on every host. */
export const SWARM_PORT = 2377;

/** Thrown when a polled condition does not hold before its deadline; names the last error. */
export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/** An API client for a host's daemon socket; `timeoutMs` bounds each request (default 5 s). */
export function api(lab: Lab, host: string, timeoutMs = 5000): SwarmApi {
  return new SwarmApi(lab.dockerHost(host), timeoutMs);
}

/** The swarm part of the Engine API, with per-request timeouts. */
export class SwarmApi {
  readonly client: ApiClient;
  constructor(
    host: string,
    private readonly timeoutMs: number,
  ) {
    this.client = new ApiClient(host);
  }

  /** POST /swarm/init; resolves with the new node ID. */
  init(advertise: string, extra: Record<string, unknown> = {}): Promise<string> {
    return this.client.post<string>('/swarm/init', { ListenAddr: `0.0.0.0:${SWARM_PORT}`, AdvertiseAddr: advertise, ...extra }, { timeoutMs: 30_000 });
  }

  /** POST /swarm/join with one remote manager. */
  async join(opts: { advertise: string; remote: string; token: string }): Promise<void> {
    await this.client.post('/swarm/join', {
      ListenAddr: `0.0.0.0:${SWARM_PORT}`, AdvertiseAddr: opts.advertise, RemoteAddrs: [opts.remote], JoinToken: opts.token,
    }, { timeoutMs: 60_000 });
  }

  /** POST /swarm/leave (force). */
  async leave(force = true): Promise<void> {
    await this.client.post('/swarm/leave', undefined, { query: { force }, timeoutMs: 30_000 });
  }

  /** GET /swarm (managers only; has the join tokens). */
  swarm(): Promise<Swarm> {
    return this.client.get<Swarm>('/swarm', { timeoutMs: this.timeoutMs });
  }

  /** GET /info's Swarm section. */
  async swarmInfo(): Promise<{ NodeID: string; LocalNodeState: string; ControlAvailable: boolean; Cluster?: { ID: string } }> {
    const info = await this.client.get<{ Swarm: { NodeID: string; LocalNodeState: string; ControlAvailable: boolean; Cluster?: { ID: string } } }>('/info', { timeoutMs: this.timeoutMs });
    return info.Swarm;
  }

  /** GET /nodes. */
  nodes(): Promise<Node[]> {
    return this.client.get<Node[]>('/nodes', { timeoutMs: this.timeoutMs });
  }

  /** GET /nodes/{id}. */
  node(id: string): Promise<Node> {
    return this.client.get<Node>(`/nodes/${id}`, { timeoutMs: this.timeoutMs });
  }

  /** POST /nodes/{id}/update?version=N with the whole spec. */
  async updateNode(node: Node, spec: Node['Spec']): Promise<void> {
    await this.client.post(`/nodes/${node.ID}/update`, spec, { query: { version: node.Version.Index }, timeoutMs: this.timeoutMs });
  }

  /** Rotates the worker and/or manager join token (POST /swarm/update). */
  async rotateTokens(which: { worker?: boolean; manager?: boolean }): Promise<void> {
    const s = await this.swarm();
    await this.client.post('/swarm/update', s.Spec, {
      query: { version: s.Version.Index, rotateWorkerToken: which.worker ?? false, rotateManagerToken: which.manager ?? false },
      timeoutMs: this.timeoutMs,
    });
  }
}

/**
 * Polls `fn` until it returns a value other than undefined/false, at most every
 * `intervalMs` (default 50), and throws {@link DeadlineError} after `timeoutMs` naming
 * `what` and the last error `fn` threw (errors count as "not yet").
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new DeadlineError(`lab: ${what}: not within ${opts.timeoutMs ?? 20_000} ms${last ? ` (last error: ${(last as Error).message})` : ''}`, { cause: last });
    }
    await sleep(opts.intervalMs ?? 50);
  }
}

/** What {@link formSwarm} built. */
export interface FormedSwarm {
  clusterId: string;
  /** Node ID per host. */
  nodeIds: Record<string, string>;
  tokens: { worker: string; manager: string };
  /** Milliseconds of init, and of each join, per host. */
  timings: Record<string, number>;
}

/**
 * Inits a swarm on the first manager (advertising its lab address) and joins the other
 * managers with the manager token and the workers with the worker token, one at a time,
 * each through the first manager. Waits until the first manager lists every node ready.
 */
export async function formSwarm(lab: Lab, opts: { managers: string[]; workers?: string[]; readyTimeoutMs?: number }): Promise<FormedSwarm> {
  const [first, ...others] = opts.managers;
  const timings: Record<string, number> = {};
  const nodeIds: Record<string, string> = {};
  let t0 = performance.now();
  nodeIds[first] = await api(lab, first).init(lab.address(first));
  timings[first] = performance.now() - t0;
  const s = await api(lab, first).swarm();
  const tokens = { worker: s.JoinTokens.Worker, manager: s.JoinTokens.Manager };
  const remote = `${lab.address(first)}:${SWARM_PORT}`;
  for (const [h, token] of [...others.map((h) => [h, tokens.manager]), ...(opts.workers ?? []).map((h) => [h, tokens.worker])]) {
    t0 = performance.now();
    await api(lab, h).join({ advertise: lab.address(h), remote, token });
    timings[h] = performance.now() - t0;
    nodeIds[h] = (await api(lab, h).swarmInfo()).NodeID;
  }
  const all = [...opts.managers, ...(opts.workers ?? [])];
  await waitFor(`all ${all.length} nodes ready on ${first}`, async () => {
    const nodes = await api(lab, first).nodes();
    return nodes.length === all.length && nodes.every((n) => n.Status.State === 'ready');
  }, { timeoutMs: opts.readyTimeoutMs ?? 30_000 });
  return { clusterId: s.ID, nodeIds, tokens, timings };
}

/** The host whose node the given manager lists as leader, if any (IDs mapped back through `nodeIds`). */
export function leaderOf(nodes: Node[], nodeIds: Record<string, string>): string | undefined {
  const id = nodes.find((n) => n.ManagerStatus?.Leader)?.ID;
  return Object.entries(nodeIds).find(([, v]) => v === id)?.[0];
}

/**
 * Waits until one of `observers` lists a leader among `candidates` (default: any), and
 * resolves with that leader's host.
 */
export async function waitForLeader(lab: Lab, observers: string[], nodeIds: Record<string, string>, opts: { candidates?: string[]; timeoutMs?: number } = {}): Promise<string> {
  return waitFor(`a leader seen from ${observers.join(',')}`, async () => {
    for (const h of observers) {
      try {
        const leader = leaderOf(await api(lab, h, 2000).nodes(), nodeIds);
        if (leader && (!opts.candidates || opts.candidates.includes(leader))) return leader;
      } catch { /* next observer */ }
    }
    return undefined;
  }, { timeoutMs: opts.timeoutMs ?? 20_000 });
}

/**
 * One label write through `host`, as `docker node update --label-add k=v` does it: read
 * the node, send its spec back with the label added and the version read. Throws the
 * API's error (503 without quorum, 409 on a concurrent update).
 */
export async function addLabel(lab: Lab, host: string, nodeId: string, key: string, value: string, timeoutMs = 3000): Promise<void> {
  const c = api(lab, host, timeoutMs);
  const n = await c.node(nodeId);
  await c.updateNode(n, { ...n.Spec, Labels: { ...n.Spec.Labels, [key]: value } });
}

/**
 * Retries {@link addLabel} until it succeeds (409 conflicts and 503s are retried), and
 * resolves with the number of attempts. Throws {@link DeadlineError} after `timeoutMs`.
 */
export async function addLabelRetrying(lab: Lab, host: string, nodeId: string, kv: [string, string], opts: { timeoutMs?: number; intervalMs?: number; requestTimeoutMs?: number } = {}): Promise<number> {
  let attempts = 0;
  await waitFor(`label ${kv[0]}=${kv[1]} on ${nodeId} through ${host}`, async () => {
    attempts++;
    await addLabel(lab, host, nodeId, kv[0], kv[1], opts.requestTimeoutMs);
    return true;
  }, { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: opts.intervalMs ?? 20 });
  return attempts;
}

/** True for the errors a write may meet during a failover (no quorum, leader changed, conflict, timeout). */
export function isTransient(err: unknown): boolean {
  if (err instanceof ApiError) return err.status === 503 || err.status === 409 || err.status === 500;
  return true;
}
