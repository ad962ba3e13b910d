/**
 * Health of a task's container as the agent sees and reports it (Docker's swarm rules,
 * moby's `daemon/cluster/executor/container/controller.go`): a task whose container has
 * a health check stays `starting` until the first successful probe and only then becomes
 * `running`; a check that turns `unhealthy` fails the task with Docker's error
 * (`task: non-zero exit (N): dockerexec: unhealthy container`), and the restart policy
 * replaces it. The status carries the health itself (`TaskStatus.Health`) so the leader
 * can take an unhealthy task out of every rotation before the container is stopped.
 *
 *   const h = healthOf(controller);              // undefined: no check
 *   const next = await untilHealth(controller, (s) => s !== 'starting', abort);
 */
import type { HealthStatus, TaskHealth } from '../api/types/task.ts';

/** The part of a task controller this module reads (the exec controller has it; test fakes may not). */
export interface HealthSource {
  readonly healthStatus?: { status: HealthStatus; failingStreak: number } | undefined;
  onHealth?(fn: (s: HealthStatus) => void): () => void;
}

/** Docker's cause of a task stopped for being unhealthy. */
export const UNHEALTHY_CAUSE = 'dockerexec: unhealthy container';

/** Docker's task error for a container stopped because its health check failed. */
export function unhealthyError(exitCode: number): string {
  return `task: non-zero exit (${exitCode}): ${UNHEALTHY_CAUSE}`;
}

/** The container's health in the task status's shape; undefined when it has no check. */
export function healthOf(c: HealthSource | undefined): TaskHealth | undefined {
  const h = c?.healthStatus;
  return h ? { Status: h.status, FailingStreak: h.failingStreak } : undefined;
}

/**
 * Resolves with the health status once `want` holds for it (at once when it already
 * does), or with undefined when `until` settles first or the controller reports no
 * health. Never rejects.
 */
export function untilHealth(c: HealthSource, want: (s: HealthStatus) => boolean, until: Promise<unknown>): Promise<HealthStatus | undefined> {
  const now = c.healthStatus?.status;
  if (now === undefined || !c.onHealth) return until.then(() => undefined, () => undefined);
  if (want(now)) return Promise.resolve(now);
  return new Promise((resolve) => {
    let done = false;
    const finish = (s: HealthStatus | undefined) => {
      if (done) return;
      done = true;
      off();
      resolve(s);
    };
    const off = c.onHealth!((s) => { if (want(s)) finish(s); });
    until.then(() => finish(undefined), () => finish(undefined));
  });
}
