import { JointConfig, MajorityConfig, VoteResult } from '../quorum/quorum.ts';
import type { ConfState, NodeId } from '../types.ts';
import type { PeerProgress } from './progress.ts';

/**
 * A cluster configuration as the tracker holds it. `voters` is joint during joint consensus;
 * `learners` and `learnersNext` are disjoint from the incoming voters; `learnersNext` holds
 * outgoing voters that become learners when the joint config is left.
 */
export interface TrackerConfig {
  voters: JointConfig;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

/** A configuration with no members. */
export function emptyTrackerConfig(): TrackerConfig {
  return { voters: new JointConfig(), learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

/** A deep copy (the changer works on copies). */
export function cloneTrackerConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: new JointConfig(new MajorityConfig(c.voters.incoming.ids), new MajorityConfig(c.voters.outgoing.ids)),
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

/** For logs: `voters=(a b)&&(a c) learners=(d)`. */
export function trackerConfigToString(c: TrackerConfig): string {
  let s = `voters=${c.voters}`;
  if (c.learners.size > 0) s += ` learners=(${[...c.learners].sort().join(' ')})`;
  if (c.learnersNext.size > 0) s += ` learners_next=(${[...c.learnersNext].sort().join(' ')})`;
  if (c.autoLeave) s += ' autoleave';
  return s;
}

/** Every member's progress, voters and learners, by ID. */
export type ProgressMap = Map<NodeId, PeerProgress>;

/**
 * The leader's bookkeeping (etcd's ProgressTracker): the active configuration, one
 * `PeerProgress` per member (voters and learners), and the votes of the current election.
 */
export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  progress: ProgressMap = new Map();
  readonly votes = new Map<NodeId, boolean>();

  constructor(readonly maxInflight: number, readonly maxInflightBytes = 0) {}

  /** The membership as a ConfState (sorted, for determinism). */
  confState(): ConfState {
    return {
      voters: this.config.voters.incoming.sorted(),
      votersOutgoing: this.config.voters.outgoing.sorted(),
      learners: [...this.config.learners].sort(),
      learnersNext: [...this.config.learnersNext].sort(),
      autoLeave: this.config.autoLeave,
    };
  }

  /** True when this is a one-voter, non-joint configuration. */
  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && this.config.voters.outgoing.size === 0;
  }

  /** The largest index replicated on a quorum (both majorities when joint). */
  committed(): number {
    return this.config.voters.committedIndex((id) => {
      const pr = this.progress.get(id);
      return pr?.match;
    });
  }

  /** `progress`'s IDs sorted, and the map they were sorted for (`visit` runs per proposal). */
  private sortedIds: NodeId[] = [];
  private sortedFor: ProgressMap | undefined;

  /**
   * Calls `fn` for each member in ID order (deterministic message order). The sorted IDs are
   * kept until `progress` is replaced or changes size (a configuration change builds a new
   * map), so a leader's append to its followers sorts nothing.
   */
  visit(fn: (id: NodeId, pr: PeerProgress) => void): void {
    if (this.sortedFor !== this.progress || this.sortedIds.length !== this.progress.size) {
      this.sortedIds = [...this.progress.keys()].sort();
      this.sortedFor = this.progress;
    }
    for (const id of this.sortedIds) {
      const pr = this.progress.get(id);
      if (pr) fn(id, pr);
    }
  }

  /** Whether a quorum of voters was recently active (CheckQuorum). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    this.visit((id, pr) => {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    });
    return this.config.voters.voteResult(votes) === VoteResult.Won;
  }

  /** The voters (both halves), sorted. */
  voterNodes(): NodeId[] {
    return [...this.config.voters.ids()].sort();
  }

  learnerNodes(): NodeId[] {
    return [...this.config.learners].sort();
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; the first vote of a node in an election counts, later ones are ignored. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Counts the votes cast by voters and gives the outcome so far. */
  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }
}
