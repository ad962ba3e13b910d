/**
 * The safety properties of Raft, checked incrementally while the simulation runs (each
 * check costs time proportional to what just happened, so they can run after every step):
 *
 * - Election Safety: at most one leader per term.
 * - Log Matching: an (index, term) pair names one entry, and one predecessor term; by
 *   induction two logs agreeing on (index, term) agree on everything before it.
 * - Leader Completeness: a new leader of term T holds every entry known committed before T.
 * - State Machine Safety: every node applies the same entry at a given index, in order, and
 *   snapshots at an index are byte-identical across nodes.
 * - Monotonicity: a node's persisted term and commit never go backward (across crashes),
 *   it never changes its vote within a term, its commit never passes its log, and its
 *   applied index never goes backward within an incarnation.
 *
 * A violation throws `SafetyViolation`.
 */
import type { ConfState, Entry, HardState, Snapshot, Storage } from '../../src/index.ts';

export class SafetyViolation extends Error {
  override name = 'SafetyViolation';
  constructor(property: string, detail: string) {
    super(`${property}: ${detail}`);
  }
}

/** A compact, comparable rendering of an entry's identity and payload. */
export function entryKey(e: Entry): string {
  return `${e.type}:${Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('latin1')}`;
}

function bytesKey(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

export class SafetyChecker {
  private readonly leaders = new Map<number, string>();
  /** `${index}:${term}` → the entry's key and its predecessor's term (-1 when unknown). */
  private readonly logPairs = new Map<string, { key: string; prevTerm: number }>();
  /** Committed entries as first learned: term, payload key, and the term in which a node learned it. */
  private readonly committed: { term: number; key: string; learnedIn: number }[] = [];
  maxCommitted = 0;
  /** Applied entries by index: payload key and term. */
  private readonly applied: { term: number; key: string }[] = [];
  /** Snapshot data by index. */
  private readonly snapshots = new Map<number, string>();
  private readonly persisted = new Map<string, HardState>();
  /** Configuration after the conf change at an index. */
  private readonly configs = new Map<number, { id: string; key: string }>();
  /** Counters for reports. */
  readonly stats = { leaders: 0, applied: 0 };

  /** A node reports it is leader in `term`; `log` is its persisted log. */
  leader(id: string, term: number, log: Storage): void {
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== id) {
      throw new SafetyViolation('election safety', `${prev} and ${id} are both leaders of term ${term}`);
    }
    if (prev !== undefined) return;
    this.leaders.set(term, id);
    this.stats.leaders++;
    const first = log.firstIndex();
    for (let i = 1; i <= this.maxCommitted; i++) {
      const c = this.committed[i];
      if (!c || c.learnedIn >= term) continue;
      if (i > log.lastIndex()) {
        throw new SafetyViolation('leader completeness', `leader ${id} of term ${term} lacks committed index ${i} (last index ${log.lastIndex()})`);
      }
      if (i < first - 1) continue; // covered by its snapshot, which holds only committed entries
      const t = log.term(i);
      if (t !== c.term) {
        throw new SafetyViolation('leader completeness', `leader ${id} of term ${term} has term ${t} at committed index ${i}, committed term ${c.term}`);
      }
    }
  }

  /** A node persisted `entries` (already appended to `log`) and possibly a hard state. */
  persist(id: string, log: Storage, entries: Entry[], hs: HardState | undefined): void {
    for (const e of entries) {
      let prevTerm = -1;
      if (e.index === 1) prevTerm = 0;
      else if (e.index - 1 >= log.firstIndex() - 1) prevTerm = log.term(e.index - 1);
      const pair = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const known = this.logPairs.get(pair);
      if (!known) this.logPairs.set(pair, { key, prevTerm });
      else {
        if (known.key !== key) throw new SafetyViolation('log matching', `${id} holds a different entry at index ${e.index} term ${e.term}`);
        if (known.prevTerm >= 0 && prevTerm >= 0 && known.prevTerm !== prevTerm) {
          throw new SafetyViolation('log matching', `${id} has term ${prevTerm} before (${pair}), another node had ${known.prevTerm}`);
        }
        if (known.prevTerm < 0) known.prevTerm = prevTerm;
      }
    }
    if (!hs) return;
    const old = this.persisted.get(id) ?? { term: 0, vote: '', commit: 0 };
    if (hs.term < old.term) throw new SafetyViolation('monotonicity', `${id} persisted term ${hs.term} after ${old.term}`);
    if (hs.term === old.term && old.vote !== '' && hs.vote !== old.vote) {
      throw new SafetyViolation('one vote per term', `${id} voted for ${old.vote} then ${hs.vote} in term ${hs.term}`);
    }
    if (hs.commit < old.commit) throw new SafetyViolation('monotonicity', `${id} persisted commit ${hs.commit} after ${old.commit}`);
    if (hs.commit > log.lastIndex()) {
      throw new SafetyViolation('commit within log', `${id} persisted commit ${hs.commit} past its last index ${log.lastIndex()}`);
    }
    const first = log.firstIndex();
    for (let i = Math.max(old.commit + 1, first); i <= hs.commit; i++) this.commit(id, i, log.term(i), entryKeyAt(log, i), hs.term);
    this.persisted.set(id, { ...hs });
  }

  private commit(id: string, index: number, term: number, key: string, learnedIn: number): void {
    const c = this.committed[index];
    if (!c) {
      this.committed[index] = { term, key, learnedIn };
      this.maxCommitted = Math.max(this.maxCommitted, index);
      return;
    }
    if (c.term !== term || c.key !== key) {
      throw new SafetyViolation('state machine safety', `${id} committed term ${term} at index ${index}, another node committed term ${c.term}`);
    }
    c.learnedIn = Math.min(c.learnedIn, learnedIn);
  }

  /** A node applied `e`; `applied` is its applied index before. `log` is its persisted log. */
  apply(id: string, e: Entry, applied: number, log: Storage): void {
    if (e.index !== applied + 1) throw new SafetyViolation('apply order', `${id} applied index ${e.index} after ${applied}`);
    if (e.index > log.lastIndex() || (e.index >= log.firstIndex() && log.term(e.index) !== e.term)) {
      throw new SafetyViolation('apply persisted', `${id} applied ${e.index}/${e.term}, not in its persisted log`);
    }
    const key = entryKey(e);
    const a = this.applied[e.index];
    if (!a) {
      this.applied[e.index] = { term: e.term, key };
      this.stats.applied++;
    } else if (a.term !== e.term || a.key !== key) {
      throw new SafetyViolation('state machine safety', `${id} applied term ${e.term} at index ${e.index}, another node applied term ${a.term}`);
    }
    const c = this.committed[e.index];
    if (c && (c.term !== e.term || c.key !== key)) {
      throw new SafetyViolation('state machine safety', `${id} applied term ${e.term} at index ${e.index}, committed was term ${c.term}`);
    }
  }

  /** A node's app state at `index` (after applying it, or restoring a snapshot at it). */
  appState(id: string, index: number, data: Uint8Array): void {
    const key = bytesKey(data);
    const known = this.snapshots.get(index);
    if (known === undefined) this.snapshots.set(index, key);
    else if (known !== key) throw new SafetyViolation('state machine safety', `${id} has a different application state at index ${index}`);
  }

  /** A node installs `snap` from its Ready while its applied index is `applied`. */
  installSnapshot(id: string, snap: Snapshot, applied: number): void {
    const i = snap.metadata.index;
    if (i <= applied) throw new SafetyViolation('monotonicity', `${id} was given snapshot ${i} with applied ${applied}`);
    const c = this.committed[i];
    if (c && c.term !== snap.metadata.term) {
      throw new SafetyViolation('state machine safety', `${id} got snapshot ${i}/${snap.metadata.term}, committed term ${c.term}`);
    }
    this.appState(id, i, snap.data);
  }

  /** A node applied the conf change at `index`, giving `cs`: every node must get the same configuration. */
  confChange(id: string, index: number, cs: ConfState): void {
    const key = JSON.stringify([[...cs.voters].sort(), [...cs.learners].sort(), [...cs.votersOutgoing].sort(), [...cs.learnersNext].sort()]);
    const known = this.configs.get(index);
    if (known === undefined) this.configs.set(index, { id, key });
    else if (known.key !== key) {
      throw new SafetyViolation('configuration agreement', `${id} has configuration ${key} after the conf change at ${index}, ${known.id} had ${known.key}`);
    }
  }

  /** Number of terms that had a leader. */
  get terms(): number {
    return this.leaders.size;
  }
}

function entryKeyAt(log: Storage, i: number): string {
  return entryKey(log.entries(i, i + 1, Number.MAX_SAFE_INTEGER)[0]);
}
