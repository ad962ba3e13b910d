/**
 * One simulated cluster member: a RawNode over a "disk" (a MemoryStorage the node's Ready
 * handling writes to), an application, and the Ready loop of etcd's contract: persist
 * hard state + entries + snapshot, send messages, apply committed entries (conf changes
 * through `applyConfChange`), advance.
 *
 * Crashes are modelled by what survives them: only the disk. `crash()` throws away the
 * RawNode, the application and anything in memory; `restart()` builds a fresh
 * MemoryStorage from a deep copy of the disk's contents (so nothing of the old
 * incarnation is shared), and a fresh application from the disk's last snapshot, whose
 * index becomes `applied` (0 without one). A crash may also strike in the middle of Ready
 * handling (`CrashPoint`), after some of its effects reached the disk or the network.
 */
import { emptyConfState, EntryType, MemoryStorage, MessageType, RawNode, StateRole } from '../../src/index.ts';
import type { ConfChange, Config, ConfState, Entry, HardState, Message, Ready } from '../../src/index.ts';
import type { App } from './app.ts';
import type { SafetyChecker } from './safety.ts';
import type { Prng } from './prng.ts';

/** Where inside Ready handling a crash strikes. */
export type CrashPoint = 'before-persist' | 'after-persist' | 'after-send' | 'after-apply';
export const CRASH_POINTS: CrashPoint[] = ['before-persist', 'after-persist', 'after-send', 'after-apply'];

/** Raft settings shared by every node of a simulated cluster. */
export type RaftOptions = Omit<Config, 'id' | 'storage' | 'rand' | 'applied'>;

/** What a node needs from its cluster. */
export interface NodeEnv {
  readonly raft: RaftOptions;
  readonly safety: SafetyChecker;
  /** Takes a message the node emitted. */
  send(m: Message): void;
  /** A node applied a conf change (the cluster starts added nodes, stops removed ones). */
  onConfChange(by: string, cc: ConfChange, cs: ConfState): void;
  /** A node applied an entry (after the safety checks). */
  onApplied(node: SimNode, e: Entry): void;
  trace(line: string): void;
}

/**
 * How an initial member starts. `atSnapshot: false` is MemoryStorage's own bootstrap (the
 * configuration in the storage's index-0 metadata); a node added later then replays the
 * log from index 1 without ever seeing the initial configuration, so only clusters without
 * membership changes may use it.
 */
export interface Bootstrap {
  confState: ConfState;
  atSnapshot: boolean;
}

/** How often a node snapshots and how much log it keeps behind a snapshot. */
export interface SnapshotPolicy {
  /** Create a snapshot once this many entries were applied past the last one; 0 = never. */
  every: number;
  /** Entries kept in the log below the snapshot index when compacting. */
  keep: number;
}

const dec = new TextDecoder();

export class SimNode {
  raw: RawNode | null = null;
  app: App | null = null;
  /** What survives a crash. */
  private disk: MemoryStorage;
  /** The persisted hard state (mirror of the disk's). */
  private hs: HardState = { term: 0, vote: '', commit: 0 };
  applied = 0;
  confState: ConfState = emptyConfState();
  incarnation = 0;
  /** Set once the node's removal is applied: it is stopped for good. */
  removed = false;
  /** A paused node neither ticks nor handles messages (a long GC, a stopped VM). */
  pausedUntil = 0;
  /** The role as of the last Ready handled (etcd's `islead`). */
  private role: StateRole = StateRole.Follower;

  constructor(
    readonly id: string,
    private readonly env: NodeEnv,
    private readonly rand: Prng,
    private readonly newApp: (node: SimNode) => App,
    private readonly snapPolicy: SnapshotPolicy,
    private readonly leaderSendsFirst: boolean,
    bootstrap?: Bootstrap,
  ) {
    if (!bootstrap) this.disk = new MemoryStorage();
    else if (!bootstrap.atSnapshot) this.disk = new MemoryStorage({ confState: bootstrap.confState });
    else {
      // The initial configuration as a snapshot at index 1 (term 1), so that a member added
      // later learns it from the snapshot the leader must send, not from a log that lacks it.
      this.disk = new MemoryStorage();
      this.disk.applySnapshot({ metadata: { index: 1, term: 1, confState: bootstrap.confState }, data: new Uint8Array() });
      this.disk.setHardState({ term: 1, vote: '', commit: 1 });
    }
  }

  get up(): boolean {
    return this.raw !== null;
  }

  /** The persisted log, read-only (for checks). */
  get log(): MemoryStorage {
    return this.disk;
  }

  /** Starts (or restarts) the node from its disk alone. */
  start(): void {
    if (this.raw) throw new Error(`sim: ${this.id} is already running`);
    this.disk = copyStorage(this.disk);
    const { hardState, confState } = this.disk.initialState();
    this.hs = hardState;
    this.confState = confState;
    const snap = this.disk.snapshot();
    this.app = this.newApp(this);
    if (snap.metadata.index > 0) this.app.restore(snap.data);
    this.applied = snap.metadata.index;
    this.incarnation++;
    this.role = StateRole.Follower;
    this.raw = new RawNode({ ...this.env.raft, id: this.id, storage: this.disk, rand: this.rand.fork().asFunction(), applied: this.applied });
    this.env.trace(`${this.id} start #${this.incarnation} term=${hardState.term} commit=${hardState.commit} applied=${this.applied} last=${this.disk.lastIndex()}`);
  }

  /** Loses everything not on disk. */
  crash(why: string): void {
    if (!this.raw) return;
    this.env.trace(`${this.id} crash (${why})`);
    this.raw = null;
    this.app = null;
  }

  /**
   * Handles one Ready if there is one. With `crashAt`, the node crashes at that point of
   * the handling instead of finishing it. Returns whether the node is still up.
   */
  handleReady(crashAt?: CrashPoint): boolean {
    const raw = this.raw;
    if (!raw || !raw.hasReady()) return this.up;
    const rd = raw.ready();
    if (rd.softState) this.role = rd.softState.role;
    if (crashAt === 'before-persist') return this.crash('before persisting a ready'), false;
    if (this.role === StateRole.Leader && this.leaderSendsFirst) {
      // etcd's server and the thesis (§10.2.1): a leader sends while its own write is under way.
      this.send(rd);
      if (crashAt === 'after-send') return this.crash('after sending, before persisting (leader)'), false;
      this.persist(rd);
      if (crashAt === 'after-persist') return this.crash('after persisting, before applying (leader)'), false;
    } else {
      this.persist(rd);
      if (crashAt === 'after-persist') return this.crash('after persisting, before sending'), false;
      this.send(rd);
      if (crashAt === 'after-send') return this.crash('after sending, before applying'), false;
    }
    // Each role change comes with a softState, so every node that becomes leader is seen here.
    if (rd.softState?.role === StateRole.Leader) this.env.safety.leader(this.id, this.hs.term, this.disk);
    this.applyCommitted(raw, rd);
    if (!this.raw) return false; // removed while applying
    if (crashAt === 'after-apply') return this.crash('after applying, before advance'), false;
    raw.advance(rd);
    if (rd.readStates.length > 0) this.app!.onReadStates?.(rd.readStates);
    this.maybeSnapshot();
    this.app!.afterReady?.();
    return true;
  }

  private send(rd: Ready): void {
    for (const m of rd.messages) this.env.send(m.type === MessageType.Snap ? this.freshenSnapshot(m) : m);
  }

  private persist(rd: Ready): void {
    if (rd.snapshot && rd.snapshot.metadata.index > 0) {
      this.env.safety.installSnapshot(this.id, rd.snapshot, this.applied);
      this.disk.applySnapshot(structuredClone(rd.snapshot));
      this.env.trace(`${this.id} install snapshot ${rd.snapshot.metadata.index}/${rd.snapshot.metadata.term}`);
    }
    if (rd.entries.length > 0) this.disk.append(structuredClone(rd.entries));
    if (rd.hardState) {
      this.disk.setHardState(rd.hardState);
      this.hs = { ...rd.hardState };
    }
    this.env.safety.persist(this.id, this.disk, rd.entries, rd.hardState);
  }

  /**
   * Like etcd's server (createMergedSnapshotMessage), the driver may send a snapshot of its
   * current applied state instead of the stored one; it must when the stored one predates the
   * recipient's addition (the recipient refuses a snapshot whose configuration lacks it).
   * Otherwise it does so at random, to exercise both paths.
   */
  private freshenSnapshot(m: Message): Message {
    const snap = m.snapshot!;
    const cs = snap.metadata.confState;
    const member = [...cs.voters, ...cs.learners, ...cs.votersOutgoing].includes(m.to);
    if ((member && this.rand.chance(0.5)) || this.applied <= snap.metadata.index) return m;
    const data = this.app!.snapshot();
    this.env.safety.appState(this.id, this.applied, data);
    const metadata = { index: this.applied, term: this.disk.term(this.applied), confState: structuredClone(this.confState) };
    return { ...m, snapshot: { metadata, data } };
  }

  private applyCommitted(raw: RawNode, rd: Ready): void {
    const app = this.app!;
    if (rd.snapshot && rd.snapshot.metadata.index > 0) {
      app.restore(rd.snapshot.data);
      this.applied = rd.snapshot.metadata.index;
      this.confState = structuredClone(rd.snapshot.metadata.confState);
    }
    for (const e of rd.committedEntries) {
      this.env.safety.apply(this.id, e, this.applied, this.disk);
      this.applied = e.index;
      if (e.type === EntryType.ConfChange) this.applyConfChange(raw, e);
      else app.apply(e);
      this.env.onApplied(this, e);
      if (!this.raw) return;
    }
  }

  private applyConfChange(raw: RawNode, e: Entry): void {
    const cc = JSON.parse(dec.decode(e.data)) as ConfChange;
    this.confState = raw.applyConfChange(cc);
    this.env.safety.confChange(this.id, e.index, this.confState);
    this.env.trace(`${this.id} apply conf change @${e.index} ${JSON.stringify(cc.changes)} -> voters=${this.confState.voters} learners=${this.confState.learners}`);
    this.env.onConfChange(this.id, cc, this.confState);
  }

  private maybeSnapshot(): void {
    const p = this.snapPolicy;
    const snapIndex = this.disk.snapshot().metadata.index;
    if (p.every === 0 || this.applied - snapIndex < p.every) return;
    const data = this.app!.snapshot();
    this.env.safety.appState(this.id, this.applied, data);
    this.disk.createSnapshot(this.applied, this.confState, data);
    const upTo = this.applied - p.keep;
    if (upTo >= this.disk.firstIndex()) this.disk.compact(upTo);
    this.env.trace(`${this.id} snapshot at ${this.applied}, log from ${this.disk.firstIndex()}`);
  }
}

/** A deep copy of a MemoryStorage's contents into a fresh one (what a restart reads from disk). */
function copyStorage(old: MemoryStorage): MemoryStorage {
  const snap = structuredClone(old.snapshot());
  const { hardState } = old.initialState();
  const fresh = new MemoryStorage({ confState: snap.metadata.confState });
  if (snap.metadata.index > 0) fresh.applySnapshot(snap);
  const first = old.firstIndex();
  const last = old.lastIndex();
  if (last >= first) fresh.append(structuredClone(old.entries(first, last + 1, Number.MAX_SAFE_INTEGER)));
  fresh.setHardState(hardState);
  return fresh;
}
