/**
 * A deterministic simulated Raft cluster: SimNodes, a SimNetwork for their messages, a
 * step clock, and the safety checker watching every persist, election and apply. All
 * randomness comes from one seed, so a run replays exactly.
 *
 * Time: one `step()` is the clock's unit; each node ticks its RawNode every `tickEvery`
 * steps (at its own phase); network delays are counted in steps.
 */
import { ConfChangeType, MessageType, StateRole } from '../../src/index.ts';
import type { ConfChange, ConfState, Entry, Message } from '../../src/index.ts';
import { DigestApp } from './app.ts';
import type { App } from './app.ts';
import { SimNetwork } from './network.ts';
import { Prng } from './prng.ts';
import { SafetyChecker } from './safety.ts';
import { SimNode } from './sim-node.ts';
import type { Bootstrap, CrashPoint, NodeEnv, RaftOptions, SnapshotPolicy } from './sim-node.ts';

export interface ClusterOptions {
  seed: number;
  /** Number of voters the cluster is bootstrapped with (named n1..nN). */
  voters: number;
  /** Bootstrap with the configuration in a snapshot at index 1 (required with membership changes). Default true. */
  bootstrapAtSnapshot?: boolean;
  raft: RaftOptions;
  snapshot: SnapshotPolicy;
  /** Steps per Raft tick. Default 4. */
  tickEvery?: number;
  /** Probability of handling a node's Ready right after it steps a message, rather than at the end of the step. Default 0.3. */
  eagerReady?: number;
  /** The application each node incarnation runs. Default: DigestApp. */
  newApp?: (node: SimNode) => App;
  /** A leader sends its Ready's messages before persisting it (thesis §10.2.1). Default false. */
  leaderSendsFirst?: boolean;
  /** Lines of trace kept for failure reports. Default 400. */
  traceLines?: number;
}

export class Cluster implements NodeEnv {
  now = 0;
  readonly rand: Prng;
  readonly net: SimNetwork<Message>;
  readonly safety = new SafetyChecker();
  readonly nodes = new Map<string, SimNode>();
  readonly raft: RaftOptions;
  readonly tickEvery: number;
  /** Crashes to strike inside a node's next Ready handling. */
  readonly crashAtNextReady = new Map<string, CrashPoint>();
  /** Called for every entry any node applies (after the safety checks). */
  onApply: ((node: SimNode, e: Entry) => void) | null = null;
  readonly stats = { steps: 0, crashes: 0, restarts: 0, confChanges: 0, proposals: 0, dropped: 0 };
  private nextId: number;
  /** Nodes whose removal was applied but which are still in the (joint) configuration. */
  private readonly leaving = new Set<string>();
  private readonly phase = new Map<string, number>();
  private readonly traceBuf: string[] = [];
  private readonly traceLines: number;
  private readonly liveTrace = process.env.RAFT_SIM_TRACE === '1';
  private readonly eagerReady: number;
  private readonly opts: ClusterOptions;

  constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.rand = new Prng(opts.seed);
    this.net = new SimNetwork<Message>(this.rand.fork(), cloneMessage);
    this.raft = opts.raft;
    this.tickEvery = opts.tickEvery ?? 4;
    this.eagerReady = opts.eagerReady ?? 0.3;
    this.traceLines = opts.traceLines ?? 400;
    const ids = Array.from({ length: opts.voters }, (_, i) => `n${i + 1}`);
    this.nextId = opts.voters + 1;
    const cs: ConfState = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const atSnapshot = opts.bootstrapAtSnapshot ?? true;
    for (const id of ids) this.addNode(id, { confState: cs, atSnapshot }).start();
  }

  private addNode(id: string, bootstrap?: Bootstrap): SimNode {
    const node = new SimNode(id, this, this.rand.fork(), this.opts.newApp ?? (() => new DigestApp()), this.opts.snapshot, this.opts.leaderSendsFirst ?? false, bootstrap);
    this.nodes.set(id, node);
    this.phase.set(id, this.rand.int(0, this.tickEvery - 1));
    return node;
  }

  // ---- NodeEnv ----

  send(m: Message): void {
    this.net.send(m, this.now);
  }

  /**
   * Starts a member when its addition is first applied anywhere, and stops one for good once
   * a configuration without it (in no role, outgoing voters included) is applied after its
   * removal — as an operator shuts down a removed manager.
   */
  onConfChange(by: string, cc: ConfChange, cs: ConfState): void {
    for (const ch of cc.changes) {
      const known = this.nodes.get(ch.nodeId);
      if ((ch.type === ConfChangeType.AddLearner || ch.type === ConfChangeType.AddNode) && !known) {
        this.trace(`start new member ${ch.nodeId} (seen applied by ${by})`);
        this.addNode(ch.nodeId).start();
      } else if (ch.type === ConfChangeType.RemoveNode && known && !known.removed) {
        this.leaving.add(ch.nodeId);
      }
    }
    for (const id of this.leaving) {
      if (isMember(cs, id)) continue;
      this.leaving.delete(id);
      const node = this.nodes.get(id)!;
      node.removed = true;
      node.crash(`removed from the cluster (seen applied by ${by})`);
    }
  }

  onApplied(node: SimNode, e: Entry): void {
    this.onApply?.(node, e);
  }

  trace(line: string): void {
    const l = `[${this.now}] ${line}`;
    if (this.liveTrace) console.log(l);
    this.traceBuf.push(l);
    if (this.traceBuf.length > this.traceLines) this.traceBuf.shift();
  }

  /** The last trace lines, for a failure report. */
  recentTrace(): string {
    return this.traceBuf.join('\n');
  }

  // ---- the clock ----

  /** Advances time by one step: deliver due messages, tick, handle Readys. */
  step(): void {
    this.now++;
    this.stats.steps++;
    for (const d of this.net.due(this.now)) this.deliver(d.msg, d.dropped);
    for (const node of this.nodes.values()) {
      if (!node.raw || node.pausedUntil > this.now) continue;
      if ((this.now + this.phase.get(node.id)!) % this.tickEvery === 0) node.raw.tick();
    }
    for (const node of this.rand.shuffle([...this.nodes.values()])) this.drainReady(node);
  }

  /**
   * Delivers one message, or handles its loss as a transport would: a failed snapshot is
   * reported (the snapshot is a stream whose failure the sender sees); a message on a cut
   * link makes the sender report the peer unreachable; a randomly lost one goes unnoticed.
   */
  private deliver(m: Message, dropped: false | 'lost' | 'cut'): void {
    const from = this.nodes.get(m.from);
    const to = this.nodes.get(m.to);
    if (m.type === MessageType.Snap) {
      const why = dropped || (!to?.raw ? 'down' : to.pausedUntil > this.now ? 'paused' : 'delivered');
      this.trace(`snapshot ${m.snapshot?.metadata.index} ${m.from} -> ${m.to}: ${why}`);
    }
    if (dropped || !to?.raw || to.pausedUntil > this.now) {
      this.stats.dropped++;
      if (from?.raw) {
        if (m.type === MessageType.Snap) from.raw.reportSnapshot(m.to, false);
        else if (dropped !== 'lost') from.raw.reportUnreachable(m.to);
      }
      return;
    }
    to.raw!.step(m);
    if (m.type === MessageType.Snap && from?.raw) from.raw.reportSnapshot(m.to, true);
    if (this.rand.chance(this.eagerReady)) this.drainReady(to);
  }

  /** Handles a node's Readys until it has none (or crashes). */
  drainReady(node: SimNode): void {
    for (let i = 0; i < 8 && node.raw?.hasReady(); i++) {
      const crashAt = this.crashAtNextReady.get(node.id);
      if (crashAt) {
        this.crashAtNextReady.delete(node.id);
        this.stats.crashes++;
      }
      if (!node.handleReady(crashAt)) return;
    }
  }

  // ---- queries ----

  /** Running nodes, in id order. */
  upNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.raw !== null);
  }

  /** The running node that believes it leads in the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.upNodes()) {
      const st = n.raw!.status();
      if (st.softState.role === StateRole.Leader && st.hardState.term > bestTerm) {
        best = n;
        bestTerm = st.hardState.term;
      }
    }
    return best;
  }

  // ---- actions (the workload and the nemesis use these) ----

  /** Proposes `data` at `node`; returns whether the core accepted it into its log or forwarded it. */
  propose(node: SimNode, data: Uint8Array): boolean {
    this.stats.proposals++;
    try {
      node.raw!.propose(data);
      return true;
    } catch (err) {
      if (isExpectedRefusal(err)) return false;
      throw err;
    }
  }

  proposeConfChange(node: SimNode, cc: ConfChange): boolean {
    try {
      node.raw!.proposeConfChange(cc);
      this.stats.confChanges++;
      this.trace(`${node.id} propose conf change ${JSON.stringify(cc.changes)}${cc.transition ? ` (${cc.transition})` : ''}`);
      return true;
    } catch (err) {
      if (isExpectedRefusal(err) || (err as Error).name === 'ConfChangeError') return false;
      throw err;
    }
  }

  /** A fresh node ID (IDs are never reused). */
  newNodeId(): string {
    return `n${this.nextId++}`;
  }

  crash(node: SimNode, why: string): void {
    if (!node.raw) return;
    this.stats.crashes++;
    node.crash(why);
  }

  restart(node: SimNode): void {
    if (node.raw || node.removed) return;
    this.stats.restarts++;
    node.start();
  }
}

/** Whether `id` has any role in `cs`. */
export function isMember(cs: ConfState, id: string): boolean {
  return [cs.voters, cs.votersOutgoing, cs.learners, cs.learnersNext].some((ids) => ids.includes(id));
}

/** A deep copy of a message, as a wire would make (faster than structuredClone here). */
export function cloneMessage(m: Message): Message {
  const c: Message = { ...m, entries: m.entries.map((e) => ({ ...e, data: e.data.slice() })) };
  if (m.context) c.context = m.context.slice();
  if (m.snapshot) c.snapshot = structuredClone(m.snapshot);
  return c;
}

/** Errors the core throws to refuse a proposal: retryable, not bugs. */
export function isExpectedRefusal(err: unknown): boolean {
  const name = (err as Error | undefined)?.name;
  return name === 'ProposalDroppedError' || name === 'NotLeaderError';
}
