/**
 * The synchronous API of the Raft core (etcd's RawNode). One owner drives it: feed it ticks,
 * proposals and network messages; when `hasReady()`, take a `ready()`, persist, send, apply,
 * then `advance(rd)`.
 */
import { encodeConfChange } from '../confchange/changer.ts';
import { ConfChangeError, NotLeaderError, ProposalDroppedError } from '../errors.ts';
import type { Storage } from '../storage.ts';
import { EntryType, MessageType, message } from '../types.ts';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, Ready, SoftState } from '../types.ts';
import { Raft, isLocalMsg, isResponseMsg } from './raft.ts';

/** How a `RawNode` behaves; only `id`, `storage`, the two tick counts and `rand` are required. */
export interface Config {
  /** This node's ID; must not be empty. */
  id: NodeId;
  /** Read-only view of stable storage; the driver persists Ready contents then makes them visible. */
  storage: Storage;
  /** Ticks a follower waits without hearing a leader before campaigning; randomized in [electionTick, 2*electionTick). Must exceed heartbeatTick. */
  electionTick: number;
  /** Ticks between leader heartbeats. */
  heartbeatTick: number;
  /** Uniform in [0,1); the only source of randomness. */
  rand: () => number;
  /** Last applied index on restart (default 0). Committed entries above it are handed out again. */
  applied?: number;
  /** Max bytes of entry data per App message (default 1 MiB). At least one entry is always sent. */
  maxSizePerMsg?: number;
  /** Max bytes of committed entries per Ready (default maxSizePerMsg). */
  maxCommittedSizePerReady?: number;
  /** App messages in flight per follower in replicate state (default 256). */
  maxInflightMsgs?: number;
  /** Bytes in flight per follower in replicate state; 0 = unlimited (default 0). */
  maxInflightBytes?: number;
  /** Bytes of uncommitted entry data a leader accepts; 0 = unlimited (default 0). */
  maxUncommittedEntriesSize?: number;
  /** Leader steps down when it has not heard from a quorum for an election timeout; enables the vote lease (default true). */
  checkQuorum?: boolean;
  /** Run a pre-election before bumping the term (default true). */
  preVote?: boolean;
  /** When true a follower refuses proposals with NotLeaderError instead of forwarding them (default false). */
  disableProposalForwarding?: boolean;
  /**
   * A leader tells followers a new commit index with the next append, heartbeat or tick rather
   * than with an empty append to each at once (default false, etcd's way). At one write in
   * flight this halves the messages and follower writes per entry; followers learn the commit
   * up to a tick later (a follower's read index is unaffected: its heartbeat round carries it).
   */
  lazyCommit?: boolean;
  /** A leader removed from (or demoted in) the configuration steps down (default true). */
  stepDownOnRemoval?: boolean;
  /** Receives state transitions at info, per-message detail at debug. */
  logger?: { info(msg: string, fields?: object): void; debug?(msg: string, fields?: object): void };
}

/** The leader's view of one member (public, read-only snapshot of the tracker). */
export interface Progress {
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  isLearner: boolean;
  recentActive: boolean;
}

/** A snapshot of a node's state for the application (`RawNode.status()`). */
export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  confState: ConfState;
  /** Filled on the leader only (empty elsewhere). */
  progress: Map<NodeId, Progress>;
  leadTransferee: NodeId;
}

/**
 * The synchronous Raft node. Not thread-safe in spirit: one owner calls it, never
 * re-entrantly from inside a Ready it is processing (finish, then `advance`).
 */
export class RawNode {
  /** The state machine itself; exposed for tests and diagnostics, not for driving. */
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    // Compared with what storage holds, so that a bootstrap's hard state is handed out to persist.
    this.prevHardState = config.storage.initialState().hardState;
  }

  /** Advances logical time by one tick (elections, heartbeats, CheckQuorum, transfer timeout). */
  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (a pre-election first when preVote is on). Ignored on a leader or learner. */
  campaign(): void {
    this.raft.step(message({ type: MessageType.Hup, from: this.raft.id }));
  }

  /**
   * Proposes `data` for the log. On a leader it is appended (and broadcast); on a follower it is
   * forwarded to the leader. Acceptance is not commitment: watch committed entries.
   * Throws ProposalDroppedError (no leader, transfer in progress, too much uncommitted) or
   * NotLeaderError (forwarding disabled).
   */
  propose(data: Uint8Array): void {
    this.raft.step(message({ type: MessageType.Prop, from: this.raft.id, entries: [{ term: 0, index: 0, type: EntryType.Normal, data }] }));
  }

  /**
   * Proposes several entries at once (proposals from many clients gathered in one turn): one
   * append and one message per follower for all of them. All or none are taken; throws as
   * `propose`.
   */
  proposeBatch(data: Uint8Array[]): void {
    if (data.length === 0) return;
    this.raft.step(message({ type: MessageType.Prop, from: this.raft.id, entries: data.map((d) => ({ term: 0, index: 0, type: EntryType.Normal, data: d })) }));
  }

  /**
   * Proposes a membership change. A leader refuses it (ProposalDroppedError) while another conf
   * change is not yet applied or before it has committed an entry of its term; throws
   * ConfChangeError when the current configuration cannot take it. Takes effect when the driver
   * applies the entry (`applyConfChange`).
   */
  proposeConfChange(cc: ConfChange): void {
    this.raft.step(message({
      type: MessageType.Prop,
      from: this.raft.id,
      entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }],
    }));
  }

  /**
   * Steps a message from the network. Throws on local-only types. Responses from unknown peers
   * and proposals the node cannot take (forwarded from a follower) are dropped silently.
   */
  step(m: Message): void {
    if (isLocalMsg(m.type)) throw new Error(`raft: cannot step raft local message ${m.type}`);
    if (isResponseMsg(m.type) && !this.raft.trk.progress.has(m.from) && this.raft.state === 'leader') return;
    if (m.type === MessageType.Prop && m.entries.length === 0) return;
    try {
      this.raft.step(m);
    } catch (e) {
      // A forwarded proposal that cannot be taken is lost, as if the network had dropped it.
      const dropped = e instanceof ProposalDroppedError || e instanceof NotLeaderError || e instanceof ConfChangeError;
      if (m.type === MessageType.Prop && dropped) return;
      throw e;
    }
  }

  /**
   * Requests a linearizable read: once the leader confirmed it still leads (a heartbeat quorum)
   * the read index arrives in `Ready.readStates` with this `ctx` (which should be unique).
   * Dropped silently when no leader is known; the caller retries on timeout.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(message({ type: MessageType.ReadIndex, context: ctx }));
  }

  /** Asks the leader to hand leadership to `to` (catch it up, then TimeoutNow). Aborted after an election timeout. */
  transferLeader(to: NodeId): void {
    this.raft.step(message({ type: MessageType.TransferLeader, from: to }));
  }

  /** Applies a committed ConfChange entry; the driver calls it while applying, in log order. */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * As `applyConfChange`, and says whether the change was ignored: `ignored` is the reason
   * when the configuration it met cannot take it (nothing changed; its proposer should hear).
   */
  applyConfChangeResult(cc: ConfChange): { confState: ConfState; ignored?: ConfChangeError } {
    return this.raft.applyConfChangeResult(cc);
  }

  hasReady(): boolean {
    const r = this.raft;
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.role !== this.prevSoftState.role) return true;
    if (!sameHardState(r.hardState(), this.prevHardState)) return true;
    if (r.raftLog.unstable.nextSnapshot()) return true;
    if (r.msgs.length > 0 || r.raftLog.unstable.hasNextEntries() || r.raftLog.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  /**
   * What to do next. Contract: persist `hardState`, `entries` and `snapshot` (one sync when
   * `mustSync`), then send `messages`, then apply `committedEntries` in order, then call
   * `advance(rd)` with this same object before the next `ready()`.
   *
   * Asynchronous storage (etcd's AsyncStorageWrites, for a driver that pipelines): take the
   * next `ready()` without waiting. Each Ready carries only what earlier ones did not (its
   * entries and snapshot are marked in progress, its committed entries as being applied).
   * Start its write at once; writes must take effect and finish in the order the Readys were
   * taken. A leader may send its messages at once, provided every earlier Ready's messages
   * were sent; anyone else sends them once this write (and so every earlier one) finished.
   * When a write finishes call `advanceAppend(rd)`; apply committed entries (in order, each
   * once a written hard state's commit covers it) and report them with `advanceApply`.
   */
  ready(): Ready {
    const r = this.raft;
    const rd: Ready = {
      readStates: r.readStates,
      entries: r.raftLog.unstableEntries(),
      committedEntries: r.raftLog.nextCommittedEnts(),
      messages: r.msgs,
      mustSync: false,
    };
    const ss = r.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.role !== this.prevSoftState.role) {
      rd.softState = ss;
      this.prevSoftState = ss;
    }
    const hs = r.hardState();
    if (!sameHardState(hs, this.prevHardState)) rd.hardState = hs;
    const snap = r.raftLog.unstable.nextSnapshot();
    if (snap) rd.snapshot = snap;
    rd.mustSync = rd.entries.length > 0 || rd.snapshot !== undefined ||
      hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote;
    r.msgs = [];
    r.readStates = [];
    // Handed out: the next Ready carries only what is new.
    if (rd.hardState) this.prevHardState = rd.hardState;
    r.raftLog.unstable.acceptInProgress();
    if (rd.committedEntries.length > 0) r.raftLog.applyingTo(rd.committedEntries[rd.committedEntries.length - 1].index);
    return rd;
  }

  /** The driver finished with `rd` (persisted, sent, applied). */
  advance(rd: Ready): void {
    this.raft.advance(rd);
  }

  /**
   * Asynchronous storage: the write `rd` asked for finished (call in the order the Readys
   * were taken). Drops the written tail from memory; a leader counts itself for it now.
   */
  advanceAppend(rd: Ready): void {
    this.raft.advanceAppend(rd);
  }

  /**
   * Asynchronous storage: committed entries up to `index` were applied (`ents`, handed out
   * by earlier Readys; none when `index` is a restored snapshot's).
   */
  advanceApply(index: number, ents: Entry[]): void {
    this.raft.advanceApply(index, ents);
  }

  /** The transport could not reach `id`: the leader stops pipelining to it and probes. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(message({ type: MessageType.Unreachable, from: id }));
  }

  /** The result of sending a snapshot to `id` (the driver streams it out of band). */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(message({ type: MessageType.SnapStatus, from: id, reject: !ok }));
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<NodeId, Progress>();
    if (r.state === 'leader') {
      r.trk.visit((id, pr) => {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, isLearner: pr.isLearner, recentActive: pr.recentActive });
      });
    }
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      confState: r.trk.confState(),
      progress,
      leadTransferee: r.leadTransferee,
    };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

