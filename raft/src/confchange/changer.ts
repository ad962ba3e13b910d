/**
 * Membership changes on a tracker configuration (etcd's confchange.Changer): single-voter
 * ("simple") changes, entering and leaving joint consensus, learners. Works on copies and
 * returns the new configuration and progress map; the caller switches to them. Throws
 * `ConfChangeError` for a change the configuration does not allow.
 */
import { ConfChangeError } from '../errors.ts';
import { JointConfig, MajorityConfig } from '../quorum/quorum.ts';
import { cloneProgress, PeerProgress } from '../tracker/progress.ts';
import { cloneTrackerConfig } from '../tracker/tracker.ts';
import type { ProgressMap, TrackerConfig } from '../tracker/tracker.ts';
import { ConfChangeType } from '../types.ts';
import type { ConfChange, NodeId } from '../types.ts';

/** One change of a ConfChange. */
export type ConfChangeSingle = ConfChange['changes'][number];

/** What a change produces: the new configuration and progress map, to switch to. */
export interface ChangeResult {
  config: TrackerConfig;
  progress: ProgressMap;
}

/** Whether `cc` leaves a joint configuration (no changes). */
export function isLeaveJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0 && (cc.transition ?? 'auto') === 'auto';
}

/** Whether `cc` enters joint consensus, and if so whether it will be left automatically. */
export function enterJoint(cc: ConfChange): { joint: boolean; autoLeave: boolean } {
  const t = cc.transition ?? 'auto';
  if (t !== 'auto' || cc.changes.length > 1) return { joint: true, autoLeave: t !== 'joint-explicit' };
  return { joint: false, autoLeave: false };
}

/** Applies membership changes to copies of a configuration (see the file comment). */
export class Changer {
  /**
   * `lastIndex` is the leader's last log index: new members start probing there.
   * `maxInflight` sizes the window of new members' progress.
   */
  constructor(
    private readonly config: TrackerConfig,
    private readonly progress: ProgressMap,
    private readonly opts: { lastIndex: number; maxInflight: number; maxInflightBytes?: number },
  ) {}

  /** Applies any ConfChange: leave joint, enter joint, or a simple change. */
  apply(cc: ConfChange): ChangeResult {
    if (isLeaveJoint(cc)) return this.leaveJoint();
    const { joint, autoLeave } = enterJoint(cc);
    return joint ? this.enterJoint(autoLeave, cc.changes) : this.simple(cc.changes);
  }

  /** Enters joint consensus: the current voters become the outgoing half, `changes` shape the incoming. */
  enterJoint(autoLeave: boolean, changes: ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.copy();
    if (config.voters.isJoint()) throw new ConfChangeError('config is already joint');
    if (config.voters.incoming.size === 0) throw new ConfChangeError("can't make a zero-voter config joint");
    for (const id of config.voters.incoming.ids) config.voters.outgoing.ids.add(id);
    this.applyChanges(config, progress, changes);
    config.autoLeave = autoLeave;
    return check(config, progress);
  }

  /** Leaves joint consensus: the outgoing half goes away; `learnersNext` become learners. */
  leaveJoint(): ChangeResult {
    const { config, progress } = this.copy();
    if (!config.voters.isJoint()) throw new ConfChangeError("can't leave a non-joint config");
    for (const id of config.learnersNext) {
      config.learners.add(id);
      progress.get(id)!.isLearner = true;
    }
    config.learnersNext.clear();
    for (const id of config.voters.outgoing.ids) {
      if (!config.voters.incoming.ids.has(id) && !config.learners.has(id)) progress.delete(id);
    }
    config.voters.outgoing.ids.clear();
    config.autoLeave = false;
    return check(config, progress);
  }

  /** A change of at most one voter, outside joint consensus (majorities of old and new overlap). */
  simple(changes: ConfChangeSingle[]): ChangeResult {
    const { config, progress } = this.copy();
    if (config.voters.isJoint()) throw new ConfChangeError("can't apply simple config change in joint config");
    const before = new Set(config.voters.incoming.ids);
    this.applyChanges(config, progress, changes);
    const after = config.voters.incoming.ids;
    let diff = 0;
    for (const id of before) if (!after.has(id)) diff++;
    for (const id of after) if (!before.has(id)) diff++;
    if (diff > 1) throw new ConfChangeError('more than one voter changed without entering joint config');
    return check(config, progress);
  }

  private copy(): ChangeResult {
    const progress: ProgressMap = new Map();
    for (const [id, pr] of this.progress) progress.set(id, cloneProgress(pr));
    return { config: cloneTrackerConfig(this.config), progress };
  }

  private applyChanges(config: TrackerConfig, progress: ProgressMap, changes: ConfChangeSingle[]): void {
    for (const c of changes) {
      if (!c.nodeId) continue;
      switch (c.type) {
        case ConfChangeType.AddNode:
          this.makeVoter(config, progress, c.nodeId);
          break;
        case ConfChangeType.AddLearner:
          this.makeLearner(config, progress, c.nodeId);
          break;
        case ConfChangeType.RemoveNode:
          remove(config, progress, c.nodeId);
          break;
        default:
          throw new ConfChangeError(`unknown change type ${String(c.type)}`);
      }
    }
    if (config.voters.incoming.size === 0) throw new ConfChangeError('removed all voters');
  }

  private makeVoter(config: TrackerConfig, progress: ProgressMap, id: NodeId): void {
    const pr = progress.get(id);
    if (!pr) {
      this.initProgress(config, progress, id, false);
      return;
    }
    pr.isLearner = false;
    config.learners.delete(id);
    config.learnersNext.delete(id);
    config.voters.incoming.ids.add(id);
  }

  /**
   * Makes `id` a learner. A voter of the outgoing half cannot be demoted while joint: it is
   * staged in `learnersNext` and becomes a learner when the joint config is left.
   */
  private makeLearner(config: TrackerConfig, progress: ProgressMap, id: NodeId): void {
    const pr = progress.get(id);
    if (!pr) {
      this.initProgress(config, progress, id, true);
      return;
    }
    if (pr.isLearner) return;
    remove(config, progress, id);
    progress.set(id, pr);
    if (config.voters.outgoing.ids.has(id)) {
      config.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      config.learners.add(id);
    }
  }

  private initProgress(config: TrackerConfig, progress: ProgressMap, id: NodeId, isLearner: boolean): void {
    if (isLearner) config.learners.add(id);
    else config.voters.incoming.ids.add(id);
    const pr = new PeerProgress({
      // Probing from the last index: the follower either has it or tells us where it is.
      next: Math.max(this.opts.lastIndex, 1),
      isLearner,
      maxInflight: this.opts.maxInflight,
      maxInflightBytes: this.opts.maxInflightBytes,
    });
    // A new member counts as active so that CheckQuorum does not step down right after adding it.
    pr.recentActive = true;
    progress.set(id, pr);
  }
}

function remove(config: TrackerConfig, progress: ProgressMap, id: NodeId): void {
  if (!progress.has(id)) return;
  config.voters.incoming.ids.delete(id);
  config.learners.delete(id);
  config.learnersNext.delete(id);
  // An outgoing voter keeps its progress until the joint config is left.
  if (!config.voters.outgoing.ids.has(id)) progress.delete(id);
}

/** Checks the configuration's invariants; a violation is a bug in the changer. */
function check(config: TrackerConfig, progress: ProgressMap): ChangeResult {
  const fail = (why: string) => {
    throw new ConfChangeError(`invariant broken: ${why}`);
  };
  for (const id of config.voters.ids()) if (!progress.has(id)) fail(`no progress for voter ${id}`);
  for (const id of config.learners) {
    if (!progress.has(id)) fail(`no progress for learner ${id}`);
    if (config.voters.outgoing.ids.has(id)) fail(`${id} is in learners and outgoing voters`);
    if (config.voters.incoming.ids.has(id)) fail(`${id} is in learners and voters`);
    if (!progress.get(id)!.isLearner) fail(`${id} is a learner but its progress says otherwise`);
  }
  for (const id of config.learnersNext) {
    if (!config.voters.outgoing.ids.has(id)) fail(`${id} is in learnersNext but not an outgoing voter`);
    if (progress.get(id)!.isLearner) fail(`${id} is in learnersNext but already marked learner`);
  }
  if (!config.voters.isJoint()) {
    if (config.learnersNext.size > 0) fail('learnersNext outside joint config');
    if (config.autoLeave) fail('autoLeave outside joint config');
  }
  return { config, progress };
}

/**
 * Builds the configuration a ConfState describes (after a snapshot or on restart), by replaying
 * it as changes from an empty configuration, as etcd's confchange.Restore does.
 */
export function restoreConfig(
  cs: { voters: NodeId[]; learners: NodeId[]; votersOutgoing: NodeId[]; learnersNext: NodeId[]; autoLeave: boolean },
  opts: { lastIndex: number; maxInflight: number; maxInflightBytes?: number },
): ChangeResult {
  let cur: ChangeResult = {
    config: { voters: new JointConfig(new MajorityConfig(), new MajorityConfig()), learners: new Set(), learnersNext: new Set(), autoLeave: false },
    progress: new Map(),
  };
  const step = (fn: (c: Changer) => ChangeResult) => {
    cur = fn(new Changer(cur.config, cur.progress, opts));
  };
  const add = (type: ConfChangeType) => (nodeId: NodeId) => ({ type, nodeId });
  if (cs.votersOutgoing.length === 0) {
    const changes = [...cs.voters.map(add(ConfChangeType.AddNode)), ...cs.learners.map(add(ConfChangeType.AddLearner))];
    // Apply one at a time: each is a valid simple change.
    for (const c of changes) step((ch) => ch.simple([c]));
    return cur;
  }
  // Joint: build the outgoing config, then enter joint with the incoming one.
  for (const id of cs.votersOutgoing) step((ch) => ch.simple([{ type: ConfChangeType.AddNode, nodeId: id }]));
  const incoming = [
    ...cs.votersOutgoing.map(add(ConfChangeType.RemoveNode)),
    ...cs.voters.map(add(ConfChangeType.AddNode)),
    ...cs.learners.map(add(ConfChangeType.AddLearner)),
    ...cs.learnersNext.map(add(ConfChangeType.AddLearner)),
  ];
  step((ch) => ch.enterJoint(cs.autoLeave, incoming));
  return cur;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The `data` of a ConfChange entry (JSON). */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify(cc));
}

/** Reads a ConfChange entry's `data`. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  let cc: ConfChange;
  try {
    cc = JSON.parse(decoder.decode(data)) as ConfChange;
  } catch {
    throw new ConfChangeError('malformed conf change entry');
  }
  if (!cc || !Array.isArray(cc.changes)) throw new ConfChangeError('malformed conf change entry');
  return cc;
}
