/**
 * `RaftNode`: the async driver around the pure core (`RawNode`), after etcd's node.go and
 * the etcdserver loop. It owns the clock (ticks), the transport (messages in and out),
 * the durable storage (one save per Ready: group commit) and the application state
 * machine (committed entries applied in order), and turns proposals and reads into
 * promises.
 *
 * The Ready loop, run whenever the core has something (inputs arriving in the same turn
 * are batched into one Ready), pipelines writes as etcd's asynchronous storage does — it
 * takes the next Ready without waiting for the previous one's write:
 *   1. a leader sends its messages at once, in parallel with its own disk write (thesis
 *      §10.2.1), unless an earlier Ready's messages still wait for their write;
 *   2. start persisting hard state, entries and snapshot in one `save` (one fsync when
 *      `mustSync`; a hard state where only `commit` moved is written too, without a sync,
 *      and nothing waits for that write). Saves overlap; the storage applies and finishes
 *      them in call order;
 *   3. confirm reads; apply the committed entries (overlapped with the write: committed
 *      means a quorum holds them durably);
 *   4. once the save (and every earlier one) resolved (`persisted`): restore a received
 *      snapshot, `advanceAppend` (only now does a leader count itself for those entries, so
 *      two followers' acks commit while its own fsync runs, and its own ack never precedes
 *      its write), any other role sends (its replies acknowledge what was just written);
 *   5. every `snapshotEvery` applied entries, snapshot the state machine and compact.
 *
 * Invariant (what makes every restart possible, whatever a crash cuts off): `applied` never
 * passes the commit index of a hard state handed to storage, and a snapshot is taken only
 * at an index a synced hard state's commit covers, so the log a restart reads always has
 * commit ≥ its snapshot's index (`start` also clamps what it reads into range). The state
 * machine is volatile: a restart rebuilds it from the snapshot and the log.
 */
import { decodeConfChange } from '../confchange/changer.ts';
import { RaftAssertionError } from '../errors.ts';
import { RawNode, type Config } from '../core/raw-node.ts';
import type { DurableStorage, Storage } from '../storage.ts';
import {
  ConfChangeType, EntryType, MessageType, StateRole,
  type ConfChange, type ConfState, type Entry, type HardState, type Message, type NodeId, type Ready,
} from '../types.ts';
import type { Transport } from '../transport/transport.ts';
import { realClock, type Clock } from './clock.ts';
import { LeaderChangedError, NodeStoppedError, RequestTimeoutError } from './errors.ts';
import { IdSource, ProposalTable, contextKey, envelopePayload, openEnvelope, type PendingProposal, type PendingRead } from './pending.ts';
import type { StateMachine } from './state-machine.ts';

export interface RaftNodeOptions {
  id: NodeId;
  /** The log and hard state; the driver writes it and never closes it (the owner does). */
  storage: DurableStorage;
  transport: Transport;
  stateMachine: StateMachine;
  /** Initial peer addresses for the transport (ID → address). Default none. */
  peers?: Record<NodeId, string>;
  /** Default the process clock. */
  clock?: Clock;
  /**
   * Milliseconds per Raft tick. Default 10: timeouts are counted in ticks and each node
   * ticks at its own phase, so a fine tick keeps a follower's vote lease (one election
   * timeout after the last heartbeat it heard) from outliving the first candidate's timer
   * by up to a tick, which costs a whole extra election round when it happens.
   */
  tickMs?: number;
  /** Ticks without a leader before a follower campaigns (randomized in [n, 2n)). Default 50 (500–1000 ms). */
  electionTick?: number;
  /** Ticks between leader heartbeats. Default 5 (50 ms). */
  heartbeatTick?: number;
  /**
   * When the transport reports the connection to the leader broke (`onPeerDown`), a
   * follower ticks this many times faster until it hears from that leader again or learns
   * of a new one: a dead leader is replaced in a fraction of the election timeout. Safe
   * against false alarms: pre-vote and the other followers' leases keep a live leader in
   * place. Default 5; 1 turns it off.
   */
  peerDownSpeedup?: number;
  /** Random source in [0, 1) for election timeouts and request IDs. Default Math.random. */
  rand?: () => number;
  /** Pre-vote (thesis §9.6). Default true. */
  preVote?: boolean;
  /** Leaders step down without a quorum; votes are ignored within a leader's lease. Default true. */
  checkQuorum?: boolean;
  /** Followers forward proposals to the leader; when false, `propose` rejects with `NotLeaderError`. Default true. */
  forwardProposals?: boolean;
  /**
   * Followers learn a new commit index with the next append, heartbeat or tick instead of an
   * empty append each at once (the core's `lazyCommit`): half the messages and follower
   * writes per entry at low load; a follower applies up to one tick later. Default true.
   */
  lazyCommit?: boolean;
  /** Bytes of entries per append message. Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Append messages in flight per follower. Default 256. */
  maxInflightMsgs?: number;
  /** Bytes of uncommitted entries a leader accepts before dropping proposals. Default 64 MiB. */
  maxUncommittedEntriesSize?: number;
  /** Snapshot and compact after this many applied entries. Default 10000; 0 disables. */
  snapshotEvery?: number;
  /** Entries kept behind a snapshot so slow followers catch up without one. Default 1000. */
  snapshotTrailing?: number;
  /** A proposal or read not in the log (confirmed) after this many ms is rejected as timed out. Default 4 × election timeout. */
  requestTimeoutMs?: number;
  logger?: RaftLogger;
}

export interface RaftLogger {
  debug?(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/** What a `RaftNode` tells its listeners, in order, from its Ready loop. */
export type RaftNodeEvent =
  | { kind: 'leader'; leader: NodeId; term: number }
  | { kind: 'role'; role: StateRole; term: number }
  | { kind: 'applied'; index: number }
  | { kind: 'conf-change'; change: ConfChange; confState: ConfState; index: number }
  | { kind: 'snapshot'; index: number; received: boolean }
  | { kind: 'failed'; error: unknown };

export type RaftNodeListener = (event: RaftNodeEvent) => void;

/**
 * Timings for metrics (all optional). Called synchronously from `propose` and the Ready
 * loop: keep them cheap; a throw is logged and ignored. Durations are measured with the
 * node's clock, in ms.
 */
export interface RaftObserver {
  /** `propose` was called here. */
  proposed?(): void;
  /** A proposal made here was applied here, `ms` after `propose`. */
  proposalApplied?(ms: number): void;
  /** A write of hard state, entries or a snapshot finished after `ms`; `sync` when fsync'd. */
  saved?(ms: number, entries: number, sync: boolean): void;
  /** A snapshot of `bytes` bytes of state-machine data was taken here. */
  snapshotTaken?(bytes: number): void;
}

const LOCAL_TYPES = new Set<MessageType>([
  MessageType.Hup, MessageType.Beat, MessageType.Unreachable, MessageType.SnapStatus, MessageType.CheckQuorum,
]);
const NULL_LOGGER: RaftLogger = { info() {}, warn() {} };

interface PendingConfChange {
  change: ConfChange;
  json: string;
  index?: number;
  /** The driver's tick count when it was proposed; it fails after the request timeout. */
  tick: number;
  resolve(v: { index: number; confState: ConfState }): void;
  reject(e: unknown): void;
}

/** The async Raft driver. See the module comment for the loop; each method states its contract. */
export class RaftNode {
  readonly id: NodeId;
  private readonly o: Required<Omit<RaftNodeOptions, 'peers' | 'logger'>> & Pick<RaftNodeOptions, 'peers'>;
  private readonly log: RaftLogger;
  private raw!: RawNode;
  private readonly ids: IdSource;
  private readonly proposals = new ProposalTable();
  /** Proposals not yet stepped into the core (see `flushProposals`). */
  private batch: { data: Uint8Array; p: PendingProposal }[] = [];
  private readonly reads = new Map<string, PendingRead>();
  private confChanges: PendingConfChange[] = [];
  private transfers: { to: NodeId; resolve(): void; reject(e: unknown): void; cancel(): void }[] = [];
  private readonly listeners = new Set<RaftNodeListener>();
  private readonly observers = new Set<RaftObserver>();

  private started = false;
  private stopped = false;
  private failure: unknown;
  private looping = false;
  private loopDone: Promise<void> = Promise.resolve();
  private cancelTick: (() => void) | undefined;
  /** Ticking `peerDownSpeedup` times faster: the leader's connection broke and no leader is confirmed since. */
  private fastTicks = false;
  /** The term when fast ticking began. */
  private fastTicksTerm = 0;
  /** Ticks since start (bounds requests already in the log). */
  private ticks = 0;
  /** Clock time the last tick stood for. */
  private lastTickAt: number | undefined;
  /**
   * The last hard state handed to storage (writes take effect in call order); `applied`
   * never passes its `commit`.
   */
  private submitted!: HardState;
  /** Readys whose write (or turn behind an earlier write) has not finished yet. */
  private pending = 0;
  /** Readys whose messages wait for their write; a leader's messages wait behind them. */
  private lateSends = 0;
  /** The completions of pending Readys, in order (never rejects). */
  private chain: Promise<void> = Promise.resolve();
  /** The commit index of the last hard state saved with a sync; snapshots stay at or below it. */
  private syncedCommit = 0;

  private leader: NodeId = '';
  private role: StateRole = StateRole.Follower;
  private term = 0;
  private applied = 0;
  private snapshotIndex = 0;
  private confState!: ConfState;
  /** Callers of `snapshotNow` waiting for the Ready loop to take their snapshot. */
  private snapshotWaiters: { resolve(index: number): void; reject(e: unknown): void }[] = [];

  constructor(options: RaftNodeOptions) {
    this.id = options.id;
    const electionTick = options.electionTick ?? 50;
    const tickMs = options.tickMs ?? 10;
    this.o = {
      clock: realClock,
      tickMs,
      electionTick,
      heartbeatTick: 5,
      peerDownSpeedup: 5,
      rand: Math.random,
      preVote: true,
      checkQuorum: true,
      forwardProposals: true,
      lazyCommit: true,
      maxSizePerMsg: 1 << 20,
      maxInflightMsgs: 256,
      maxUncommittedEntriesSize: 64 << 20,
      snapshotEvery: 10_000,
      snapshotTrailing: 1000,
      requestTimeoutMs: 4 * electionTick * tickMs,
      // An option given as undefined keeps its default.
      ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as RaftNodeOptions),
    };
    this.log = options.logger ?? NULL_LOGGER;
    this.ids = new IdSource(this.o.rand);
  }

  /**
   * Restores the state machine from the storage's snapshot, creates the core (which
   * replays committed entries past the snapshot through the Ready loop), starts the
   * transport and the tick timer. Call once.
   */
  async start(): Promise<void> {
    if (this.started) throw new Error('raft: node already started');
    this.started = true;
    const storage = this.o.storage;
    const snap = storage.snapshot();
    if (snap.metadata.index > 0) this.o.stateMachine.restore(snap.data);
    this.applied = snap.metadata.index;
    this.snapshotIndex = snap.metadata.index;
    const init = storage.initialState();
    this.confState = init.confState;
    this.term = init.hardState.term;
    // The snapshot holds only committed entries, and nothing past the log can be committed:
    // a commit index a crash left behind the snapshot (written by an older driver, which
    // wrote commit-only hard states late) or ahead of the log is brought into range, so the
    // core's `committed ≥ applied` holds on every restart. Written with the next hard state.
    const commit = Math.min(Math.max(init.hardState.commit, snap.metadata.index), storage.lastIndex());
    if (commit !== init.hardState.commit) {
      this.log.warn('raft: commit index clamped into [snapshot, last index]', { 'node.id': this.id, commit: init.hardState.commit, clamped: commit, snapshot: snap.metadata.index, last: storage.lastIndex() });
    }
    this.submitted = { ...init.hardState, commit };
    this.syncedCommit = commit;
    const config: Config = {
      id: this.id,
      storage: clampedView(storage, { hardState: this.submitted, confState: init.confState }),
      electionTick: this.o.electionTick,
      heartbeatTick: this.o.heartbeatTick,
      rand: this.o.rand,
      applied: this.applied,
      maxSizePerMsg: this.o.maxSizePerMsg,
      maxInflightMsgs: this.o.maxInflightMsgs,
      maxUncommittedEntriesSize: this.o.maxUncommittedEntriesSize,
      checkQuorum: this.o.checkQuorum,
      preVote: this.o.preVote,
      disableProposalForwarding: !this.o.forwardProposals,
      lazyCommit: this.o.lazyCommit,
      stepDownOnRemoval: true,
    };
    this.raw = new RawNode(config);
    for (const [id, addr] of Object.entries(this.o.peers ?? {})) this.o.transport.addPeer(id, addr);
    this.o.transport.setHandler({
      onMessage: (m) => this.receive(m),
      onUnreachable: (id) => this.input(() => this.raw.reportUnreachable(id)),
      onSnapshotStatus: (id, ok) => this.input(() => this.raw.reportSnapshot(id, ok)),
      onPeerDown: (id) => this.peerDown(id),
    });
    await this.o.transport.start();
    this.scheduleTick();
    this.kick();
    this.log.info('raft: node started', { 'node.id': this.id, term: this.term, applied: this.applied });
  }

  /**
   * Stops ticking, closes the transport, waits for the Ready loop to finish its current
   * iteration, and rejects every waiting request with `NodeStoppedError`. Idempotent.
   * The storage stays open (its owner closes it).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTick?.();
    this.rejectAll(new NodeStoppedError());
    await this.o.transport.close();
    await this.loopDone;
    await this.chain;
  }

  /**
   * Snapshots the state machine at the applied index now (between Ready iterations, as the
   * periodic snapshot), then compacts as usual; resolves with the snapshot's index. With
   * nothing applied since the last snapshot it resolves with that one's index at once.
   * Used to re-seal the state under a new payload cipher key. Rejects once stopped.
   */
  snapshotNow(): Promise<number> {
    if (this.stopped || !this.started) return Promise.reject(new NodeStoppedError());
    return new Promise((resolve, reject) => {
      this.snapshotWaiters.push({ resolve, reject });
      if (this.looping) return; // the running loop takes it after its iteration
      this.looping = true;
      this.loopDone = new Promise<void>((done) => queueMicrotask(() => void this.loop().finally(done)));
    });
  }

  /** Subscribes to events; returns the unsubscribe function. Listeners must not throw. */
  on(listener: RaftNodeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds timing callbacks (metrics); returns the function that removes them. */
  observe(observer: RaftObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Calls `fn` on each observer, logging (not propagating) a throw. */
  private tell(fn: (o: RaftObserver) => void): void {
    for (const o of this.observers) {
      try { fn(o); } catch (err) { this.log.warn('raft: observer threw', { 'node.id': this.id, error: String(err) }); }
    }
  }

  /**
   * Proposes `data` and resolves once its entry is committed and applied here, with the
   * entry's index and what `StateMachine.apply` returned (a throw from `apply` rejects).
   * Rejects with the core's `ProposalDroppedError` (no leader, transfer in progress, too
   * much uncommitted) or `NotLeaderError` (forwarding disabled); with `LeaderChangedError`
   * when a leader change loses it; `RequestTimeoutError` when it never reached a log.
   */
  propose(data: Uint8Array): Promise<{ index: number; result: unknown }> {
    this.assertRunning();
    const { data: wrapped, key } = this.ids.wrap(data);
    return new Promise((resolve, reject) => {
      const p: PendingProposal = { key, resolve, reject, at: this.o.clock.now(), tick: this.ticks };
      this.proposals.add(p);
      if (this.observers.size) this.tell((o) => o.proposed?.());
      this.batch.push({ data: wrapped, p });
      this.kick();
    });
  }

  /**
   * Steps the proposals made since the loop last ran as one (`proposeBatch`): one append and
   * one message per follower for every client that proposed in this turn.
   */
  private flushProposals(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    try {
      this.raw.proposeBatch(batch.map((b) => b.data));
    } catch (err) {
      for (const b of batch) {
        this.proposals.remove(b.p);
        b.p.reject(err);
      }
    }
  }

  /**
   * A linearizable read barrier: resolves with the read index once this node has applied
   * at least the commit index the leader confirmed (by a heartbeat round) after the call.
   * Reading the state machine then observes every write acknowledged before the call.
   * Rejects with `LeaderChangedError` or `RequestTimeoutError` (both retryable).
   */
  readIndex(): Promise<number> {
    this.assertRunning();
    const { ctx, key } = this.ids.context();
    return new Promise((resolve, reject) => {
      this.reads.set(key, { key, resolve, reject, at: this.o.clock.now() });
      try {
        this.raw.readIndex(ctx);
      } catch (err) {
        this.reads.delete(key);
        reject(err);
        return;
      }
      this.kick();
    });
  }

  /** Adds `id` as a learner (receives the log, no vote); `context` is its transport address. Resolves when applied here. */
  addLearner(id: NodeId, context: string): Promise<{ index: number; confState: ConfState }> {
    return this.changeMembership({ changes: [{ type: ConfChangeType.AddLearner, nodeId: id }], context });
  }

  /** Makes `id` (usually a caught-up learner) a voter. Resolves when applied here. */
  promote(id: NodeId, context?: string): Promise<{ index: number; confState: ConfState }> {
    return this.changeMembership({ changes: [{ type: ConfChangeType.AddNode, nodeId: id }], ...(context ? { context } : {}) });
  }

  /** Removes `id` from the cluster. Resolves when applied here. */
  remove(id: NodeId): Promise<{ index: number; confState: ConfState }> {
    return this.changeMembership({ changes: [{ type: ConfChangeType.RemoveNode, nodeId: id }] });
  }

  /**
   * Proposes a membership change and resolves when it is applied on this node. One change
   * is in flight at a time per node (later calls wait their turn); rejects as `propose`.
   */
  changeMembership(change: ConfChange): Promise<{ index: number; confState: ConfState }> {
    this.assertRunning();
    return new Promise((resolve, reject) => {
      const pc: PendingConfChange = { change, json: confChangeKey(change), tick: this.ticks, resolve, reject };
      this.confChanges.push(pc);
      if (this.confChanges.length === 1) this.proposeConfChange(pc);
    });
  }

  private proposeConfChange(pc: PendingConfChange): void {
    pc.tick = this.ticks;
    try {
      this.raw.proposeConfChange(pc.change);
      this.kick();
    } catch (err) {
      this.finishConfChange(pc, err);
    }
  }

  private finishConfChange(pc: PendingConfChange, err: unknown, value?: { index: number; confState: ConfState }): void {
    const i = this.confChanges.indexOf(pc);
    if (i < 0) return;
    this.confChanges.splice(i, 1);
    if (err !== undefined) pc.reject(err);
    else pc.resolve(value!);
    if (i === 0 && this.confChanges.length > 0 && !this.stopped) this.proposeConfChange(this.confChanges[0]);
  }

  /**
   * Asks the leader to hand leadership to `to` (which must be a voter). Resolves when this
   * node sees `to` lead; rejects with `RequestTimeoutError` after two election timeouts or
   * `LeaderChangedError` if another node takes over.
   */
  transferLeadership(to: NodeId): Promise<void> {
    this.assertRunning();
    if (this.leader === to) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = {
        to, resolve, reject,
        cancel: this.o.clock.setTimer(2 * this.o.electionTick * this.o.tickMs, () => {
          this.transfers = this.transfers.filter((x) => x !== t);
          reject(new RequestTimeoutError('leadership transfer'));
        }),
      };
      this.transfers.push(t);
      this.raw.transferLeader(to);
      this.kick();
    });
  }

  /** Starts an election now (tests, or an operator forcing one). */
  campaign(): void {
    this.assertRunning();
    this.raw.campaign();
    this.kick();
  }

  /** The core's status plus the driver's view: applied index, membership, snapshot index. */
  status(): ReturnType<RawNode['status']> & { applied: number; snapshotIndex: number; confState: ConfState; leader: NodeId; role: StateRole; term: number } {
    return { ...this.raw.status(), applied: this.applied, snapshotIndex: this.snapshotIndex, confState: this.confState, leader: this.leader, role: this.role, term: this.term };
  }

  /** The leader this node knows of ('' when none). */
  get leaderId(): NodeId {
    return this.leader;
  }

  /** The current term, as of the last Ready handled. */
  get currentTerm(): number {
    return this.term;
  }

  /** The highest index applied to the state machine. */
  get appliedIndex(): number {
    return this.applied;
  }

  get isLeader(): boolean {
    return this.role === StateRole.Leader;
  }

  /**
   * Whether this follower lost its connection to its leader, or has gone `periods` leader
   * heartbeat periods without hearing from it (an append, a heartbeat or a snapshot): the
   * leader it names may be gone, although its election timer has not fired yet. False on
   * the leader, and while no leader is known (`leaderId` is '' then).
   */
  leaderSilent(periods = 3): boolean {
    if (this.raw.raft.state !== StateRole.Follower) return false;
    return this.fastTicks || this.raw.raft.electionElapsed > periods * this.o.heartbeatTick;
  }

  // ---- inputs ------------------------------------------------------------------------

  private receive(m: Message): void {
    if (LOCAL_TYPES.has(m.type)) return;
    if (this.fastTicks && m.from === this.leader) this.setFastTicks(false);
    this.input(() => this.raw.step(m));
  }

  private peerDown(id: NodeId): void {
    if (!this.started || this.stopped || this.o.peerDownSpeedup <= 1) return;
    if (id !== this.leader || this.role === StateRole.Leader || this.fastTicks) return;
    this.log.info('raft: lost the connection to the leader, ticking faster', { 'node.id': this.id, leader: id, term: this.term });
    this.fastTicksTerm = this.term;
    this.setFastTicks(true);
  }

  private setFastTicks(on: boolean): void {
    if (this.fastTicks === on) return;
    this.fastTicks = on;
    this.cancelTick?.();
    this.scheduleTick(true);
  }

  private input(fn: () => void): void {
    if (!this.started || this.stopped) return;
    try {
      fn();
    } catch (err) {
      // A broken invariant stops the node; anything else is a message the core refused.
      if (err instanceof RaftAssertionError) {
        this.fail(err);
        return;
      }
      this.log.debug?.('raft: input ignored', { 'node.id': this.id, error: String(err) });
    }
    this.kick();
  }

  /**
   * Ticks every `period` ms of clock time. A late timer (a busy or starved process) is
   * made up for with a few extra ticks, so time in ticks keeps up with the clock — but at
   * most `cap` per firing, so a long stall does not fire an election before the messages
   * waiting in the sockets are read.
   */
  private scheduleTick(restart = false): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const period = this.fastTicks ? this.o.tickMs / this.o.peerDownSpeedup : this.o.tickMs;
    if (restart || this.lastTickAt === undefined) this.lastTickAt = now;
    const wait = Math.max(0, this.lastTickAt + period - now);
    this.cancelTick = this.o.clock.setTimer(wait, () => {
      if (this.stopped) return;
      const at = this.o.clock.now();
      const cap = this.fastTicks ? 2 * this.o.peerDownSpeedup : 2;
      let n = 1;
      this.lastTickAt! += period;
      while (n < cap && this.lastTickAt! + period <= at) {
        this.lastTickAt! += period;
        n++;
      }
      if (this.lastTickAt! + period <= at) this.lastTickAt = at; // drop the rest of a long stall
      for (let i = 0; i < n; i++) this.raw.tick();
      this.ticks += n;
      this.expireRequests();
      this.kick();
      this.scheduleTick();
    });
  }

  private expireRequests(): void {
    const before = this.o.clock.now() - this.o.requestTimeoutMs;
    for (const p of this.proposals.unboundOlderThan(before)) {
      this.proposals.remove(p);
      p.reject(new RequestTimeoutError('proposal'));
    }
    // An entry in the log that does not commit (its leader lost its quorum, or the log was
    // cut without this node seeing what replaced it) must not hold its caller forever.
    const tickBound = this.ticks - Math.ceil(this.o.requestTimeoutMs / this.o.tickMs);
    for (const p of this.proposals.boundOlderThanTick(tickBound)) {
      this.proposals.remove(p);
      p.reject(new RequestTimeoutError('proposal', true));
    }
    for (const pc of [...this.confChanges]) {
      if (pc.tick < tickBound && (pc.index !== undefined || pc === this.confChanges[0])) {
        this.finishConfChange(pc, new RequestTimeoutError('membership change', pc.index !== undefined));
      }
    }
    for (const r of [...this.reads.values()]) {
      if (r.index === undefined && r.at < before) {
        this.reads.delete(r.key);
        r.reject(new RequestTimeoutError('read index'));
      }
    }
  }

  // ---- the Ready loop ----------------------------------------------------------------

  /** Runs the Ready loop soon (after the current turn, so inputs of this turn batch). */
  private kick(): void {
    if (this.looping || this.stopped || !this.started) return;
    this.looping = true;
    this.loopDone = new Promise<void>((resolve) => queueMicrotask(() => void this.loop().finally(resolve)));
  }

  private async loop(): Promise<void> {
    try {
      // Readys pipeline: each one's write starts at once and finishes in `persisted`, in order.
      for (;;) {
        this.flushProposals();
        if (this.stopped || !this.readyNow()) break;
        this.handleReady(this.raw.ready());
      }
      // (Checked here first: an async call per loop is a promise and a frame per write.)
      if (!this.stopped && this.snapshotDue()) await this.maybeSnapshot();
    } catch (err) {
      this.fail(err);
    } finally {
      this.looping = false;
    }
    // (A Ready held back by `readyNow` is taken when the write finishes: `persisted` kicks.)
    if (!this.stopped && (this.batch.length || this.readyNow() || this.snapshotWaiters.length)) this.kick();
  }

  /**
   * Whether to take a Ready now. Only a leader gains from pipelining (its followers' acks
   * commit while it writes); anyone else acknowledges nothing before its write, so it lets
   * what arrives meanwhile gather into its next Ready: one write and one reply for all of it.
   */
  private readyNow(): boolean {
    if (this.pending > 0 && this.role !== StateRole.Leader) return false;
    return this.raw.hasReady();
  }

  /**
   * Handles one Ready without waiting for its write (etcd's asynchronous storage): a leader
   * sends at once (unless an earlier Ready's messages still wait for a write), the write
   * starts, committed entries are applied; the rest happens in `persisted` once the write
   * (and every earlier one) finished.
   */
  private handleReady(rd: Ready): void {
    const wasLeader = this.role === StateRole.Leader;
    // Fast ticks are for noticing a dead leader and the election right after: two terms
    // on, they end. Left on, a node with a stale log would time out first in every round
    // and, without pre-vote, keep resetting the up-to-date nodes' timers with its new terms.
    if (rd.hardState && rd.hardState.term > this.fastTicksTerm + 2) this.setFastTicks(false);
    if (rd.hardState) this.term = rd.hardState.term;
    // Bind new entries to their proposals before a leader change in the same Ready is
    // handled, so a proposal already in the log is not reported lost.
    if (this.proposals.size > 0 || this.confChanges.length > 0) {
      for (const e of rd.entries) {
        if (e.type === EntryType.Normal) this.proposals.appended(e.index, e.term, openEnvelope(e.data).key);
        this.bindConfChange(e);
      }
      // The log now ends at the last new entry: whatever was bound past it was cut off.
      if (rd.entries.length > 0) {
        const last = rd.entries[rd.entries.length - 1].index;
        this.proposals.truncatedAfter(last);
        for (const pc of [...this.confChanges]) {
          if (pc.index !== undefined && pc.index > last) this.finishConfChange(pc, new LeaderChangedError(false, 'membership change'));
        }
      }
    }
    if (rd.softState) this.updateSoftState(rd.softState.lead, rd.softState.role);
    // A leader's messages need no write of its own first (thesis §10.2.1), but they must not
    // overtake an earlier Ready's (the one that made it leader waits for its term and vote).
    const early = wasLeader && this.role === StateRole.Leader && this.lateSends === 0;
    if (early && rd.messages.length > 0) this.o.transport.send(rd.messages);
    const late = !early && rd.messages.length > 0;
    const save = rd.hardState !== undefined || rd.entries.length > 0 || rd.snapshot !== undefined;
    // A hard state where only `commit` moved needs no sync and nothing waits for its write:
    // no message acknowledges a commit index, and `applied` only needs it handed to storage
    // (snapshots wait for a synced one). So it is handed over and not waited for, and the
    // storage may hold it back to go with the next synced write (one write less per commit).
    const persist = save && (rd.mustSync || rd.entries.length > 0 || rd.snapshot !== undefined);
    let saving: Promise<void> | undefined;
    if (save) {
      // Every hard state is written, also one where only `commit` moved (without a sync).
      if (rd.hardState) this.submitted = rd.hardState;
      saving = this.o.storage.save({
        ...(rd.hardState ? { hardState: rd.hardState } : {}),
        entries: rd.entries,
        ...(rd.snapshot ? { snapshot: rd.snapshot } : {}),
        sync: rd.mustSync,
      });
      // A commit-only write that fails fails the node here; the others fail it in order below
      // (this only keeps an early throw from leaving them unhandled).
      saving.catch(persist ? () => {} : (err: unknown) => this.fail(err));
      if (!persist) saving = undefined;
    }
    for (const rs of rd.readStates) {
      const key = contextKey(rs.requestCtx);
      const r = key === undefined ? undefined : this.reads.get(key);
      if (r) r.index = rs.index;
    }
    // Committed entries apply now, overlapped with the write: committed means a quorum has
    // them durably, and the state machine is rebuilt from a snapshot on restart anyway.
    this.applyCommitted(rd.committedEntries);
    if (!persist && this.pending === 0) {
      if (late) this.o.transport.send(rd.messages);
      this.resolveReads();
      return;
    }
    if (late) this.lateSends++;
    this.pending++;
    const saveStart = this.o.clock.now();
    this.chain = this.chain
      .then(() => saving)
      .then(() => this.persisted(rd, persist, late, saveStart), (err: unknown) => this.fail(err));
  }

  /** The write of `rd` (and of every earlier Ready) finished. */
  private persisted(rd: Ready, persisted: boolean, late: boolean, saveStart: number): void {
    this.pending--;
    if (this.stopped) return;
    try {
      if (persisted) {
        if (this.observers.size) this.tell((o) => o.saved?.(this.o.clock.now() - saveStart, rd.entries.length, rd.mustSync));
        if (rd.hardState && (rd.mustSync || rd.snapshot)) this.syncedCommit = rd.hardState.commit;
        let restored = false;
        if (rd.snapshot && rd.snapshot.metadata.index > this.applied) {
          this.restoreSnapshot(rd.snapshot.metadata.index, rd.snapshot.data, rd.snapshot.metadata.confState);
          restored = true;
        }
        // The leader counts itself for these entries only now (see `Raft.advanceAppend`).
        this.raw.advanceAppend(rd);
        if (restored) this.raw.advanceApply(this.applied, []);
      }
      // Any other role's messages acknowledge what was just written: sent only now.
      if (late) {
        this.lateSends--;
        this.o.transport.send(rd.messages);
      }
      this.resolveReads();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.kick();
  }

  /** Applies the entries of `ents` past `applied`, in order, and tells the core. */
  private applyCommitted(ents: Entry[]): void {
    if (ents.length === 0) return;
    const before = this.applied;
    for (const e of ents) {
      if (e.index <= this.applied) continue;
      // Every committed entry handed out is covered by a hard state handed to storage.
      if (e.index > this.submitted.commit) throw new RaftAssertionError(`entry ${e.index} handed out past commit ${this.submitted.commit}`);
      this.applyEntry(e);
    }
    this.raw.advanceApply(this.applied, ents);
    if (this.applied !== before) this.emit({ kind: 'applied', index: this.applied });
  }

  private updateSoftState(lead: NodeId, role: StateRole): void {
    if (role !== this.role) {
      this.role = role;
      this.log.info('raft: role changed', { 'node.id': this.id, role, term: this.term });
      this.emit({ kind: 'role', role, term: this.term });
    }
    if (lead !== this.leader) {
      this.leader = lead;
      if (lead !== '') this.setFastTicks(false);
      this.log.info('raft: leader changed', { 'node.id': this.id, leader: lead, term: this.term });
      this.proposals.leaderChanged();
      for (const r of [...this.reads.values()]) {
        if (r.index === undefined) {
          this.reads.delete(r.key);
          r.reject(new LeaderChangedError(true, 'read index'));
        }
      }
      for (const pc of [...this.confChanges]) {
        if (pc.index === undefined) this.finishConfChange(pc, new LeaderChangedError(false, 'membership change'));
      }
      for (const t of this.transfers.splice(0)) {
        t.cancel();
        if (lead === t.to) t.resolve();
        else if (lead !== '') t.reject(new LeaderChangedError(true, 'leadership transfer'));
        else this.transfers.push(t);
      }
      this.emit({ kind: 'leader', leader: lead, term: this.term });
    }
  }

  private bindConfChange(e: Entry): void {
    this.settleDisplacedConfChange(e);
    if (e.type !== EntryType.ConfChange) return;
    const head = this.confChanges[0];
    if (head && head.index === undefined && confChangeKey(decodeConfChange(e.data)) === head.json) head.index = e.index;
  }

  /**
   * An entry (a new leader's no-op, a proposal) at the index of a pending change that is not
   * that change: the change lost its slot and is failed, retryably.
   */
  private settleDisplacedConfChange(e: Entry): void {
    for (const pc of [...this.confChanges]) {
      if (pc.index === e.index && (e.type !== EntryType.ConfChange || confChangeKey(decodeConfChange(e.data)) !== pc.json)) {
        this.finishConfChange(pc, new LeaderChangedError(true, 'membership change'));
      }
    }
  }

  private applyEntry(e: Entry): void {
    if (this.confChanges.length > 0) this.settleDisplacedConfChange(e);
    if (e.type === EntryType.ConfChange) {
      const change = decodeConfChange(e.data);
      const { confState, ignored } = this.raw.applyConfChangeResult(change);
      this.confState = confState;
      this.applied = e.index;
      if (ignored) {
        // Nothing changed: tell the proposer why, and the listeners nothing.
        this.log.warn('raft: membership change ignored', { 'node.id': this.id, index: e.index, error: ignored.message });
        const head = this.confChanges[0];
        if (head && (head.index === e.index || (head.index === undefined && confChangeKey(change) === head.json))) this.finishConfChange(head, ignored);
        return;
      }
      for (const c of change.changes) {
        if (c.type === ConfChangeType.RemoveNode) this.o.transport.removePeer(c.nodeId);
        else if (change.context && c.nodeId !== this.id) this.o.transport.addPeer(c.nodeId, change.context);
      }
      this.log.info('raft: membership changed', { 'node.id': this.id, index: e.index, voters: confState.voters, learners: confState.learners });
      this.emit({ kind: 'conf-change', change, confState, index: e.index });
      const head = this.confChanges[0];
      if (head && (head.index === e.index || (head.index === undefined && confChangeKey(change) === head.json))) {
        this.finishConfChange(head, undefined, { index: e.index, confState });
      }
      return;
    }
    if (e.data.length === 0) {
      // A new leader's no-op; it may displace a proposal bound to this index.
      this.proposals.applied(e.index, undefined);
      this.applied = e.index;
      return;
    }
    // With no proposal waiting here (a follower, mostly) the ID's key is not needed.
    let key: string | undefined;
    let payload: Uint8Array;
    if (this.proposals.size > 0) ({ key, payload } = openEnvelope(e.data));
    else payload = envelopePayload(e.data);
    let result: unknown;
    let error: unknown;
    let threw = false;
    try {
      result = this.o.stateMachine.apply({ ...e, data: payload });
    } catch (err) {
      threw = true;
      error = err;
    }
    this.applied = e.index;
    const p = this.proposals.applied(e.index, key);
    if (!p) return;
    if (this.observers.size) this.tell((o) => o.proposalApplied?.(this.o.clock.now() - p.at));
    if (threw) p.reject(error);
    else p.resolve({ index: e.index, result });
  }

  private restoreSnapshot(index: number, data: Uint8Array, confState: ConfState): void {
    this.o.stateMachine.restore(data);
    this.applied = index;
    this.snapshotIndex = index;
    this.confState = confState;
    this.proposals.snapshotted(index);
    // A pending change the snapshot covers was either in it or lost: which, this node
    // cannot tell. Fail it so its caller can look and retry.
    for (const pc of [...this.confChanges]) {
      if (pc.index !== undefined && pc.index <= index) this.finishConfChange(pc, new LeaderChangedError(false, 'membership change'));
    }
    this.log.info('raft: snapshot restored', { 'node.id': this.id, index });
    this.emit({ kind: 'snapshot', index, received: true });
  }

  private resolveReads(): void {
    if (this.reads.size === 0) return;
    for (const r of [...this.reads.values()]) {
      if (r.index !== undefined && r.index <= this.applied) {
        this.reads.delete(r.key);
        r.resolve(r.index);
      }
    }
  }

  /** Whether `maybeSnapshot` has anything to do: a waiter, or `snapshotEvery` entries applied since the last snapshot. */
  private snapshotDue(): boolean {
    const every = this.o.snapshotEvery;
    return this.snapshotWaiters.length > 0 || (every > 0 && this.applied - this.snapshotIndex >= every);
  }

  /** Takes the snapshot `snapshotDue` says is due (called only then) and answers the waiters. */
  private async maybeSnapshot(): Promise<void> {
    const waiters = this.snapshotWaiters.splice(0);
    try {
      if (waiters.length && this.applied <= this.snapshotIndex) {
        for (const w of waiters) w.resolve(this.snapshotIndex);
        return;
      }
      await this.takeSnapshot();
      for (const w of waiters) w.resolve(this.snapshotIndex);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      throw err;
    }
  }

  private async takeSnapshot(): Promise<void> {
    const index = this.applied;
    const data = this.o.stateMachine.snapshot();
    if (this.observers.size) this.tell((o) => o.snapshotTaken?.(data.length));
    if (this.syncedCommit < index) {
      // A restart must find commit ≥ the snapshot's index: make the last hard state handed to
      // storage (its commit covers `applied`; a write of it again changes nothing) durable
      // before the snapshot is. Queued after every earlier write, so it never goes back.
      const hardState = this.submitted;
      await this.o.storage.save({ hardState, entries: [], sync: true });
      this.syncedCommit = hardState.commit;
    }
    await this.o.storage.createSnapshot(index, this.confState, data);
    this.snapshotIndex = index;
    const compactTo = index - this.o.snapshotTrailing;
    if (compactTo >= this.o.storage.firstIndex()) await this.o.storage.compact(compactTo);
    this.log.info('raft: snapshot taken', { 'node.id': this.id, index, compacted: Math.max(0, compactTo) });
    this.emit({ kind: 'snapshot', index, received: false });
  }

  // ---- helpers -----------------------------------------------------------------------

  private emit(event: RaftNodeEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.log.warn('raft: listener threw', { 'node.id': this.id, error: String(err) });
      }
    }
  }

  private assertRunning(): void {
    if (!this.started) throw new Error('raft: node not started');
    if (this.stopped) throw new NodeStoppedError({ cause: this.failure });
  }

  /** A storage or state-machine failure: the node cannot continue safely. It stops. */
  private fail(err: unknown): void {
    if (this.stopped) return;
    this.failure = err;
    this.log.warn('raft: node failed, stopping', { 'node.id': this.id, error: String(err) });
    this.stopped = true;
    this.cancelTick?.();
    this.rejectAll(new NodeStoppedError({ cause: err }));
    void this.o.transport.close();
    this.emit({ kind: 'failed', error: err });
  }

  private rejectAll(err: Error): void {
    this.batch = [];
    for (const p of this.proposals.drain()) p.reject(err);
    for (const r of this.reads.values()) r.reject(err);
    this.reads.clear();
    for (const pc of this.confChanges.splice(0)) pc.reject(err);
    for (const w of this.snapshotWaiters.splice(0)) w.reject(err);
    for (const t of this.transfers.splice(0)) {
      t.cancel();
      t.reject(err);
    }
  }
}

/** `storage` as the core reads it, with `initial` as its initial state. */
function clampedView(storage: Storage, initial: { hardState: HardState; confState: ConfState }): Storage {
  return {
    initialState: () => ({ hardState: { ...initial.hardState }, confState: initial.confState }),
    entries: (lo, hi, maxSize) => storage.entries(lo, hi, maxSize),
    term: (i) => storage.term(i),
    lastIndex: () => storage.lastIndex(),
    firstIndex: () => storage.firstIndex(),
    snapshot: () => storage.snapshot(),
  };
}

/** A canonical string of a change, to match a proposed change with its entry. */
function confChangeKey(cc: ConfChange): string {
  return JSON.stringify({ changes: cc.changes.map((c) => ({ type: c.type, nodeId: c.nodeId })), context: cc.context ?? '' });
}
