/**
 * When a node's session tries again after its connection closed (pure). Without spread,
 * every node of a swarm that lost its leader retried on the same beat: a thousand TLS
 * handshakes landed on one manager at once, overflowed its accept queue, the clients'
 * handshake timeouts fired while they waited in it, and each retry queued another dead
 * connection in front of the live ones (a congestion collapse). So:
 *
 * - a redirect to a named leader is followed after a random part of one base delay,
 *   which spreads the herd a new leader sees over that window;
 * - a connection refused outright (nothing listens there: a manager that was killed) is
 *   no load on anyone, so the next manager is tried after a random part of one base
 *   delay, and it does not count as a failure: after a failover a third of the nodes
 *   found the dead leader first and, counting it, backed off for seconds more (the
 *   session backs off as usual once every manager it knows refused in a row);
 * - a session a leader had answered, then lost (its manager died or stepped down), is not a
 *   failed attempt either: the next manager is tried after a random part of one base delay.
 *   Equal jitter there held every node of a killed leader back for at least a quarter
 *   second, and spread the same crowd over half the window;
 * - otherwise the delay doubles with each attempt that never got an answer (capped),
 *   with "equal jitter": half of it fixed, half random.
 */

/** What the next delay depends on. */
export interface BackoffInput {
  /** Connection attempts in a row that closed before the leader answered a heartbeat. */
  failures: number;
  /** The session's heartbeat period, ms. */
  heartbeatMs: number;
  /** The last connection ended with a redirect naming the leader. */
  redirected: boolean;
  /** A random number in [0, 1). */
  rand: number;
  /** The last attempt was refused before it opened (ECONNREFUSED), and another manager is left to try. */
  refused?: boolean;
  /** The connection that closed had been answered by a leader (a working session, lost). */
  answered?: boolean;
}

/** The smallest step, ms: half a second, or the heartbeat period when that is shorter. */
export function baseDelay(heartbeatMs: number): number {
  return Math.max(1, Math.min(500, heartbeatMs));
}

/** The longest wait between attempts, ms: five heartbeat periods, at most 5 s (never under the base). */
export function maxDelay(heartbeatMs: number): number {
  return Math.max(baseDelay(heartbeatMs), Math.min(5000, heartbeatMs * 5));
}

/** Milliseconds to wait before the next connection attempt. */
export function reconnectDelay(i: BackoffInput): number {
  const base = baseDelay(i.heartbeatMs);
  if (i.redirected || i.refused || i.answered) return Math.floor(i.rand * base);
  const step = Math.min(maxDelay(i.heartbeatMs), base * 2 ** Math.min(Math.max(0, i.failures - 1), 16));
  return Math.floor(step / 2 + (i.rand * step) / 2);
}

/**
 * How long a connection attempt may take to open, ms: at least 5 s. A manager that is
 * busy accepting a crowd of sessions answers late, not never; an attempt given up early
 * leaves its dead connection in the accept queue and adds another.
 */
export function handshakeTimeout(heartbeatMs: number): number {
  return Math.max(5000, heartbeatMs * 3);
}
