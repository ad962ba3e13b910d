/**
 * The leader's node-health timing, in a module of its own so the chaos harness's liveness
 * bound (labs/chaos/liveness.ts) reads the same figures the manager runs with.
 */

/** How often the leader's loops run (node health among them), ms. */
export const LEADER_LOOP_MS = 200;

/**
 * The least a new leader (or one back from a stall) waits before marking silent nodes
 * down, ms: the time a thousand sessions need to find it and shake hands (`node-health.ts`).
 */
export const NEW_LEADER_GRACE_MS = 10_000;
