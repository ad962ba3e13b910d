// Helpers of the services lab tests: forming a 3-host swarm through the API, polling with
// deadlines, listing tasks, and the containers runc runs on each host.
import { ApiClient } from '../../src/api/client.ts';
import type { Node } from '../../src/api/types/node.ts';
import type { Service, ServiceSpec } from '../../src/api/types/service.ts';
import type { Swarm } from '../../src/api/types/swarm.ts';
import type { Task } from '../../src/api/types/task.ts';
import type { Lab } from './lab.ts';

export const IMAGE = '192.168.100.1:5000/shoal/bb:v1';
export const HOSTS = ['h1', 'h2', 'h3'];
const RUNTIME_ROOT = '/run/shoal/exec/runtime';

/**
 * Polls `fn` until it returns a truthy value (every `intervalMs`, default 200); throws after
 * `timeoutMs` with `what` (a string, or a function for a message built from the last state).
 */
export async function waitFor<T>(
  what: string | (() => string),
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function client(lab: Lab, host: string): ApiClient {
  return new ApiClient(lab.dockerHost(host));
}

/**
 * Forms the swarm: h1 the manager, the other lab hosts (`hosts`, default 3: h2 and h3)
 * workers (or managers too). Returns node ID → host name.
 */
export async function formSwarm(lab: Lab, opts: { managers?: boolean; hosts?: number } = {}): Promise<Map<string, string>> {
  const hosts = opts.hosts ?? 3;
  const h1 = client(lab, 'h1');
  await h1.post('/swarm/init', { ListenAddr: '192.168.100.11:2377', AdvertiseAddr: '192.168.100.11' }, { timeoutMs: 30_000 });
  const swarm = await h1.get<Swarm>('/swarm');
  for (let i = 2; i <= hosts; i++) {
    const h = `h${i}`;
    const addr = lab.address(h);
    await client(lab, h).post('/swarm/join', {
      RemoteAddrs: ['192.168.100.11:2377'], JoinToken: opts.managers ? swarm.JoinTokens.Manager : swarm.JoinTokens.Worker, ListenAddr: `${addr}:2377`, AdvertiseAddr: addr,
    }, { timeoutMs: 60_000 });
  }
  const nodes = await waitFor(`${hosts} ready nodes`, async () => {
    const ns = await h1.get<Node[]>('/nodes');
    const managersUp = !opts.managers || ns.every((n) => n.ManagerStatus?.Reachability === 'reachable');
    return ns.length === hosts && ns.every((n) => n.Status.State === 'ready') && managersUp && ns;
  });
  return new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
}

export async function tasksOf(lab: Lab, service: string, via = 'h1'): Promise<Task[]> {
  return client(lab, via).get<Task[]>('/tasks', { query: { filters: JSON.stringify({ service: [service] }) } });
}

/** Waits until exactly `n` tasks of the service are wanted and running; returns them. */
export async function waitRunning(lab: Lab, service: string, n: number, via = 'h1', timeoutMs = 90_000): Promise<Task[]> {
  return waitFor(`${n} running tasks of ${service}`, async () => {
    const ts = await tasksOf(lab, service, via);
    const wanted = ts.filter((t) => t.DesiredState === 'running');
    const running = wanted.filter((t) => t.Status.State === 'running');
    return wanted.length === n && running.length === n && running;
  }, timeoutMs);
}

/** Container IDs runc runs on a host (its own /run). */
export async function runningContainers(lab: Lab, host: string): Promise<string[]> {
  const r = await lab.exec(host, ['runc', '--root', RUNTIME_ROOT, 'list', '--format', 'json']);
  if (r.code !== 0) return [];
  const list = JSON.parse(r.stdout || 'null') as { id: string; status: string }[] | null;
  return (list ?? []).filter((c) => c.status === 'running').map((c) => c.id);
}

export async function allRunningContainers(lab: Lab, hosts = HOSTS): Promise<Map<string, string[]>> {
  return new Map(await Promise.all(hosts.map(async (h) => [h, await runningContainers(lab, h)] as [string, string[]])));
}

/** Total of running containers over the hosts. */
export async function countRunningContainers(lab: Lab, hosts = HOSTS): Promise<number> {
  return [...(await allRunningContainers(lab, hosts)).values()].reduce((n, c) => n + c.length, 0);
}

/** Sets a replicated service's replica count through the API of `via`. */
export async function scale(lab: Lab, name: string, replicas: number, via = 'h1'): Promise<void> {
  const c = client(lab, via);
  const svc = await c.get<Service>(`/services/${name}`);
  const spec: ServiceSpec = { ...svc.Spec, Mode: { Replicated: { Replicas: replicas } } };
  await c.post(`/services/${svc.ID}/update`, spec, { query: { version: svc.Version.Index } });
}
