/**
 * Node liveness from heartbeats (pure decision). The leader's dispatcher records when it
 * last heard from each node; a node heard within the grace period is ready, one not
 * heard for longer is down — but only once this leader has led for a whole grace period,
 * so a fresh leader does not mark every node down before their heartbeats find it.
 */
import type { NodeState } from '../api/types/node.ts';

export interface NodeHealthInput {
  nodes: { id: string; state: NodeState; addr: string }[];
  /** Last heartbeat per node ID (ms), and the address it came from. */
  lastSeen: Map<string, { at: number; addr: string }>;
  now: number;
  /** When this manager became leader (ms). */
  leaderSince: number;
  /** Since when it has watched heartbeats without a stall of its own (`watchHeartbeats`, ms); one grace period must pass from it. */
  watchSince?: number;
  /** How long without a heartbeat makes a node down (ms). */
  graceMs: number;
  /**
   * How long a new leader (or one back from a stall of its own) waits before it marks any
   * node down, ms; default `graceMs`. Longer than `graceMs`: after a failover every node
   * reconnects at once, with jittered backoff, through TLS handshakes the new leader takes
   * one after another; a thousand of them can outlast one grace period, and a node marked
   * down then has all its tasks rescheduled (SwarmKit gives nodes of unknown state longer
   * too).
   */
  leaderGraceMs?: number;
  /**
   * When this leader last heard a node for the first time since it took over (ms; the
   * reconnection wave of a failover). A node it has not heard since then is marked down
   * only once no node has arrived for `graceMs`: while sessions still arrive, a silent
   * node may just be waiting its turn behind them (a loaded machine took 15 s to bring
   * 500 sessions back, and a new leader marked 424 live nodes down and rescheduled all
   * their tasks). At most until `leaderGraceMs` three times over, so a trickle of
   * arrivals never hides a dead node for long.
   */
  lastArrival?: number;
}

/** How many new-leader grace periods the reconnection wave may hold off marking silent nodes down. */
export const WAVE_CAP_GRACES = 3;
/** Unheard nodes past which "fewer than half heard" means a slow leader rather than dead nodes. */
export const MASS_DOWN = 20;

export interface NodeStatusChange {
  id: string;
  state: NodeState;
  addr: string;
  message: string;
}

export function nodeStatusChanges(input: NodeHealthInput): NodeStatusChange[] {
  const changes: NodeStatusChange[] = [];
  const leaderGrace = Math.max(input.graceMs, input.leaderGraceMs ?? input.graceMs);
  const led = input.now - input.leaderSince;
  const settled = led >= leaderGrace && input.now - (input.watchSince ?? 0) >= input.graceMs;
  // The wave is over: no first heartbeat of this term for a whole grace period, while this
  // leader has heard at least half the nodes the store has ready, or it ran too long. A
  // leader that heard fewer, with a crowd of nodes unheard, is more likely slow itself (its
  // own passes keep the sessions waiting: at 1,000 nodes one marked 930 live nodes down)
  // than half the swarm dead at once. A few unheard nodes of a small swarm are judged as usual.
  let ready = 0;
  let heard = 0;
  for (const n of input.nodes) {
    if (n.state !== 'ready') continue;
    ready++;
    const seen = input.lastSeen.get(n.id);
    if (seen !== undefined && seen.at >= input.leaderSince) heard++;
  }
  const crowd = ready - heard > MASS_DOWN && heard * 2 < ready;
  const quiet = input.now - Math.max(input.leaderSince, input.lastArrival ?? 0) >= input.graceMs && !crowd;
  const waveOver = quiet || led >= leaderGrace * WAVE_CAP_GRACES;
  for (const n of input.nodes) {
    const seen = input.lastSeen.get(n.id);
    const alive = seen !== undefined && input.now - seen.at < input.graceMs;
    const heardThisTerm = seen !== undefined && seen.at >= input.leaderSince;
    if (!alive && settled && n.state === 'ready' && !heardThisTerm && !waveOver) continue;
    // Status.Addr is the IP alone, as Docker shows it; heartbeats carry IP:PORT.
    const ip = seen ? hostOf(seen.addr) : n.addr;
    if (alive && (n.state !== 'ready' || n.addr !== ip)) {
      changes.push({ id: n.id, state: 'ready', addr: ip, message: '' });
    } else if (!alive && settled && n.state === 'ready') {
      changes.push({ id: n.id, state: 'down', addr: n.addr, message: 'heartbeat failure' });
    }
  }
  return changes;
}

function hostOf(addr: string): string {
  const m = /^\[?([^\]]+?)\]?:\d+$/.exec(addr);
  return m ? m[1] : addr;
}

/** Since when the leader has watched heartbeats without a stall of its own, and when it last looked. */
export interface HeartbeatWatch {
  since: number;
  lastTick: number;
}

/**
 * The watch after the leader's periodic check at `now` (pure). A leader whose own event
 * loop stalled longer than `maxGapMs` (a huge write, a starved CPU) has the heartbeats of
 * that time still queued, unread: judged on them at once it marked every node of a
 * thousand down, then ready again a moment later, and rescheduled all their tasks. After
 * such a gap the watch starts again, so nodes get a whole grace period (pass `watch.since`
 * as `watchSince` to `nodeStatusChanges`).
 */
export function watchHeartbeats(prev: HeartbeatWatch, now: number, maxGapMs: number): HeartbeatWatch {
  const stalled = prev.lastTick !== 0 && now - prev.lastTick > maxGapMs;
  return { since: stalled ? now : prev.since, lastTick: now };
}
