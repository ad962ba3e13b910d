/**
 * The wire and storage types shared by every part of raft-ts: the pure core, the
 * storage (WAL + snapshots), the driver and the transports. Modelled on etcd's
 * raftpb, with names kept stable (term, index, commit, applied, stable).
 *
 * Everything here is plain data (JSON-safe except `Uint8Array` payloads), so a
 * transport may encode it as it likes (see `codec.ts`).
 */

/** A node's ID in the cluster: a non-empty string chosen by the application (Shoal uses node IDs). */
export type NodeId = string;

/** No node; used for "no vote" and "no known leader". */
export const NONE: NodeId = '';

export enum EntryType {
  /** An application command; `data` is opaque to Raft. An empty `data` is the no-op a new leader appends. */
  Normal = 0,
  /** A membership change; `data` is a JSON-encoded `ConfChange`. */
  ConfChange = 1,
}

/** One entry of the replicated log. Invariant: indexes are contiguous, terms never decrease along the log. */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** The state a node must persist before it answers a message that depends on it. */
export interface HardState {
  term: number;
  /** Whom this node voted for in `term`, or NONE. */
  vote: NodeId;
  /** The highest index known committed; persisted so a restart re-applies no less than before. */
  commit: number;
}

/**
 * The membership of the cluster. `voters` decide elections and commits; `learners`
 * receive the log but never vote. `votersOutgoing` is non-empty only during joint consensus
 * (the old configuration, both majorities are needed).
 */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  votersOutgoing: NodeId[];
  /** Learners that become voters when the joint configuration is left. */
  learnersNext: NodeId[];
  /** Whether the joint configuration is left automatically once it commits. */
  autoLeave: boolean;
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  AddLearner = 2,
}

/** A single membership change, or (with several `changes`) a joint-consensus change. An empty `changes` leaves a joint configuration. */
export interface ConfChange {
  changes: { type: ConfChangeType; nodeId: NodeId }[];
  /** Opaque application context (Shoal puts the node's address here). */
  context?: string;
  /**
   * How a joint change is left (etcd's ConfChangeTransition): 'auto' (default) enters joint
   * consensus only for several changes and leaves it automatically; 'joint-implicit' always
   * enters joint and leaves automatically; 'joint-explicit' always enters joint and waits for an
   * empty ConfChange to leave.
   */
  transition?: 'auto' | 'joint-implicit' | 'joint-explicit';
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

/** A snapshot of the application state machine as of `metadata.index`. */
export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export enum MessageType {
  /** Local: start an election (or pre-election). */
  Hup = 'Hup',
  /** Local: a leader sends heartbeats. */
  Beat = 'Beat',
  /** Local (or forwarded from a follower): propose entries. */
  Prop = 'Prop',
  App = 'App',
  AppResp = 'AppResp',
  Vote = 'Vote',
  VoteResp = 'VoteResp',
  PreVote = 'PreVote',
  PreVoteResp = 'PreVoteResp',
  Snap = 'Snap',
  Heartbeat = 'Heartbeat',
  HeartbeatResp = 'HeartbeatResp',
  /** Local: the application reports a follower unreachable. */
  Unreachable = 'Unreachable',
  /** Local: the application reports the result of sending a snapshot. */
  SnapStatus = 'SnapStatus',
  /** Local: the leader checks it still hears from a quorum. */
  CheckQuorum = 'CheckQuorum',
  TransferLeader = 'TransferLeader',
  TimeoutNow = 'TimeoutNow',
  ReadIndex = 'ReadIndex',
  ReadIndexResp = 'ReadIndexResp',
}

/**
 * A Raft message. One shape for all types, as etcd does; fields unused by a type are
 * left at their zero value. `from`/`to` are node IDs; `term` is the sender's term
 * (0 for local messages).
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** App: term of the entry before `entries`; AppResp (reject): term at `rejectHint`. */
  logTerm: number;
  /** App: index of the entry before `entries`; AppResp: the index acknowledged; Vote: last log index. */
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  /** AppResp (reject): the follower's hint of where the leader should probe next. */
  rejectHint: number;
  /** Heartbeat / ReadIndex: opaque context carried back in the response. */
  context?: Uint8Array;
}

/** A read request that has been confirmed: `index` is the commit index the read must wait for. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

export enum StateRole {
  Follower = 'follower',
  PreCandidate = 'pre-candidate',
  Candidate = 'candidate',
  Leader = 'leader',
}

/** Volatile state useful to the application (not persisted). */
export interface SoftState {
  lead: NodeId;
  role: StateRole;
}

/**
 * What the core hands to the driver. Contract (etcd's): persist `hardState`, `entries`
 * and `snapshot` durably (one sync when `mustSync`), then send `messages`, then apply
 * `committedEntries` in order (calling `applyConfChange` for conf-change entries), then
 * call `advance()`. A leader may send its messages before its own write completes
 * (thesis §10.2.1) — the core marks which messages need the write first by never
 * emitting follower responses ahead of the write they acknowledge.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  mustSync: boolean;
}

/** Returns a message with every field at its zero value, overridden by `fields`. */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    from: NONE,
    to: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    ...fields,
  };
}

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}
