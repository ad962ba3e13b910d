/** Small builders of nodes, services and tasks for the manager's unit tests. */
import type { Node } from '../../api/types/node.ts';
import type { Service, ServiceSpec, TaskSpec } from '../../api/types/service.ts';
import type { Task, TaskState } from '../../api/types/task.ts';

export interface NodeOpts {
  labels?: Record<string, string>;
  role?: 'worker' | 'manager';
  availability?: 'active' | 'pause' | 'drain';
  state?: 'ready' | 'down' | 'unknown' | 'disconnected';
  cpus?: number;
  memoryGiB?: number;
  hostname?: string;
}

export function node(id: string, o: NodeOpts = {}): Node {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '2026-01-01T00:00:00.000Z',
    UpdatedAt: '2026-01-01T00:00:00.000Z',
    Spec: { Labels: o.labels ?? {}, Role: o.role ?? 'worker', Availability: o.availability ?? 'active' },
    Description: {
      Hostname: o.hostname ?? `host-${id}`,
      Platform: { OS: 'linux', Architecture: 'x86_64' },
      Resources: { NanoCPUs: (o.cpus ?? 4) * 1e9, MemoryBytes: (o.memoryGiB ?? 8) * 2 ** 30 },
      Engine: { EngineVersion: '1', Labels: {}, Plugins: [] },
    },
    Status: { State: o.state ?? 'ready', Addr: '192.168.100.10' },
  };
}

export function service(id: string, spec: Partial<ServiceSpec> & { TaskTemplate?: TaskSpec } = {}): Service {
  return {
    ID: id,
    Version: { Index: 10 },
    CreatedAt: '2026-01-01T00:00:00.000Z',
    UpdatedAt: '2026-01-01T00:00:00.000Z',
    Spec: { Name: id, Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, ...spec },
  };
}

export interface TaskOpts {
  slot?: number;
  node?: string;
  state?: TaskState;
  desired?: TaskState;
  spec?: TaskSpec;
  /** Milliseconds since the epoch. */
  created?: number;
  /** Milliseconds since the epoch (status timestamp). */
  at?: number;
  iteration?: number;
}

export function task(id: string, svc: string, o: TaskOpts = {}): Task {
  const created = new Date(o.created ?? 0).toISOString();
  const t: Task = {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: created,
    UpdatedAt: created,
    Labels: {},
    Spec: o.spec ?? { ContainerSpec: { Image: 'busybox' } },
    ServiceID: svc,
    Slot: o.slot ?? 0,
    Status: { Timestamp: new Date(o.at ?? o.created ?? 0).toISOString(), State: o.state ?? 'running', Message: '' },
    DesiredState: o.desired ?? 'running',
  };
  if (o.node) t.NodeID = o.node;
  if (o.iteration !== undefined) t.JobIteration = { Index: o.iteration };
  return t;
}

/** Groups tasks by their NodeID, as the scheduler wants them. */
export function byNode(tasks: Task[]): Map<string, Task[]> {
  const m = new Map<string, Task[]>();
  for (const t of tasks) if (t.NodeID) (m.get(t.NodeID) ?? m.set(t.NodeID, []).get(t.NodeID)!).push(t);
  return m;
}
