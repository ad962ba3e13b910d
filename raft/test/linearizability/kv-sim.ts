/**
 * One seeded run of the replicated KV store on a simulated cluster under faults, with
 * concurrent clients recording the history the linearizability checker then judges.
 * The cluster's own safety checks run as well. After `activeSteps` the clients stop
 * issuing, every fault is healed, and they have `drainSteps` to finish their open
 * operations; whatever is still unanswered stays open in the history.
 */
import { Cluster } from '../sim/cluster.ts';
import { Nemesis } from '../sim/nemesis.ts';
import type { NemesisOptions } from '../sim/nemesis.ts';
import { SimNetwork } from '../sim/network.ts';
import { Prng } from '../sim/prng.ts';
import { pickSettings } from '../sim/simulation.ts';
import { HistoryRecorder } from './history.ts';
import { KvApp } from './kv-app.ts';
import type { KvBugs, KvMessage } from './kv-app.ts';
import { KvClient } from './kv-clients.ts';
import type { KvInput, KvOperation, KvOutput } from './kv-model.ts';

export interface KvSimOptions {
  clients: number;
  activeSteps: number;
  /** Most steps to let open operations finish after healing (half the seeds get only a few, leaving some open). */
  drainSteps: number;
  /** Deliberate server bugs (for tests of the test). */
  bugs?: KvBugs;
  /** Most keys the clients use (each seed picks 1..maxKeys). Default 4. */
  maxKeys?: number;
  /** Nemesis weights (see DEFAULT_WEIGHTS); by default leaders are isolated and crashed more often. */
  weights?: NemesisOptions['weights'];
}

/** Faults that make stale leaders and lost acknowledgements likely. */
export const KV_WEIGHTS: NemesisOptions['weights'] = { isolateLeader: 4, crashLeader: 3, transfer: 3 };

export interface KvSimResult {
  ops: KvOperation[];
  cluster: Cluster;
}

export function runKvSimulation(seed: number, opts: KvSimOptions): KvSimResult {
  const settings = pickSettings(seed);
  const r = new Prng(seed ^ 0x6b76);
  let clientNet: SimNetwork<KvMessage> | null = null;
  let now = 0;
  const c = new Cluster({
    ...settings.cluster,
    newApp: (node) => new KvApp(node, (m) => clientNet!.send(m, now), opts.bugs),
  });
  clientNet = new SimNetwork<KvMessage>(r.fork());
  clientNet.faults = { loss: r.pick([0, 0, 0.05]), duplicate: r.pick([0, 0.05]), minDelay: 1, maxDelay: 3, longDelayChance: 0.01, longDelay: 40 };
  const nemesis = new Nemesis(c, { ...settings.nemesis, weights: opts.weights ?? KV_WEIGHTS });
  const history = new HistoryRecorder<KvInput, KvOutput>();
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'].slice(0, r.int(1, opts.maxKeys ?? 4));
  const timeout = (settings.cluster.raft.electionTick + 4) * c.tickEvery;
  const clients = Array.from({ length: opts.clients }, (_, i) => new KvClient(i + 1, r.fork(), clientNet!, history, { keys, timeout, think: 10 }));
  const byAddr = new Map(clients.map((cl) => [cl.addr, cl]));
  c.trace(`kv settings ${JSON.stringify(settings)} keys=${keys}`);

  const servers = (): string[] => [...c.nodes.values()].filter((n) => !n.removed).map((n) => n.id);
  const step = (): void => {
    now = c.now + 1; // replies sent during this step leave at its time
    for (const d of clientNet!.due(now)) {
      if (d.dropped) continue;
      const m = d.msg;
      if (m.kind === 'reply') byAddr.get(m.to)?.onReply(m, now, servers());
      else {
        const node = c.nodes.get(m.to);
        if (node?.raw && node.pausedUntil <= now) (node.app as KvApp).handle(m);
      }
    }
    const ids = servers();
    for (const cl of clients) cl.step(now, ids);
    c.step();
  };

  try {
    for (let i = 0; i < opts.activeSteps; i++) {
      nemesis.step();
      step();
    }
    for (const cl of clients) cl.issuing = false;
    nemesis.heal();
    clientNet.heal();
    clientNet.faults = { ...clientNet.faults, loss: 0, duplicate: 0, longDelayChance: 0 };
    const drain = r.chance(0.5) ? opts.drainSteps : r.int(0, 20);
    for (let i = 0; i < drain && clients.some((cl) => cl.busy); i++) step();
  } catch (err) {
    const e = err as Error;
    e.message += `\nat step ${c.now}\nlast trace lines:\n${c.recentTrace().split('\n').slice(-60).join('\n')}`;
    throw e;
  }
  return { ops: history.operations(), cluster: c };
}
