/** The Task object (`/tasks`), in Docker's shape. Task state only moves forward. */
import type { Annotations, Meta, ObjectVersion } from './common.ts';
import type { TaskSpec, Endpoint } from './service.ts';
import type { NetworkAttachment } from './network.ts';

export type { NetworkAttachment } from './network.ts';

/** Task states in their order; a task never moves to an earlier one. */
export const TASK_STATES = [
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
  'complete',
  'shutdown',
  'failed',
  'rejected',
  'remove',
  'orphaned',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** The position of a state in the lifecycle; terminal states share the top rank. */
export function taskStateRank(s: TaskState): number {
  const i = TASK_STATES.indexOf(s);
  return i >= TASK_STATES.indexOf('complete') ? TASK_STATES.indexOf('complete') : i;
}

export function isTerminal(s: TaskState): boolean {
  return taskStateRank(s) === TASK_STATES.indexOf('complete');
}

/**
 * Whether the task is a network attachment task: a standalone container's endpoint on an
 * attachable overlay, with no service (`src/swarm/attachment-tasks.ts`). Here, the lowest
 * floor, so that the allocator, the task reaper, the network view and the agent ask the
 * one same question; each treats such a task apart from service tasks.
 */
export function isAttachmentTask(t: { Spec?: { NetworkAttachmentSpec?: unknown } }): boolean {
  return !!t.Spec?.NetworkAttachmentSpec;
}

export interface ContainerStatus {
  ContainerID: string;
  PID: number;
  ExitCode: number;
}

/** Docker's health states of a container with a health check. */
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/**
 * The health of a task's container, in the shape Docker shows a container's
 * `State.Health` (Shoal extension of the task status; Docker's API has no such field, so
 * the stock CLI ignores it). Absent when the container has no health check. As in Docker,
 * a task with a check stays in state `starting` until its first successful probe
 * (`Status` `starting`), is `running` once `healthy`, and fails when `unhealthy`.
 */
export interface TaskHealth {
  Status: HealthStatus;
  /** Consecutive failed probes at the time of the report. */
  FailingStreak: number;
}

export interface TaskStatus {
  Timestamp: string;
  State: TaskState;
  Message: string;
  Err?: string;
  ContainerStatus?: ContainerStatus;
  PortStatus?: { Ports?: Endpoint['Ports'] };
  /** The container's health check, when it has one (see {@link TaskHealth}). */
  Health?: TaskHealth;
}


export interface Task extends Meta {
  Name?: string;
  Labels: Record<string, string>;
  Spec: TaskSpec;
  ServiceID: string;
  /** Replicated services: the slot (1..replicas) this task fills. Global: 0. */
  Slot?: number;
  NodeID?: string;
  Status: TaskStatus;
  DesiredState: TaskState;
  NetworksAttachments?: NetworkAttachment[];
  JobIteration?: { Index: number };
  ServiceAnnotations?: Annotations;
  /** The service's `Version` whose spec this task was made from (SwarmKit's SpecVersion);
   *  the scheduler places tasks with the same service and spec version as one group. */
  SpecVersion?: ObjectVersion;
  /** The ports the task publishes, copied from the service's endpoint; the scheduler
   *  checks host-mode published ports against the other tasks on a node. */
  Endpoint?: Endpoint;
}
