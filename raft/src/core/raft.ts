/**
 * The Raft state machine (etcd's raft.go): pure and deterministic. Messages go in through
 * `step`, time through `tick`; outgoing messages are queued in `msgs`, new entries in the
 * log's unstable tail, and `RawNode` hands both to the driver as a `Ready`. No clock, timer,
 * socket, disk or global randomness: randomness comes from `config.rand`.
 */
import { Changer, decodeConfChange, encodeConfChange, isLeaveJoint, restoreConfig } from '../confchange/changer.ts';
import type { ChangeResult } from '../confchange/changer.ts';
import { ConfChangeError, NotLeaderError, ProposalDroppedError, assert } from '../errors.ts';
import { VoteResult } from '../quorum/quorum.ts';
import { SnapshotTemporarilyUnavailableError, CompactedError, UnavailableError } from '../storage.ts';
import { ProgressTracker } from '../tracker/tracker.ts';
import type { PeerProgress } from '../tracker/progress.ts';
import { ConfChangeType, EntryType, MessageType, NONE, StateRole, message } from '../types.ts';
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, ReadState, Snapshot, SoftState } from '../types.ts';
import { RaftLog, payloadSize } from './raft-log.ts';
import { ReadOnly } from './read-only.ts';
import type { Config } from './raw-node.ts';

/** The context of a Vote sent because of a leadership transfer: it bypasses the vote lease. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

type CampaignType = 'pre-election' | 'election' | 'transfer';

const LOCAL_TYPES = new Set<MessageType>([
  MessageType.Hup, MessageType.Beat, MessageType.Unreachable, MessageType.SnapStatus, MessageType.CheckQuorum,
]);
const RESPONSE_TYPES = new Set<MessageType>([
  MessageType.AppResp, MessageType.VoteResp, MessageType.HeartbeatResp, MessageType.Unreachable,
  MessageType.PreVoteResp, MessageType.ReadIndexResp,
]);

/** Messages only the local node may step (never from the network). */
export function isLocalMsg(t: MessageType): boolean {
  return LOCAL_TYPES.has(t);
}

/** Responses: a leader ignores them from nodes it does not track. */
export function isResponseMsg(t: MessageType): boolean {
  return RESPONSE_TYPES.has(t);
}

function voteRespType(t: MessageType): MessageType {
  return t === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp;
}

/**
 * A ReadIndex forwarded on behalf of another node carries its requester inside the context
 * (the message's `from` is always the real sender, which a transport may check against the
 * peer's identity): magic, requester ID length (u8), requester ID, original context.
 */
const FORWARDED_READ = new Uint8Array([0xf5, 0x52, 0x49, 0x46]); // 0xf5 'RIF'

function wrapReadContext(requester: NodeId, ctx: Uint8Array): Uint8Array {
  const id = new TextEncoder().encode(requester);
  const out = new Uint8Array(FORWARDED_READ.length + 1 + id.length + ctx.length);
  out.set(FORWARDED_READ, 0);
  out[FORWARDED_READ.length] = id.length;
  out.set(id, FORWARDED_READ.length + 1);
  out.set(ctx, FORWARDED_READ.length + 1 + id.length);
  return out;
}

function unwrapReadContext(ctx: Uint8Array | undefined): { requester: NodeId; ctx: Uint8Array } | undefined {
  const h = FORWARDED_READ.length;
  if (!ctx || ctx.length < h + 1 || !sameBytes(ctx.subarray(0, h), FORWARDED_READ)) return undefined;
  const n = ctx[h];
  if (ctx.length < h + 1 + n || n === 0) return undefined;
  return { requester: new TextDecoder().decode(ctx.subarray(h + 1, h + 1 + n)), ctx: ctx.subarray(h + 1 + n) };
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

const noopLogger = { info: () => {} };

/**
 * The state machine behind `RawNode` (etcd's `raft` struct). Exported for tests and
 * diagnostics; drive it through `RawNode`. Fields are its live state: read, do not write.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  trk: ProgressTracker;
  state: StateRole = StateRole.Follower;
  /** Whether this node is a learner in the active configuration. */
  isLearner = false;
  /** Outgoing messages, handed out (and cleared) by the next Ready. */
  msgs: Message[] = [];
  lead: NodeId = NONE;
  /** The target of an ongoing leadership transfer, or NONE. */
  leadTransferee: NodeId = NONE;
  /**
   * Only one conf change may be pending (in the log, not yet applied): this is the index of the
   * latest one. A new leader sets it to its last index, conservatively.
   */
  pendingConfIndex = 0;
  /** Payload bytes of uncommitted entries a leader has appended (for maxUncommittedSize). */
  uncommittedSize = 0;
  readOnly = new ReadOnly();
  /** ReadIndex requests a new leader holds until it has committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  /** Ticks since the last election timeout (leader/candidate) or since hearing the leader (follower). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  /** In [electionTimeout, 2 * electionTimeout); reset whenever the node changes role or term. */
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  /** See `Config.lazyCommit`. */
  readonly lazyCommit: boolean;
  /** The last bootstrap entry written by this incarnation (0 if none). */
  private bootstrapIndex = 0;
  readonly stepDownOnRemoval: boolean;
  private readonly rand: () => number;
  private readonly logger: NonNullable<Config['logger']>;

  constructor(c: Config) {
    assert(c.id !== NONE, 'cannot use the empty string as id');
    assert(c.heartbeatTick > 0, 'heartbeatTick must be greater than 0');
    assert(c.electionTick > c.heartbeatTick, 'electionTick must be greater than heartbeatTick');
    const maxInflight = c.maxInflightMsgs ?? 256;
    assert(maxInflight > 0, 'maxInflightMsgs must be greater than 0');
    this.id = c.id;
    this.maxMsgSize = c.maxSizePerMsg ?? 1024 * 1024;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? 0;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? this.maxMsgSize);
    this.trk = new ProgressTracker(maxInflight, c.maxInflightBytes ?? 0);
    this.checkQuorum = c.checkQuorum ?? true;
    this.preVote = c.preVote ?? true;
    this.heartbeatTimeout = c.heartbeatTick;
    this.electionTimeout = c.electionTick;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.lazyCommit = c.lazyCommit ?? false;
    this.stepDownOnRemoval = c.stepDownOnRemoval ?? true;
    this.rand = c.rand;
    this.logger = c.logger ?? noopLogger;

    const { hardState, confState } = c.storage.initialState();
    this.switchToConfig(restoreConfig(confState, this.changerOpts()));
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    const fresh = isEmptyHardState(hardState) && c.storage.firstIndex() === 1 && c.storage.lastIndex() === 0 && confState.voters.length > 0;
    if (fresh) this.bootstrap(confState);
    if (c.applied && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
    this.logger.info('raft: new node', {
      'raft.id': this.id, 'raft.term': this.term, 'raft.commit': this.raftLog.committed,
      'raft.applied': this.raftLog.applied, 'raft.lastIndex': this.raftLog.lastIndex(),
      'raft.voters': this.trk.voterNodes(),
    });
  }

  /**
   * A new cluster's initial member (storage holds only the initial ConfState): writes the
   * initial configuration into the log as committed ConfChange entries of term 1, one per
   * member (as etcd's RawNode.Bootstrap does), so that a member added later learns it by
   * replaying the log from index 1. Every initial member writes the same entries. The driver
   * persists and applies them like any others (applying them again changes nothing).
   */
  private bootstrap(cs: ConfState): void {
    assert(cs.votersOutgoing.length === 0, 'cannot bootstrap a joint configuration');
    const changes = [
      ...[...cs.voters].sort().map((nodeId) => ({ type: ConfChangeType.AddNode, nodeId })),
      ...[...cs.learners].sort().map((nodeId) => ({ type: ConfChangeType.AddLearner, nodeId })),
    ];
    const ents: Entry[] = changes.map((c, i) => ({ term: 1, index: i + 1, type: EntryType.ConfChange, data: encodeConfChange({ changes: [c] }) }));
    this.raftLog.append(ents);
    this.raftLog.committed = ents.length;
    this.term = 1;
    // Already reflected in the configuration: they do not hold back a campaign.
    this.bootstrapIndex = ents.length;
  }

  private changerOpts() {
    return { lastIndex: this.raftLog.lastIndex(), maxInflight: this.trk.maxInflight, maxInflightBytes: this.trk.maxInflightBytes };
  }

  private log(msg: string, fields: Record<string, unknown> = {}): void {
    this.logger.info(`raft: ${msg}`, { 'raft.id': this.id, 'raft.term': this.term, ...fields });
  }

  private debug(msg: string, fields: Record<string, unknown> = {}): void {
    this.logger.debug?.(`raft: ${msg}`, { 'raft.id': this.id, 'raft.term': this.term, ...fields });
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  private loadState(hs: HardState): void {
    assert(hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      `hardState commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- sending -------------------------------------------------------------------------

  /** Queues a message. Vote messages carry their own term; Prop and ReadIndex carry none. */
  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    switch (m.type) {
      case MessageType.Vote:
      case MessageType.VoteResp:
      case MessageType.PreVote:
      case MessageType.PreVoteResp:
        assert(m.term !== 0, `term should be set when sending ${m.type}`);
        break;
      case MessageType.Prop:
      case MessageType.ReadIndex:
        // Forwarded to the leader: the leader treats them as local requests.
        break;
      default:
        m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends an App (or Snap) to `to` with whatever it needs next. */
  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends an App to `to` unless its flow is paused; when `sendIfEmpty` is false an App with no
   * entries is not sent. Falls back to a snapshot when the entries were compacted. Returns
   * whether a message was sent.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.raftLog.term(prevIndex);
      // With a full window only an empty App goes out (as etcd does): it is acked or rejected
      // and so clears the window even when every message that filled it was lost.
      ents = pr.state === 'replicate' && pr.inflights.full() ? [] : this.raftLog.entries(pr.next, this.maxMsgSize);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return this.maybeSendSnapshot(to, pr);
      throw e;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send(message({ type: MessageType.App, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.raftLog.committed }));
    pr.sentEntries(ents.length, ents.length > 0 ? ents[ents.length - 1].index : prevIndex, payloadSize(ents));
    pr.sentCommit = this.raftLog.committed;
    return true;
  }

  private maybeSendSnapshot(to: NodeId, pr: PeerProgress): boolean {
    if (!pr.recentActive) {
      this.debug('not sending snapshot to inactive peer', { 'raft.to': to });
      return false;
    }
    let snap: Snapshot;
    try {
      snap = this.raftLog.snapshot();
    } catch (e) {
      if (e instanceof SnapshotTemporarilyUnavailableError) {
        this.debug('snapshot temporarily unavailable', { 'raft.to': to });
        return false;
      }
      throw e;
    }
    assert(snap.metadata.index > 0, 'need a non-empty snapshot');
    this.log('sending snapshot', { 'raft.to': to, 'snap.index': snap.metadata.index, 'snap.term': snap.metadata.term, 'raft.progress': pr.toString() });
    pr.becomeSnapshot(snap.metadata.index);
    this.send(message({ type: MessageType.Snap, to, snapshot: snap }));
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    // Never commit past what the follower is known to have (it may lack the entries).
    const pr = this.trk.progress.get(to)!;
    const commit = Math.min(pr.match, this.raftLog.committed);
    pr.sentCommit = commit;
    const m = message({ type: MessageType.Heartbeat, to, commit });
    if (ctx) m.context = ctx;
    this.send(m);
  }

  bcastAppend(): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  /**
   * The commit index moved: tell the followers with an append each (etcd), or with `lazyCommit`
   * leave it to the next append, heartbeat or tick (`bumpCommits`).
   */
  private bcastCommit(): void {
    if (!this.lazyCommit) this.bcastAppend();
  }

  /** `lazyCommit`: an empty append to each follower that has not heard the current commit. */
  private bumpCommits(): void {
    const committed = this.raftLog.committed;
    this.trk.visit((id, pr) => {
      if (id !== this.id && pr.canBumpCommit(committed)) this.maybeSendAppend(id, true);
    });
  }

  private bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  // ---- commit and append -----------------------------------------------------------------

  /** Advances the commit index to what a quorum has (only for an entry of this term). */
  maybeCommit(): boolean {
    const mci = this.trk.committed();
    return this.raftLog.maybeCommit(mci, this.term);
  }

  /** Whether the leader has committed an entry of its own term (its no-op at least). */
  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.zeroTermOnErr(this.raftLog.committed) === this.term;
  }

  /** Appends entries as leader (stamping term and index); false when over the uncommitted budget. */
  private appendEntry(es: Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    es.forEach((e, i) => {
      e.term = this.term;
      e.index = li + 1 + i;
    });
    if (!this.increaseUncommittedSize(es)) {
      this.debug('appending new entries would exceed the uncommitted entry size limit; dropping proposal');
      return false;
    }
    this.raftLog.append(es);
    // The leader acknowledges its own entries once they are persisted (see `advance`).
    return true;
  }

  private increaseUncommittedSize(ents: Entry[]): boolean {
    const s = payloadSize(ents);
    // Always let a proposal in when nothing is uncommitted, so a big entry cannot block forever.
    if (this.uncommittedSize > 0 && s > 0 && this.maxUncommittedSize > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  private reduceUncommittedSize(ents: Entry[]): void {
    if (this.state !== StateRole.Leader) return;
    const s = payloadSize(ents);
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  // ---- time ------------------------------------------------------------------------------

  tick(): void {
    if (this.state === StateRole.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(message({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: MessageType.CheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateRole.Leader && this.leadTransferee !== NONE) {
        this.log('leadership transfer timed out', { 'raft.transferee': this.leadTransferee });
        this.abortLeaderTransfer();
      }
    }
    if (this.state !== StateRole.Leader) return;
    if (this.lazyCommit) this.bumpCommits();
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MessageType.Beat, from: this.id }));
    }
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.rand() * this.electionTimeout);
  }

  // ---- roles -----------------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    this.trk.visit((id, pr) => {
      pr.match = id === this.id ? this.raftLog.stableLastIndex() : 0;
      pr.next = last + 1;
      pr.state = 'probe';
      pr.pendingSnapshot = 0;
      pr.msgAppFlowPaused = false;
      pr.recentActive = false;
      pr.inflights.reset();
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateRole.Follower;
    this.log('became follower', { 'raft.lead': lead });
  }

  becomeCandidate(): void {
    assert(this.state !== StateRole.Leader, 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateRole.Candidate;
    this.log('became candidate');
  }

  becomePreCandidate(): void {
    assert(this.state !== StateRole.Leader, 'invalid transition [leader -> pre-candidate]');
    // Neither term nor vote change: a pre-election only asks whether we could win.
    this.trk.resetVotes();
    // Forget the leader, so that the lease check no longer protects a leader we lost (etcd #8334).
    this.lead = NONE;
    this.state = StateRole.PreCandidate;
    this.log('became pre-candidate');
  }

  becomeLeader(): void {
    assert(this.state !== StateRole.Follower, 'invalid transition [follower -> leader]');
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateRole.Leader;
    const self = this.trk.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Conservatively, any conf change in the uncommitted tail counts as pending.
    this.pendingConfIndex = this.raftLog.lastIndex();
    const ok = this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array() }]);
    assert(ok, 'empty entry was dropped');
    // The empty entry does not count against the uncommitted budget.
    this.uncommittedSize = 0;
    this.log('became leader');
  }

  /** Whether this node may campaign: it is a voter and not waiting to apply a snapshot. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasPendingSnapshot();
  }

  private hup(t: CampaignType): void {
    if (this.state === StateRole.Leader) {
      this.debug('ignoring Hup: already leader');
      return;
    }
    if (!this.promotable()) {
      this.log('is unpromotable and can not campaign');
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.log('cannot campaign: there are unapplied conf changes', { 'raft.applied': this.raftLog.applied, 'raft.commit': this.raftLog.committed });
      return;
    }
    this.log('starting a new election', { 'raft.campaign': t });
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    let lo = Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex(), this.bootstrapIndex + 1);
    const hi = this.raftLog.committed + 1;
    while (lo < hi) {
      const ents = this.raftLog.slice(lo, hi, this.maxMsgSize);
      if (ents.some((e) => e.type === EntryType.ConfChange)) return true;
      lo += ents.length;
    }
    return false;
  }

  private campaign(t: CampaignType): void {
    let voteMsg: MessageType;
    let term: number;
    if (t === 'pre-election') {
      this.becomePreCandidate();
      voteMsg = MessageType.PreVote;
      // Ask for votes in the term we would campaign in, without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, voteRespType(voteMsg), true) === VoteResult.Won) {
      // A single voter wins at once.
      if (t === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    for (const id of this.trk.voterNodes()) {
      if (id === this.id) continue;
      this.log('sent vote request', { 'raft.type': voteMsg, 'raft.to': id, 'raft.lastIndex': this.raftLog.lastIndex(), 'raft.lastTerm': this.raftLog.lastTerm() });
      const m = message({ type: voteMsg, to: id, term, index: this.raftLog.lastIndex(), logTerm: this.raftLog.lastTerm() });
      if (t === 'transfer') m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  private poll(id: NodeId, t: MessageType, granted: boolean): VoteResult {
    this.debug(granted ? 'received vote' : 'received vote rejection', { 'raft.type': t, 'raft.from': id });
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---- step ------------------------------------------------------------------------------

  /**
   * Feeds one message in. Proposals that cannot be accepted throw `ProposalDroppedError` or
   * `NotLeaderError`; invalid conf changes throw `ConfChangeError`; everything else is absorbed.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // Local message.
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = sameBytes(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // We heard from a leader within the minimum election timeout: do not let a
          // partitioned or flapping node depose it (vote lease, thesis §4.2.3).
          this.log('ignored vote request: lease is not expired', { 'raft.type': m.type, 'raft.from': m.from, 'raft.msgTerm': m.term, 'raft.remainingTicks': this.electionTimeout - this.electionElapsed });
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        // Never change our term in response to a PreVote.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term; we move there when we win the quorum.
      } else {
        this.log('received a message with higher term', { 'raft.type': m.type, 'raft.from': m.from, 'raft.msgTerm': m.term });
        if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
          this.becomeFollower(m.term, m.from);
        } else {
          this.becomeFollower(m.term, NONE);
        }
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader (partitioned while we moved on) would never learn of the new term if
        // we just dropped its messages, since with CheckQuorum or PreVote our vote requests
        // may not reach or move it: answer so it steps down.
        this.send(message({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        // A lower-term pre-candidate learns our term from the rejection (etcd #8243).
        this.send(message({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true }));
      } else {
        this.debug('ignored a message with lower term', { 'raft.type': m.type, 'raft.from': m.from, 'raft.msgTerm': m.term });
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? 'pre-election' : 'election');
        return;
      case MessageType.Vote:
      case MessageType.PreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.PreVote && m.term > this.term);
        if (canVote && this.raftLog.isUpToDate(m.index, m.logTerm)) {
          this.log('cast vote', { 'raft.type': m.type, 'raft.for': m.from, 'raft.candidateTerm': m.term });
          // A granted vote carries the candidate's term (for PreVote the future term).
          this.send(message({ type: voteRespType(m.type), to: m.from, term: m.term }));
          if (m.type === MessageType.Vote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.log('rejected vote', { 'raft.type': m.type, 'raft.from': m.from, 'raft.vote': this.vote });
          this.send(message({ type: voteRespType(m.type), to: m.from, term: this.term, reject: true }));
        }
        return;
      }
    }
    switch (this.state) {
      case StateRole.Leader:
        this.stepLeader(m);
        break;
      case StateRole.Candidate:
      case StateRole.PreCandidate:
        this.stepCandidate(m);
        break;
      case StateRole.Follower:
        this.stepFollower(m);
        break;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return;
      case MessageType.CheckQuorum:
        if (!this.trk.quorumActive()) {
          this.log('stepped down to follower since quorum is not active');
          this.becomeFollower(this.term, NONE);
        }
        // Everyone but us must prove themselves active again before the next check.
        this.trk.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return;
      case MessageType.Prop:
        this.propose(m);
        return;
      case MessageType.ReadIndex:
        // A new leader does not know the commit index of the cluster until it commits an
        // entry of its own term: hold reads until then (thesis §6.4). A single voter too:
        // after a restart its written commit index may lag what it acknowledged.
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.startReadIndex(m);
        return;
    }

    const pr = this.trk.progress.get(m.from);
    if (!pr) {
      this.debug('no progress available', { 'raft.from': m.from });
      return;
    }
    switch (m.type) {
      case MessageType.AppResp:
        pr.recentActive = true;
        if (m.reject) this.handleAppendReject(m, pr);
        else this.handleAppendAck(m, pr);
        return;
      case MessageType.HeartbeatResp: {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        if (pr.match < this.raftLog.lastIndex() || pr.state === 'probe') this.sendAppend(m.from);
        if (!m.context || m.context.byteLength === 0) return;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (!acks) return;
        const votes = new Map<NodeId, boolean>();
        for (const id of acks) votes.set(id, true);
        if (this.trk.config.voters.voteResult(votes) !== VoteResult.Won) return;
        for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
        return;
      }
      case MessageType.SnapStatus:
        if (pr.state !== 'snapshot') return;
        if (m.reject) pr.pendingSnapshot = 0;
        this.log('snapshot reported', { 'raft.to': m.from, 'raft.ok': !m.reject, 'raft.progress': pr.toString() });
        pr.becomeProbe();
        // Wait for a heartbeat response before probing, so that a failed snapshot is not resent in a tight loop.
        pr.msgAppFlowPaused = true;
        return;
      case MessageType.Unreachable:
        // Replicating optimistically to an unreachable follower loses messages: probe instead.
        if (pr.state === 'replicate') pr.becomeProbe();
        this.debug('failed to send message to peer', { 'raft.to': m.from, 'raft.progress': pr.toString() });
        return;
      case MessageType.TransferLeader:
        this.handleTransferLeader(m, pr);
        return;
    }
  }

  private propose(m: Message): void {
    assert(m.entries.length > 0, 'stepped empty Prop');
    if (!this.trk.progress.has(this.id)) {
      // Removed from the configuration (with stepDownOnRemoval off): cannot lead proposals.
      throw new ProposalDroppedError('proposal dropped: this leader is not in the configuration');
    }
    if (this.leadTransferee !== NONE) {
      throw new ProposalDroppedError(`proposal dropped: leadership transfer to ${this.leadTransferee} in progress`);
    }
    const entries = m.entries.map((e) => ({ ...e }));
    entries.forEach((e, i) => {
      if (e.type !== EntryType.ConfChange) return;
      const cc = decodeConfChange(e.data);
      this.checkConfChange(cc);
      this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
    });
    if (!this.appendEntry(entries)) throw new ProposalDroppedError('proposal dropped: too many uncommitted entries');
    this.bcastAppend();
  }

  /**
   * Refuses a conf change the leader may not propose now: while another is pending (not yet
   * applied), before the leader has committed an entry of its own term (Ongaro's fix to the
   * single-server change bug, raft-dev 2015), one that does not fit the joint state, or one
   * the current configuration cannot take.
   */
  private checkConfChange(cc: ConfChange): void {
    if (this.pendingConfIndex > this.raftLog.applied) {
      throw new ProposalDroppedError(`conf change dropped: conf change at index ${this.pendingConfIndex} is still pending (applied ${this.raftLog.applied})`);
    }
    if (!this.committedEntryInCurrentTerm()) {
      throw new ProposalDroppedError('conf change dropped: leader has not committed an entry in its term yet');
    }
    const joint = this.trk.config.voters.isJoint();
    const leave = isLeaveJoint(cc);
    if (joint && !leave) throw new ProposalDroppedError('conf change dropped: must leave the joint config first');
    if (!joint && leave) throw new ConfChangeError('not in a joint config');
    // Validate against the configuration it will apply to (nothing else is pending).
    new Changer(this.trk.config, this.trk.progress, this.changerOpts()).apply(cc);
  }

  private handleAppendReject(m: Message, pr: PeerProgress): void {
    // The follower's hint (rejectHint, logTerm) lets us skip every index whose term cannot
    // match: probe from the largest index of ours with term ≤ logTerm.
    this.debug('received App rejection', { 'raft.from': m.from, 'raft.index': m.index, 'raft.rejectHint': m.rejectHint, 'raft.logTerm': m.logTerm });
    let nextProbeIdx = m.rejectHint;
    if (m.logTerm > 0) nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
    if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
      if (pr.state === 'replicate') pr.becomeProbe();
      this.sendAppend(m.from);
    }
  }

  private handleAppendAck(m: Message, pr: PeerProgress): void {
    if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return;
    switch (pr.state) {
      case 'probe':
        pr.becomeReplicate();
        break;
      case 'snapshot':
        // The follower caught up past the snapshot through appends (or restored it): resume.
        if (pr.match + 1 >= this.raftLog.firstIndex()) {
          pr.becomeProbe();
          pr.becomeReplicate();
        }
        break;
      case 'replicate':
        pr.inflights.freeLE(m.index);
        break;
    }
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastCommit();
    } else if (!this.lazyCommit && m.from !== this.id && pr.canBumpCommit(this.raftLog.committed)) {
      // The follower may not know the latest commit index yet: tell it now rather than at the
      // next heartbeat.
      this.sendAppend(m.from);
    }
    // Flow control may have opened up (probe -> replicate, acks freeing the window): keep the
    // pipeline full while there is more to send, without empty messages.
    while (m.from !== this.id && this.maybeSendAppend(m.from, false)) {
      /* pipelining */
    }
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
      this.log('sent TimeoutNow to transferee after it caught up', { 'raft.to': m.from });
      this.sendTimeoutNow(m.from);
    }
  }

  private handleTransferLeader(m: Message, pr: PeerProgress): void {
    const transferee = m.from;
    if (pr.isLearner) {
      this.log('ignored transferring leadership to a learner', { 'raft.transferee': transferee });
      return;
    }
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === transferee) {
        this.log('transfer to the same node already in progress', { 'raft.transferee': transferee });
        return;
      }
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) {
      this.debug('already leader; ignored transferring leadership to self');
      return;
    }
    this.log('starting leadership transfer', { 'raft.transferee': transferee });
    // The transfer must finish within an election timeout, or it is aborted.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    if (pr.match === this.raftLog.lastIndex()) {
      this.sendTimeoutNow(transferee);
    } else {
      this.sendAppend(transferee);
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(message({ type: MessageType.TimeoutNow, to }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  private stepCandidate(m: Message): void {
    const myVoteResp = this.state === StateRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Prop:
        throw new ProposalDroppedError('proposal dropped: no leader (election in progress)');
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myVoteResp: {
        const result = this.poll(m.from, m.type, !m.reject);
        if (result === VoteResult.Won) {
          if (this.state === StateRole.PreCandidate) {
            this.campaign('election');
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (result === VoteResult.Lost) {
          // A PreVoteResp rejection with a higher term already moved us to that term above.
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      case MessageType.TimeoutNow:
        this.debug('ignored TimeoutNow as candidate', { 'raft.from': m.from });
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Prop:
        if (this.lead === NONE) throw new ProposalDroppedError('proposal dropped: no leader');
        if (this.disableProposalForwarding) throw new NotLeaderError(this.lead);
        this.send({ ...m, to: this.lead, from: NONE });
        return;
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
        if (this.lead === NONE) {
          this.log('no leader; dropping leader transfer', { 'raft.transferee': m.from });
          return;
        }
        this.send({ ...m, to: this.lead, from: m.from });
        return;
      case MessageType.TimeoutNow:
        this.log('received TimeoutNow; campaigning to take leadership', { 'raft.from': m.from });
        // Leadership transfers never use pre-vote: the leader asked for this election.
        this.hup('transfer');
        return;
      case MessageType.ReadIndex: {
        if (this.lead === NONE) {
          this.log('no leader; dropping ReadIndex');
          return;
        }
        // Forwarding another node's request (it took us for the leader): keep its requester,
        // so the answer goes to it, not to us. Wrapped once: the innermost requester counts.
        const remote = m.from !== NONE && m.from !== this.id;
        const fwd = { ...m, to: this.lead, from: NONE };
        if (remote && !unwrapReadContext(m.context)) fwd.context = wrapReadContext(m.from, m.context ?? new Uint8Array());
        this.send(fwd);
        return;
      }
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, requestCtx: m.context ?? new Uint8Array() });
        return;
    }
  }

  // ---- followers' handlers ------------------------------------------------------------------

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: lastNew }));
      return;
    }
    // Reject with a hint: the largest index ≤ m.index whose term is ≤ m.logTerm. Every entry of
    // ours above it has a bigger term than the leader's entry at m.index, so cannot match.
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    const [idx, term] = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.debug('rejected App', { 'raft.from': m.from, 'raft.index': m.index, 'raft.logTerm': m.logTerm, 'raft.hint': idx, 'raft.hintTerm': term });
    this.send(message({ type: MessageType.AppResp, to: m.from, index: m.index, reject: true, rejectHint: idx, logTerm: term }));
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    const resp = message({ type: MessageType.HeartbeatResp, to: m.from });
    if (m.context) resp.context = m.context;
    this.send(resp);
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) return;
    if (this.restore(s)) {
      this.log('restored snapshot', { 'snap.index': s.metadata.index, 'snap.term': s.metadata.term });
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.log('ignored snapshot', { 'snap.index': s.metadata.index, 'raft.commit': this.raftLog.committed });
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Installs a snapshot newer than our commit index; false when it was ignored or only fast-forwarded the commit. */
  restore(s: Snapshot): boolean {
    const { index, term, confState: cs } = s.metadata;
    if (index <= this.raftLog.committed) return false;
    if (this.state !== StateRole.Follower) {
      // Only a leader of this term sends snapshots, so this cannot happen; be defensive.
      this.log('attempted to restore snapshot as non-follower; becoming follower');
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    // A node missing from the snapshot's configuration is accepted anyway (etcd drops it): a
    // member being added learns the configuration from the snapshot and its own addition from
    // the log after it. Without a progress entry of its own it cannot campaign.
    const member = [cs.voters, cs.learners, cs.votersOutgoing].some((ids) => ids.includes(this.id));
    if (!member) this.log('restoring a snapshot whose configuration does not include this node', { 'snap.index': index });
    if (this.raftLog.matchTerm(index, term)) {
      // We already have the entry: just fast-forward the commit index.
      this.raftLog.commitTo(index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    this.switchToConfig(restoreConfig(cs, this.changerOpts()));
    return true;
  }

  // ---- membership ---------------------------------------------------------------------------

  /** Applies a committed ConfChange entry (the driver calls this through RawNode). */
  applyConfChange(cc: ConfChange): ConfState {
    return this.applyConfChangeResult(cc).confState;
  }

  /**
   * Applies a committed ConfChange entry; `ignored` is set when the configuration it met
   * cannot take it (every member applies the same entry to the same configuration, so every
   * member ignores it alike, and the configuration stays as it was).
   */
  applyConfChangeResult(cc: ConfChange): { confState: ConfState; ignored?: ConfChangeError } {
    let result: ChangeResult;
    try {
      result = new Changer(this.trk.config, this.trk.progress, this.changerOpts()).apply(cc);
    } catch (e) {
      if (!(e instanceof ConfChangeError)) throw e;
      this.log('ignored invalid conf change', { 'raft.error': e.message });
      return { confState: this.trk.confState(), ignored: e };
    }
    return { confState: this.switchToConfig(result) };
  }

  private switchToConfig(r: ChangeResult): ConfState {
    this.trk.config = r.config;
    this.trk.progress = r.progress;
    const cs = this.trk.confState();
    this.log('switched to configuration', { 'raft.config': cs });
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr?.isLearner ?? false;
    if ((!pr || this.isLearner) && this.state === StateRole.Leader) {
      // Removed or demoted leader.
      if (this.stepDownOnRemoval) {
        this.log('leader was removed from the configuration; stepping down');
        this.becomeFollower(this.term, NONE);
      }
      return cs;
    }
    if (this.state !== StateRole.Leader || cs.voters.length === 0) return cs;
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      // Probe new members right away.
      this.trk.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== NONE && !this.trk.config.voters.ids().has(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  // ---- reads --------------------------------------------------------------------------------

  private startReadIndex(m: Message): void {
    if (this.trk.isSingleton()) {
      // No one to confirm leadership with: the commit index (of this term) is the read index.
      this.respondToReadIndex(m, this.raftLog.committed);
      return;
    }
    // ReadOnlySafe: the read index is confirmed once a quorum answers a heartbeat carrying it.
    this.readOnly.addRequest(this.raftLog.committed, m);
    this.readOnly.recvAck(this.id, m.context);
    this.bcastHeartbeatWithCtx(m.context);
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.startReadIndex(m);
  }

  private respondToReadIndex(req: Message, index: number): void {
    const fwd = unwrapReadContext(req.context);
    const to = fwd ? fwd.requester : req.from;
    const ctx = fwd ? fwd.ctx : req.context;
    if (to === NONE || to === this.id) {
      this.readStates.push({ index, requestCtx: ctx ?? new Uint8Array() });
      return;
    }
    const m = message({ type: MessageType.ReadIndexResp, to, index });
    if (ctx) m.context = ctx;
    this.send(m);
  }

  // ---- after a Ready ----------------------------------------------------------------------

  /**
   * The driver has persisted what a Ready carried and applied its committed entries: move the
   * applied cursor, drop the persisted tail from memory, and let a leader count its own
   * persisted entries towards the quorum (it may have sent them before writing, thesis §10.2.1).
   */
  advance(rd: { entries: Entry[]; committedEntries: Entry[]; snapshot?: Snapshot }): void {
    let newApplied = 0;
    if (rd.committedEntries.length > 0) newApplied = rd.committedEntries[rd.committedEntries.length - 1].index;
    else if (rd.snapshot) newApplied = rd.snapshot.metadata.index;
    this.markStable(rd);
    this.advanceApply(newApplied, rd.committedEntries);
    this.countSelf();
  }

  /**
   * The write of a Ready's entries and snapshot finished (writes finish in the order their
   * Readys were taken): drop the persisted tail from memory and let a leader count its own
   * persisted entries towards the quorum. This is the only place the leader's own match
   * moves past what it had persisted when it became leader: a leader never counts itself
   * for an index it has not written (etcd's rule; it may have sent them before writing,
   * thesis §10.2.1, and two followers' acks commit without it).
   */
  advanceAppend(rd: { entries: Entry[]; snapshot?: Snapshot }): void {
    this.markStable(rd);
    this.countSelf();
  }

  private markStable(rd: { entries: Entry[]; snapshot?: Snapshot }): void {
    if (rd.entries.length > 0) {
      const e = rd.entries[rd.entries.length - 1];
      this.raftLog.stableTo(e.index, e.term);
    }
    if (rd.snapshot) this.raftLog.stableSnapTo(rd.snapshot.metadata.index);
  }

  /** A leader's own match follows what it has persisted. */
  private countSelf(): void {
    if (this.state === StateRole.Leader) {
      const self = this.trk.progress.get(this.id);
      if (self && self.maybeUpdate(this.raftLog.stableLastIndex()) && this.maybeCommit()) {
        this.releasePendingReadIndexMessages();
        this.bcastCommit();
      }
    }
  }

  /**
   * The driver applied committed entries up to `index` (`ents` are the ones just applied,
   * handed out by earlier Readys; or a snapshot's index with none): move the applied cursor.
   */
  advanceApply(index: number, ents: Entry[]): void {
    this.reduceUncommittedSize(ents);
    if (index > this.raftLog.applied) {
      this.raftLog.appliedTo(index);
      if (this.trk.config.autoLeave && index >= this.pendingConfIndex && this.state === StateRole.Leader) {
        this.log('initiating automatic transition out of joint configuration', { 'raft.config': this.trk.confState() });
        try {
          this.step(message({ type: MessageType.Prop, from: this.id, entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange({ changes: [] }) }] }));
        } catch (e) {
          this.log('not leaving joint configuration yet', { 'raft.error': (e as Error).message });
        }
      }
    }
  }
}

function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}
