/**
 * What the Shoal-vs-Docker benches share: forming the 3-host swarm of one system's lab
 * over the Engine API (h1 the manager, h2 and h3 workers). Unlike labs/lib's formSwarm
 * it listens on 0.0.0.0 and polls with the bench's own wait, so each bench keeps its
 * step timeout and 50 ms poll (its figures are not rounded up to a slow poll).
 */
import { ApiClient } from '../../src/api/client.ts';
import type { Node } from '../../src/api/types/node.ts';
import type { Swarm } from '../../src/api/types/swarm.ts';
import type { Lab } from '../lib/lab.ts';

/** A bench's wait: polls `fn` until it returns something truthy, or throws naming `what`. */
export type BenchUntil = <T>(what: string | (() => string), fn: () => Promise<T | false | undefined>) => Promise<T>;

/**
 * Inits the swarm on h1, joins h2 and h3 as workers and resolves with the 3 nodes once all
 * are ready. `spec`: a swarm spec for the init (e.g. the same `Dispatcher.HeartbeatPeriod`
 * on both sides of a like-for-like comparison); each side's defaults without it.
 */
export async function formBenchSwarm(lab: Lab, until: BenchUntil, spec?: Partial<Swarm['Spec']>): Promise<Node[]> {
  const api = new ApiClient(lab.dockerHost('h1'));
  await api.post('/swarm/init', { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: lab.address('h1'), ...(spec ? { Spec: spec } : {}) }, { timeoutMs: 60_000 });
  const sw = await api.get<Swarm>('/swarm');
  for (const h of ['h2', 'h3']) {
    await new ApiClient(lab.dockerHost(h)).post('/swarm/join', {
      ListenAddr: '0.0.0.0:2377', AdvertiseAddr: lab.address(h), RemoteAddrs: [`${lab.address('h1')}:2377`], JoinToken: sw.JoinTokens.Worker,
    }, { timeoutMs: 60_000 });
  }
  return until('3 ready nodes', async () => {
    const ns = await api.get<Node[]>('/nodes');
    return ns.length === 3 && ns.every((n) => n.Status.State === 'ready') && ns;
  });
}
