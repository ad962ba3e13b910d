/**
 * Pure quorum math (etcd's quorum package): the committed index and the vote outcome for a
 * simple majority and for a joint configuration (both majorities). No state, no I/O.
 */
import type { NodeId } from '../types.ts';

/** The outcome of an election so far. */
export enum VoteResult {
  /** Neither won nor lost yet: enough voters have not answered. */
  Pending = 'pending',
  Lost = 'lost',
  Won = 'won',
}

/** Looks up what a voter acknowledged (its match index); undefined when unknown. */
export type AckedIndexer = (id: NodeId) => number | undefined;

/** A set of voters deciding by simple majority. */
export class MajorityConfig {
  readonly ids: Set<NodeId>;
  constructor(ids: Iterable<NodeId> = []) {
    this.ids = new Set(ids);
  }

  get size(): number {
    return this.ids.size;
  }

  /** The voters, sorted (for deterministic iteration and output). */
  sorted(): NodeId[] {
    return [...this.ids].sort();
  }

  /**
   * The largest index acknowledged by a majority. An empty config returns Infinity, so that
   * it never constrains a joint configuration (its "other half" is empty outside joint state).
   */
  committedIndex(acked: AckedIndexer): number {
    const n = this.ids.size;
    if (n === 0) return Infinity;
    const idx: number[] = [];
    for (const id of this.ids) {
      // Insertion sort, descending: a handful of voters, and unlike Array#sort it allocates
      // nothing more (this runs on every acknowledgement a leader gets).
      const v = acked(id) ?? 0;
      let k = idx.length;
      idx.push(v);
      while (k > 0 && idx[k - 1] < v) {
        idx[k] = idx[k - 1];
        k--;
      }
      idx[k] = v;
    }
    // Descending: the (n/2 + 1)-th largest is acknowledged by a majority.
    return idx[Math.floor(n / 2)];
  }

  /**
   * The outcome given the votes cast (true = granted). An empty config wins, again so that it
   * is neutral inside a joint configuration.
   */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    if (this.ids.size === 0) return VoteResult.Won;
    let yes = 0;
    let missing = 0;
    for (const id of this.ids) {
      const v = votes.get(id);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = Math.floor(this.ids.size / 2) + 1;
    if (yes >= q) return VoteResult.Won;
    if (yes + missing >= q) return VoteResult.Pending;
    return VoteResult.Lost;
  }

  toString(): string {
    return `(${this.sorted().join(' ')})`;
  }
}

/**
 * A joint configuration: the incoming and the outgoing majority. Outside joint consensus the
 * outgoing half is empty, and the config behaves as the incoming majority alone.
 */
export class JointConfig {
  constructor(
    readonly incoming: MajorityConfig = new MajorityConfig(),
    readonly outgoing: MajorityConfig = new MajorityConfig(),
  ) {}

  /** Every voter of either half. */
  ids(): Set<NodeId> {
    return new Set([...this.incoming.ids, ...this.outgoing.ids]);
  }

  isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  /** The largest index committed by both majorities. */
  committedIndex(acked: AckedIndexer): number {
    return Math.min(this.incoming.committedIndex(acked), this.outgoing.committedIndex(acked));
  }

  /** Won only when both halves won; lost as soon as either lost. */
  voteResult(votes: ReadonlyMap<NodeId, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1;
    if (r1 === VoteResult.Lost || r2 === VoteResult.Lost) return VoteResult.Lost;
    return VoteResult.Pending;
  }

  toString(): string {
    return this.isJoint() ? `${this.incoming}&&${this.outgoing}` : this.incoming.toString();
  }
}
