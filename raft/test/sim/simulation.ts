/**
 * One randomized simulation run: a seed picks the cluster's shape and Raft settings,
 * then rounds of chaos (nemesis + proposals) each end with every fault healed and a
 * liveness check: within `livenessTicks` ticks a leader must commit a fresh entry and
 * every running member must apply it. Safety is checked throughout by the cluster's
 * SafetyChecker. Throws on any violation; returns figures for the report.
 */
import { Cluster } from './cluster.ts';
import type { ClusterOptions } from './cluster.ts';
import { Nemesis } from './nemesis.ts';
import type { NemesisOptions } from './nemesis.ts';
import { Prng } from './prng.ts';
import type { SimNode } from './sim-node.ts';

export interface SimulationOptions {
  rounds: number;
  /** Steps of chaos per round. */
  chaosSteps: number;
  /** Ticks allowed after healing for a leader to commit and every member to apply. */
  livenessTicks: number;
  /** Probability per step of a client proposal. */
  proposeRate: number;
}

export interface SimulationResult {
  seed: number;
  steps: number;
  terms: number;
  committed: number;
  /** Ticks each round took to recover after healing. */
  recoveryTicks: number[];
  settings: string;
}

export class LivenessViolation extends Error {
  override name = 'LivenessViolation';
}

/** Trace lines attached to a failure (RAFT_SIM_TRACE_TAIL, default 60). */
function traceTail(): number {
  return Number(process.env.RAFT_SIM_TRACE_TAIL ?? 60);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The per-seed choice of cluster shape and settings. */
export function pickSettings(seed: number): { cluster: ClusterOptions; nemesis: NemesisOptions } {
  const r = new Prng(seed ^ 0x51ed);
  const voters = r.pick([1, 3, 3, 3, 5, 5]);
  const electionTick = r.pick([6, 10, 10, 20]);
  const membership = voters > 1 && r.chance(0.6);
  return {
    cluster: {
      seed,
      voters,
      bootstrapAtSnapshot: membership || r.chance(0.5),
      raft: {
        electionTick,
        heartbeatTick: r.pick([1, 1, 2]),
        preVote: r.chance(0.7),
        checkQuorum: r.chance(0.7),
        maxSizePerMsg: r.pick([0, 16, 64, 1 << 20]),
        maxInflightMsgs: r.pick([1, 2, 16, 256]),
        maxUncommittedEntriesSize: r.pick([0, 0, 256]),
        maxCommittedSizePerReady: r.pick([undefined, 16, 1 << 20]),
        disableProposalForwarding: r.chance(0.2),
        stepDownOnRemoval: true,
      },
      snapshot: { every: r.pick([0, 3, 10, 40]), keep: r.pick([0, 1, 5]) },
      tickEvery: r.pick([2, 4, 4, 8]),
      eagerReady: r.pick([0, 0.3, 1]),
      leaderSendsFirst: r.chance(0.5),
    },
    nemesis: {
      rate: r.pick([0.02, 0.05, 0.1]),
      faultSpan: r.pick([0, 2, 5]),
      maxNodes: voters + r.int(1, 4),
      membership,
      minVoters: 3,
    },
  };
}

export function runSimulation(seed: number, opts: SimulationOptions): SimulationResult {
  const settings = pickSettings(seed);
  const c = new Cluster(settings.cluster);
  const nemesis = new Nemesis(c, settings.nemesis);
  c.trace(`settings ${JSON.stringify(settings)}`);
  let proposals = 0;
  const workload = (): void => {
    if (!c.rand.chance(opts.proposeRate)) return;
    const up = c.upNodes();
    if (up.length === 0) return;
    const target = c.rand.chance(0.7) ? (c.leader() ?? c.rand.pick(up)) : c.rand.pick(up);
    c.propose(target, enc.encode(`s${seed}/p${proposals++}`));
  };

  const recoveryTicks: number[] = [];
  try {
    for (let round = 0; round < opts.rounds; round++) {
      for (let i = 0; i < opts.chaosSteps; i++) {
        nemesis.step();
        workload();
        c.step();
      }
      nemesis.heal();
      recoveryTicks.push(awaitRecovery(c, round, opts));
    }
  } catch (err) {
    const e = err as Error;
    e.message += `\nat step ${c.now}; settings ${JSON.stringify(settings)}\nlast trace lines:\n${c.recentTrace().split('\n').slice(-traceTail()).join('\n')}`;
    throw e;
  }
  return {
    seed,
    steps: c.now,
    terms: c.safety.terms,
    committed: c.safety.maxCommitted,
    recoveryTicks,
    settings: JSON.stringify(settings),
  };
}

/**
 * After a heal: propose markers at the leader (again every election timeout while none
 * commits) until one is applied by every running member of the configuration it was
 * applied in. Returns the ticks it took; throws LivenessViolation past the bound.
 */
function awaitRecovery(c: Cluster, round: number, opts: SimulationOptions): number {
  const start = c.now;
  const bound = opts.livenessTicks * c.tickEvery;
  const retryEvery = (c.raft.electionTick + 2) * c.tickEvery;
  const markers = new Map<string, { index: number; members: string[] }>();
  let lastProposal = -Infinity;
  let k = 0;
  c.onApply = (node: SimNode, e) => {
    const text = dec.decode(e.data);
    if (!text.startsWith('live/') || markers.has(text)) return;
    const cs = node.confState;
    markers.set(text, { index: e.index, members: [...new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext])] });
  };
  try {
    while (c.now - start <= bound) {
      if (c.now - lastProposal >= retryEvery) {
        const lead = c.leader();
        if (lead) {
          c.propose(lead, enc.encode(`live/${round}/${k++}`));
          lastProposal = c.now;
        }
      }
      c.step();
      for (const m of markers.values()) {
        const done = m.members.every((id) => {
          const n = c.nodes.get(id);
          return !n || n.removed || !n.raw || n.applied >= m.index;
        });
        if (done) return Math.ceil((c.now - start) / c.tickEvery);
      }
    }
  } finally {
    c.onApply = null;
  }
  const latest = [...markers].pop();
  const state = [...c.nodes.values()].map((n) => {
    if (!n.raw) return `${n.id}: ${n.removed ? 'removed' : 'down'}`;
    const st = n.raw.status();
    const progress = [...st.progress].map(([id, p]) => `${id}:${p.state}/m${p.match}/n${p.next}${p.recentActive ? '' : '/inactive'}`).join(' ');
    return `${n.id}: ${st.softState.role} term=${st.hardState.term} lead=${st.softState.lead} commit=${st.hardState.commit} applied=${n.applied} log=${n.log.firstIndex()}..${n.log.lastIndex()} voters=${st.confState.voters} learners=${st.confState.learners}${progress ? ` progress ${progress}` : ''}`;
  });
  throw new LivenessViolation(
    `liveness: round ${round}: no marker committed and applied by all members within ${opts.livenessTicks} ticks after healing` +
      ` (${markers.size} markers applied somewhere; latest ${JSON.stringify(latest)})\n  ${state.join('\n  ')}`,
  );
}
