/** Making a task for a service (named by common/task-name.ts, as Docker does). */
import type { Service } from '../../api/types/service.ts';
import type { Task, TaskState } from '../../api/types/task.ts';
import type { ReconcileContext } from './types.ts';
import { taskName } from '../../common/task-name.ts';

export interface NewTaskOptions {
  /** Replicated and replicated-job tasks: the slot (1..N). */
  slot?: number;
  /** Global tasks: the node the task belongs to. */
  nodeId?: string;
  /** Default `running` (`complete` for jobs; `ready` while a restart delay runs). */
  desired?: TaskState;
}

/**
 * A new task (state `new`) from the service's current task template, version and
 * endpoint. The template is copied, so later edits of the service do not reach it.
 */
export function newTask(service: Service, opts: NewTaskOptions, ctx: ReconcileContext): Task {
  const now = new Date(ctx.now).toISOString();
  const id = ctx.newId();
  const ports = service.Endpoint?.Ports ?? service.Spec.EndpointSpec?.Ports;
  const t: Task = {
    ID: id,
    Version: { Index: 0 },
    CreatedAt: now,
    UpdatedAt: now,
    Labels: { ...(service.Spec.TaskTemplate.ContainerSpec?.Labels ?? {}) },
    Spec: structuredClone(service.Spec.TaskTemplate),
    ServiceID: service.ID,
    Slot: opts.slot ?? 0,
    Status: { Timestamp: now, State: 'new', Message: 'created' },
    DesiredState: opts.desired ?? 'running',
    ServiceAnnotations: { Name: service.Spec.Name, Labels: { ...service.Spec.Labels } },
    SpecVersion: { Index: service.Version.Index },
  };
  if (opts.nodeId) t.NodeID = opts.nodeId;
  if (ports && ports.length > 0) t.Endpoint = { Spec: service.Spec.EndpointSpec ?? {}, Ports: ports.map((p) => ({ ...p })) };
  if (service.JobStatus) t.JobIteration = { Index: service.JobStatus.JobIteration.Index };
  t.Name = taskName(t);
  return t;
}
