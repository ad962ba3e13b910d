// The chaos liveness check (pure): how soon the managers mark a silenced node down. A node
// is silenced by a fault that stops its heartbeats reaching the leader (kill, pause,
// isolate, the minority side of a split); from the moment the fault is in place it must be
// marked down within a bound derived from the lab's heartbeat settings, provided it stayed
// silent that long (faults are held 2–8 s; a killed node stays silent until its restart
// ends). Where a fault hit the leader, or the leader changed while the node was silent, the
// new leader first waits its own grace (src/manager/leader-timing.ts NEW_LEADER_GRACE_MS): the
// bound is longer. Faults shorter than their bound are recorded (down or not), not judged.
// One-way partitions (the host still sends) and clock jumps are not silencing faults: a
// clock jump marking a node down is recorded as `falseDown`.

import { LEADER_LOOP_MS, NEW_LEADER_GRACE_MS } from '../../src/manager/leader-timing.ts';

/** The heartbeat settings the bound is derived from, and the slack allowed on top. */
export interface LivenessTimings {
  /** Dispatcher.HeartbeatPeriod of the lab's cluster, ms (Docker's default: 1000). */
  heartbeatMs: number;
  /** A node unheard this long is down: 3 heartbeat periods (manager.ts `graceMs`). */
  graceMs: number;
  /** A new leader marks nobody down before it has led this long (leader-timing.ts NEW_LEADER_GRACE_MS). */
  newLeaderGraceMs: number;
  /** Longest election after the leader is lost (Raft: 2 × electionTick × tickMs = 1 s, twice for a split vote or check-quorum step-down). */
  electionMs: number;
  /** The leader's loop period (leader-timing.ts LEADER_LOOP_MS) plus the sampling period of the watch. */
  pollMs: number;
  /** Load slack: a loaded 2-core machine delays the leader's loop and the commit of the change. */
  slackMs: number;
}
/** How often the run samples the managers' node states, ms. */
export const SAMPLE_MS = 500;

/** The timings for a heartbeat period (the grace and the rest follow from it). */
export function livenessTimings(heartbeatMs: number): LivenessTimings {
  return { heartbeatMs, graceMs: 3 * heartbeatMs, newLeaderGraceMs: NEW_LEADER_GRACE_MS, electionMs: 2000, pollMs: LEADER_LOOP_MS + SAMPLE_MS, slackMs: 3000 };
}

/**
 * The bound on marking a silenced node down, ms after the fault is in place. The node's
 * last heartbeat is no later than that; the leader marks it down one grace later, on its
 * next loop. A new leader (elected within `electionMs`) waits `newLeaderGraceMs` from its
 * election whatever it heard, and a stall of the leader's own loop restarts the grace
 * (covered by the slack).
 */
export function downBoundMs(t: LivenessTimings, leaderChanged: boolean): number {
  const judged = leaderChanged ? t.electionMs + Math.max(t.newLeaderGraceMs, t.graceMs) : t.graceMs;
  return judged + t.pollMs + t.slackMs;
}

/** One sample of the managers' view: each host's node state, and the leading host. */
export interface LivenessSample {
  /** ms since the run started. */
  at: number;
  /** Node state by hostname ('ready', 'down', …). */
  states: Record<string, string>;
  leader?: string;
}

/** One silencing (or clock) fault of one host, with the times it was in place. */
export interface SilenceWindow {
  fault: string;
  host: string;
  /** The fault is in place (end of its inject step), ms. */
  from: number;
  /** The host can be heard again (heal start; for a kill, the end of the restart), ms. */
  to: number;
  /** Hosts the round's faults impaired (clock jumps aside): if the leader is one, it changes. */
  roundHosts: string[];
  /** A clock jump: the node must not be marked down. */
  expectLive?: boolean;
}

/** What the check found for one window. */
export interface LivenessRecord {
  fault: string;
  host: string;
  /** ms from the fault in place to the first sample showing the node down (none: never seen). */
  downMs?: number;
  boundMs: number;
  /** Silent for at least the bound, so judged. */
  judged: boolean;
  leaderChanged: boolean;
  /** Judged and not down within the bound. */
  late: boolean;
  /** A clock jump during which the node was marked down. */
  falseDown?: boolean;
  /** The node was still down from an earlier fault when this one started: not judged. */
  alreadyDown?: boolean;
}

/** A fault of a round with the times of its steps (ms since the run started). */
export interface TimedFault {
  kind: string;
  /** Hosts it impairs (the minority side of a split). */
  hosts: string[];
  description: string;
  injectEnd: number;
  healStart: number;
  healEnd: number;
}

/**
 * The windows a round's faults open (pure): a killed host is silent until its restart
 * ends, a paused, isolated or split-off one until heal starts; a clock jump opens a window
 * in which the host must stay live; a one-way partition none (the host still sends).
 */
export function silenceWindows(round: readonly TimedFault[]): SilenceWindow[] {
  const roundHosts = round.filter((f) => f.kind !== 'clock').flatMap((f) => f.hosts);
  return round.flatMap((f) => {
    if (f.kind === 'oneway') return [];
    const killed = f.kind === 'kill' || f.kind === 'kill-leader-mid-update';
    return f.hosts.map((host) => ({
      fault: f.description, host, from: f.injectEnd, to: killed ? f.healEnd : f.healStart, roundHosts,
      ...(f.kind === 'clock' ? { expectLive: true } : {}),
    }));
  });
}

/**
 * When the leader last changed before `at`, as the samples show it: the first sample that
 * names the leader leading at `at` after one naming another or none (undefined: no change seen).
 */
export function leaderSettledAt(samples: readonly LivenessSample[], at: number): number | undefined {
  const before = samples.filter((s) => s.at < at);
  const leader = before.at(-1)?.leader;
  if (leader === undefined) return undefined;
  let i = before.length - 1;
  while (i > 0 && before[i - 1].leader === leader) i--;
  return i > 0 ? before[i].at : undefined;
}

/** Whether the last sample names a leader that has led long enough for its new-leader grace not to lengthen a silence's bound. */
export function leaderSettled(samples: readonly LivenessSample[], now: number, t: LivenessTimings): boolean {
  if (!samples.at(-1)?.leader) return false;
  const settled = leaderSettledAt(samples, now + 1);
  return settled === undefined || settled + t.newLeaderGraceMs <= now + t.graceMs;
}

/** Judges each window against the samples (pure). */
export function checkLiveness(windows: readonly SilenceWindow[], samples: readonly LivenessSample[], t: LivenessTimings): LivenessRecord[] {
  return windows.map((w) => {
    const during = samples.filter((s) => s.at >= w.from && s.at <= w.to);
    // The leader before the fault, and whether the samples while silent name another (or none:
    // an election was under way).
    const before = [...samples].reverse().find((s) => s.at < w.from && s.leader)?.leader;
    const leaderChanged = (before !== undefined && w.roundHosts.includes(before)) || during.some((s) => s.leader !== (before ?? s.leader) || !s.leader);
    // A leader elected shortly before the fault still waits out its own grace from its
    // election (it was elected before the sample that first names it): the bound runs from then.
    const settled = leaderSettledAt(samples, w.from);
    const graceLeft = settled === undefined ? 0 : settled + t.newLeaderGraceMs - w.from;
    const boundMs = Math.max(downBoundMs(t, leaderChanged), graceLeft + t.pollMs + t.slackMs);
    // Still down from an earlier fault (a restart not yet seen ready): nothing to time.
    const last = [...samples].reverse().find((s) => s.at < w.from && s.states[w.host] !== undefined);
    if (last?.states[w.host] === 'down') return { fault: w.fault, host: w.host, boundMs, judged: false, leaderChanged, late: false, alreadyDown: true };
    const down = during.find((s) => s.states[w.host] === 'down');
    const downMs = down ? down.at - w.from : undefined;
    if (w.expectLive) return { fault: w.fault, host: w.host, downMs, boundMs, judged: false, leaderChanged, late: false, falseDown: down !== undefined };
    const judged = w.to - w.from >= boundMs;
    return { fault: w.fault, host: w.host, downMs, boundMs, judged, leaderChanged, late: judged && (downMs === undefined || downMs > boundMs) };
  });
}

/** Violations of the records: a judged node not marked down within its bound. */
export function livenessViolations(records: readonly LivenessRecord[]): string[] {
  return records.filter((r) => r.late).map((r) =>
    `liveness: ${r.host} (${r.fault}) not marked down within ${r.boundMs} ms${r.leaderChanged ? ' (leader changed)' : ''}: ${r.downMs === undefined ? 'never seen down while silent' : `seen down after ${r.downMs} ms`}`);
}
