/**
 * Raft series of a manager: term, leadership, commit/applied/snapshot indexes (read at
 * scrape time from `RaftNode.status()`), and what only events can tell: proposals and
 * their latency, fsync latency, leader changes and snapshot sizes (from `RaftNode.on` and
 * `RaftNode.observe`). The node to watch can change (promotion, demotion, a new swarm):
 * `attach` follows the current one and drops the old one's hooks.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { StateRole, type RaftNode } from 'raft-ts';

/** Latency buckets (seconds) for sub-millisecond to multi-second operations. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The Raft series; `attach(raft)` each scrape with the node's current Raft (or undefined). */
export class RaftMetrics {
  private raft?: RaftNode;
  private detach: (() => void)[] = [];
  private readonly proposals: Counter;
  private readonly proposalDuration: Histogram;
  private readonly saveDuration: Histogram;
  private readonly leaderChanges: Counter;
  private readonly snapshotBytes: Histogram;
  private readonly snapshotsTaken: Counter;
  private readonly snapshotsReceived: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    const status = () => this.raft?.status();
    const gauge = (name: string, help: string, value: (s: NonNullable<ReturnType<typeof status>>) => number): void => {
      // Labelled by node so that a node without Raft shows no sample rather than a 0.
      const g: Gauge = new Gauge({
        name, help, labelNames: ['node_id'], registers,
        collect: () => {
          g.reset();
          const s = status();
          if (s) g.set({ node_id: s.id }, value(s));
        },
      });
    };
    gauge('shoal_raft_term', 'Current Raft term of this manager.', (s) => s.term);
    gauge('shoal_raft_is_leader', '1 when this manager is the Raft leader.', (s) => (s.role === StateRole.Leader ? 1 : 0));
    gauge('shoal_raft_has_leader', '1 when this manager knows a leader.', (s) => (s.leader ? 1 : 0));
    gauge('shoal_raft_commit_index', 'Highest log index known committed.', (s) => s.hardState.commit);
    gauge('shoal_raft_applied_index', 'Highest log index applied to the store here.', (s) => s.applied);
    gauge('shoal_raft_snapshot_index', 'Log index of the latest snapshot.', (s) => s.snapshotIndex);
    gauge('shoal_raft_voters', 'Voting members in the Raft configuration.', (s) => s.confState.voters.length);
    const leader: Gauge = new Gauge({
      name: 'shoal_raft_leader', help: 'The leader this manager knows (value 1, leader ID as label).', labelNames: ['leader_id'], registers,
      collect: () => {
        leader.reset();
        const s = status();
        if (s?.leader) leader.set({ leader_id: s.leader }, 1);
      },
    });
    this.proposals = new Counter({ name: 'shoal_raft_proposals_total', help: 'Proposals made on this manager (store writes).', registers });
    this.proposalDuration = new Histogram({
      name: 'shoal_raft_proposal_duration_seconds', help: 'From proposal to apply here, for proposals made here (the store write latency).', buckets: LATENCY_BUCKETS, registers,
    });
    this.saveDuration = new Histogram({
      name: 'shoal_raft_wal_save_duration_seconds', help: 'WAL writes of entries and hard state; sync="true" when fsync\'d.', labelNames: ['sync'], buckets: LATENCY_BUCKETS, registers,
    });
    this.leaderChanges = new Counter({ name: 'shoal_raft_leader_changes_total', help: 'Leader changes seen by this manager.', registers });
    this.snapshotBytes = new Histogram({
      name: 'shoal_raft_snapshot_size_bytes', help: 'Size of snapshots taken here.', registers,
      buckets: [1024, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
    });
    this.snapshotsTaken = new Counter({ name: 'shoal_raft_snapshots_taken_total', help: 'Snapshots taken here.', registers });
    this.snapshotsReceived = new Counter({ name: 'shoal_raft_snapshots_received_total', help: 'Snapshots received from the leader.', registers });
  }

  /** Follows `raft` (the node's current one, or none): hooks move from the previous one. */
  attach(raft: RaftNode | undefined): void {
    if (raft === this.raft) return;
    for (const d of this.detach) d();
    this.detach = [];
    this.raft = raft;
    if (!raft) return;
    this.detach.push(raft.on((e) => {
      if (e.kind === 'leader') this.leaderChanges.inc();
      if (e.kind === 'snapshot') (e.received ? this.snapshotsReceived : this.snapshotsTaken).inc();
    }));
    this.detach.push(raft.observe({
      proposed: () => this.proposals.inc(),
      proposalApplied: (ms) => this.proposalDuration.observe(ms / 1000),
      saved: (ms, entries, sync) => { if (entries > 0 || sync) this.saveDuration.observe({ sync: String(sync) }, ms / 1000); },
      snapshotTaken: (bytes) => this.snapshotBytes.observe(bytes),
    }));
  }
}
