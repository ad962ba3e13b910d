/**
 * The fault injector of the simulation: at random steps it partitions the network
 * (symmetric splits, isolated nodes, one-way cuts, the "bridge" shape A↔B↔C with A↮C),
 * changes loss/duplication/delay, crashes nodes (also in the middle of Ready handling)
 * and restarts them, pauses nodes, transfers leadership, forces elections, and changes
 * membership (add a learner, promote it, remove a voter). `heal()` undoes every fault.
 */
import { ConfChangeType } from '../../src/index.ts';
import { CALM } from './network.ts';
import type { Cluster } from './cluster.ts';
import { CRASH_POINTS } from './sim-node.ts';

export interface NemesisOptions {
  /** Probability per Raft tick of a fault action. */
  rate: number;
  /**
   * Network faults (partitions, cuts, lossy links) heal by themselves after this many
   * election timeouts at most (at least a quarter of it), and crashed nodes restart as
   * late, so that faults come and go rather than pile up. 0: they last until healed or
   * restarted by a later action.
   */
  faultSpan: number;
  /** Most nodes that may exist (started) in the cluster's lifetime. */
  maxNodes: number;
  /** Whether to change membership. */
  membership: boolean;
  /** Fewest voters a removal may leave. */
  minVoters: number;
  /** Overrides of DEFAULT_WEIGHTS. */
  weights?: Partial<typeof DEFAULT_WEIGHTS>;
}

type Action = [weight: number, run: () => void];

/** Relative frequencies of the nemesis' actions. */
export const DEFAULT_WEIGHTS = {
  split: 3,
  isolate: 2,
  oneWay: 1,
  bridge: 1,
  healNetwork: 3,
  netFaults: 2,
  crash: 3,
  crashLeader: 2,
  isolateLeader: 1,
  restart: 4,
  pause: 1,
  transfer: 2,
  campaign: 1,
  addLearner: 2,
  promote: 2,
  remove: 1,
  replace: 2,
  leaveJoint: 2,
};

export class Nemesis {
  /** Step at which the current network faults heal by themselves. */
  private healAt = Infinity;
  /** Crashed nodes and the step at which they restart by themselves. */
  private readonly restartAt = new Map<string, number>();

  constructor(private readonly c: Cluster, private readonly opts: NemesisOptions) {}

  /** Maybe performs one random fault action. */
  step(): void {
    if (this.c.now >= this.healAt) {
      this.healNetwork();
      this.c.net.faults = { ...CALM };
    }
    for (const [id, at] of this.restartAt) {
      if (this.c.now < at) continue;
      this.restartAt.delete(id);
      const n = this.c.nodes.get(id)!;
      if (!n.raw && !n.removed) this.c.restart(n);
    }
    if (!this.c.rand.chance(this.opts.rate / this.c.tickEvery)) return;
    const w = { ...DEFAULT_WEIGHTS, ...this.opts.weights };
    const actions: Action[] = [
      [w.split, () => this.split()],
      [w.isolate, () => this.isolate()],
      [w.oneWay, () => this.oneWay()],
      [w.bridge, () => this.bridge()],
      [w.healNetwork, () => this.healNetwork()],
      [w.netFaults, () => this.netFaults()],
      [w.crash, () => this.crash()],
      [w.crashLeader, () => this.crashLeader()],
      [w.isolateLeader, () => this.isolateLeader()],
      [w.restart, () => this.restart()],
      [w.pause, () => this.pause()],
      [w.transfer, () => this.transfer()],
      [w.campaign, () => this.campaign()],
    ];
    if (this.opts.membership) {
      actions.push([w.addLearner, () => this.addLearner()], [w.promote, () => this.promote()], [w.remove, () => this.remove()]);
      actions.push([w.replace, () => this.replace()], [w.leaveJoint, () => this.leaveJoint()]);
    }
    const total = actions.reduce((s, [w]) => s + w, 0);
    let x = this.c.rand.next() * total;
    for (const [w, run] of actions) {
      if ((x -= w) < 0) return run();
    }
  }

  /** A random fault duration in steps, or Infinity when faults do not heal by themselves. */
  private span(): number {
    if (this.opts.faultSpan === 0) return Infinity;
    const span = this.c.raft.electionTick * this.c.tickEvery * this.opts.faultSpan;
    return this.c.rand.int(Math.ceil(span / 4), Math.ceil(span));
  }

  /** Schedules the self-heal of a network fault just injected (keeps an earlier one). */
  private expire(): void {
    if (this.healAt === Infinity) this.healAt = this.c.now + this.span();
  }

  /** Crashes `id` now or inside its next Ready, and schedules its restart. */
  private crashNode(id: string, why: string): void {
    const n = this.c.nodes.get(id)!;
    if (this.c.rand.chance(0.5)) {
      const at = this.c.rand.pick(CRASH_POINTS);
      this.c.crashAtNextReady.set(id, at);
      this.c.trace(`nemesis: ${why} ${id} will crash ${at} of its next ready`);
    } else this.c.crash(n, `nemesis: ${why}`);
    this.restartAt.set(id, this.c.now + this.span());
  }

  /** Removes every fault: links, loss, delays, pauses; restarts every crashed member. */
  heal(): void {
    const c = this.c;
    c.net.heal();
    c.net.faults = { ...CALM };
    this.healAt = Infinity;
    this.restartAt.clear();
    c.crashAtNextReady.clear();
    for (const n of c.nodes.values()) {
      n.pausedUntil = 0;
      if (!n.raw && !n.removed) c.restart(n);
    }
    c.trace('nemesis: heal everything');
  }

  private ids(): string[] {
    return [...this.c.nodes.values()].filter((n) => !n.removed).map((n) => n.id);
  }

  private split(): void {
    const ids = this.c.rand.shuffle(this.ids());
    const k = this.c.rand.int(1, Math.max(1, ids.length - 1));
    const groups = [ids.slice(0, k), ids.slice(k)];
    this.c.net.partition(groups);
    this.expire();
    this.c.trace(`nemesis: partition ${JSON.stringify(groups)}`);
  }

  private isolate(): void {
    const id = this.c.rand.pick(this.ids());
    this.c.net.isolate(id, this.ids());
    this.expire();
    this.c.trace(`nemesis: isolate ${id}`);
  }

  private oneWay(): void {
    const ids = this.ids();
    for (let i = this.c.rand.int(1, 3); i > 0; i--) {
      const [a, b] = this.c.rand.shuffle(ids);
      if (b === undefined) return;
      this.c.net.cut(a, b);
      this.expire();
      this.c.trace(`nemesis: cut ${a} -> ${b}`);
    }
  }

  private bridge(): void {
    const [a, , c] = this.c.rand.shuffle(this.ids());
    if (c === undefined) return;
    this.c.net.partition([[a], [c]]);
    this.expire();
    this.c.trace(`nemesis: bridge, ${a} and ${c} cannot talk`);
  }

  private healNetwork(): void {
    this.healAt = Infinity;
    this.c.net.heal();
    this.c.trace('nemesis: heal network');
  }

  private netFaults(): void {
    const r = this.c.rand;
    const slow = r.chance(0.3);
    this.c.net.faults = {
      loss: r.chance(0.5) ? r.next() * 0.3 : 0,
      duplicate: r.chance(0.5) ? r.next() * 0.2 : 0,
      minDelay: 1,
      maxDelay: slow ? r.int(4, 12) : r.int(1, 4),
      longDelayChance: r.chance(0.4) ? r.next() * 0.05 : 0,
      longDelay: r.int(20, 120),
    };
    this.expire();
    this.c.trace(`nemesis: network ${JSON.stringify(this.c.net.faults)}`);
  }

  private crash(): void {
    const up = this.c.upNodes();
    if (up.length > 0) this.crashNode(this.c.rand.pick(up).id, 'node');
  }

  /** Crashes the leader, often right inside its next Ready (before its entries spread). */
  private crashLeader(): void {
    const lead = this.c.leader();
    if (lead) this.crashNode(lead.id, 'leader');
  }

  private isolateLeader(): void {
    const lead = this.c.leader();
    if (!lead) return;
    this.c.net.isolate(lead.id, this.ids());
    this.expire();
    this.c.trace(`nemesis: isolate leader ${lead.id}`);
  }

  private restart(): void {
    const down = [...this.c.nodes.values()].filter((n) => !n.raw && !n.removed);
    if (down.length > 0) this.c.restart(this.c.rand.pick(down));
  }

  private pause(): void {
    const up = this.c.upNodes();
    if (up.length === 0) return;
    const n = this.c.rand.pick(up);
    n.pausedUntil = this.c.now + this.c.rand.int(10, 200);
    this.c.trace(`nemesis: pause ${n.id} until ${n.pausedUntil}`);
  }

  private transfer(): void {
    const lead = this.c.leader();
    if (!lead) return;
    const voters = lead.raw!.status().confState.voters.filter((v) => v !== lead.id);
    if (voters.length === 0) return;
    const to = this.c.rand.pick(voters);
    this.c.trace(`nemesis: transfer leadership ${lead.id} -> ${to}`);
    lead.raw!.transferLeader(to);
  }

  private campaign(): void {
    const up = this.c.upNodes();
    if (up.length === 0) return;
    const n = this.c.rand.pick(up);
    this.c.trace(`nemesis: ${n.id} campaigns`);
    n.raw!.campaign();
  }

  private addLearner(): void {
    const lead = this.c.leader();
    if (!lead || this.c.nodes.size >= this.opts.maxNodes) return;
    this.c.proposeConfChange(lead, { changes: [{ type: ConfChangeType.AddLearner, nodeId: this.c.newNodeId() }] });
  }

  private promote(): void {
    const lead = this.c.leader();
    const learners = lead?.raw!.status().confState.learners ?? [];
    if (!lead || learners.length === 0) return;
    this.c.proposeConfChange(lead, { changes: [{ type: ConfChangeType.AddNode, nodeId: this.c.rand.pick(learners) }] });
  }

  /** Joint consensus: promote a learner and remove a voter in one change. */
  private replace(): void {
    const lead = this.c.leader();
    if (!lead) return;
    const cs = lead.raw!.status().confState;
    if (cs.learners.length === 0 || cs.voters.length < this.opts.minVoters || cs.votersOutgoing.length > 0) return;
    const transition = this.c.rand.pick(['auto', 'joint-implicit', 'joint-explicit'] as const);
    this.c.proposeConfChange(lead, {
      changes: [
        { type: ConfChangeType.AddNode, nodeId: this.c.rand.pick(cs.learners) },
        { type: ConfChangeType.RemoveNode, nodeId: this.c.rand.pick(cs.voters) },
      ],
      transition,
    });
  }

  /** Leaves a joint configuration entered with an explicit transition. */
  private leaveJoint(): void {
    const lead = this.c.leader();
    if (!lead || lead.raw!.status().confState.votersOutgoing.length === 0) return;
    this.c.proposeConfChange(lead, { changes: [] });
  }

  private remove(): void {
    const lead = this.c.leader();
    const voters = lead?.raw!.status().confState.voters ?? [];
    if (!lead || voters.length <= this.opts.minVoters) return;
    this.c.proposeConfChange(lead, { changes: [{ type: ConfChangeType.RemoveNode, nodeId: this.c.rand.pick(voters) }] });
  }
}
