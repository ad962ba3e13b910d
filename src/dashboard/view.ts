/**
 * The dashboard's picture of the cluster: a small, JSON-ready view of the nodes,
 * services and tasks that the page draws. Pure: it takes store objects (and the time)
 * and returns values; the live feed reads the store and sends the result.
 */
import type { Node } from '../api/types/node.ts';
import type { Service } from '../api/types/service.ts';
import type { Task, TaskState } from '../api/types/task.ts';
import { modeKind } from '../api/spec/service-spec.ts';
import { isTaskDirty } from '../manager/orchestrator/updater-view.ts';

/** One node as the page shows it. */
export interface NodeView {
  id: string;
  hostname: string;
  role: 'manager' | 'worker';
  /** `ready`, `down`, `disconnected`, `unknown`. */
  state: string;
  availability: string;
  addr: string;
  leader: boolean;
  /** Manager reachability (`reachable`, `unreachable`), empty for workers. */
  reachability: string;
  /** Capacity: CPUs (cores) and memory (bytes) the node announced. */
  cpus: number;
  memoryBytes: number;
  /** Reserved by the tasks it runs or is given (cores, bytes). */
  reservedCpus: number;
  reservedMemoryBytes: number;
  /** Tasks wanted running on it. */
  tasks: number;
}

/** A published port of a service. */
export interface PortView {
  published?: number;
  target: number;
  protocol: string;
  mode: string;
}

/** A service as the page shows it. */
export interface ServiceView {
  id: string;
  name: string;
  /** `replicated`, `global`, `replicated-job`, `global-job`. */
  mode: string;
  desired: number;
  running: number;
  image: string;
  ports: PortView[];
  /** The rolling update (or rollback) in progress or last done; absent when never updated. */
  update?: { state: string; message: string; updated: number; total: number };
}

/** A task as a cell of the nodes × tasks grid. */
export interface TaskView {
  id: string;
  serviceId: string;
  serviceName: string;
  /** `name.slot` (replicated) or `name.nodeShort` (global), as `service ps` names it. */
  name: string;
  nodeId: string;
  state: TaskState;
  desiredState: TaskState;
  /** The task's error or status message (why it failed, what it waits for). */
  message: string;
  /** When its status last changed (RFC 3339). */
  since: string;
}

/** The whole picture; `at` is when it was taken (ms since the epoch). */
export interface ClusterView {
  at: number;
  /** The node serving the dashboard. */
  self: { nodeId: string; leader: boolean };
  nodes: NodeView[];
  services: ServiceView[];
  tasks: TaskView[];
}

/** What the view is built from (one consistent read of the store). */
export interface ViewInput {
  nodes: readonly Node[];
  services: readonly Service[];
  tasks: readonly Task[];
  self: { nodeId: string; leader: boolean };
  /** The Raft leader's node ID (the store does not keep it; Raft knows). */
  leaderId?: string;
  /** A manager's reachability as Raft sees it; default: as stored. */
  reachability?: (nodeId: string) => string;
}

export interface ViewOptions {
  /** The time the view is taken at (ms). */
  now: number;
  /** A failed or rejected task stays in the grid this long after it ended (ms). Default 30000. */
  recentFailureMs?: number;
}

const TERMINAL = new Set<TaskState>(['complete', 'shutdown', 'failed', 'rejected', 'remove', 'orphaned']);
const FAILED = new Set<TaskState>(['failed', 'rejected']);

/** Whether a task belongs in the grid: wanted running, still stopping, or failed a moment ago. */
function shown(t: Task, now: number, recentFailureMs: number): boolean {
  if (t.DesiredState === 'running' || t.DesiredState === 'ready') return true;
  if (!TERMINAL.has(t.Status.State)) return t.Status.State !== 'new' && t.Status.State !== 'pending';
  if (FAILED.has(t.Status.State)) return now - Date.parse(t.Status.Timestamp) <= recentFailureMs;
  return false;
}

function imageOf(s: Service): string {
  // Drop the digest pin the CLI adds: the page has little room, the tag says enough.
  return (s.Spec.TaskTemplate.ContainerSpec?.Image ?? '').replace(/@sha256:[0-9a-f]+$/, '');
}

function portsOf(s: Service): PortView[] {
  const ports = s.Endpoint?.Ports ?? s.Spec.EndpointSpec?.Ports ?? [];
  return ports.map((p) => ({ published: p.PublishedPort, target: p.TargetPort ?? 0, protocol: p.Protocol ?? 'tcp', mode: p.PublishMode ?? 'ingress' }));
}

function desiredOf(s: Service, tasks: readonly Task[]): number {
  const kind = modeKind(s.Spec.Mode);
  if (kind === 'replicated') return s.Spec.Mode?.Replicated?.Replicas ?? 0;
  if (kind === 'replicated-job') return s.Spec.Mode?.ReplicatedJob?.MaxConcurrent ?? 0;
  return tasks.filter((t) => t.DesiredState === 'running' || t.DesiredState === 'complete').length;
}

function serviceView(s: Service, tasks: readonly Task[]): ServiceView {
  const wanted = tasks.filter((t) => t.DesiredState === 'running');
  const out: ServiceView = {
    id: s.ID,
    name: s.Spec.Name,
    mode: modeKind(s.Spec.Mode),
    desired: desiredOf(s, tasks),
    running: wanted.filter((t) => t.Status.State === 'running').length,
    image: imageOf(s),
    ports: portsOf(s),
  };
  if (s.UpdateStatus) {
    const updated = wanted.filter((t) => t.Status.State === 'running' && !isTaskDirty(s, t)).length;
    out.update = { state: s.UpdateStatus.State, message: s.UpdateStatus.Message ?? '', updated, total: out.desired };
  }
  return out;
}

function taskName(t: Task, serviceName: string): string {
  if (t.Slot) return `${serviceName}.${t.Slot}`;
  return `${serviceName}.${(t.NodeID ?? '').slice(0, 12)}`;
}

/** Builds the view from one read of the store. Sorted for stable drawing: nodes by hostname, services by name, tasks by name. */
export function buildView(input: ViewInput, opts: ViewOptions): ClusterView {
  const recent = opts.recentFailureMs ?? 30_000;
  const byService = new Map<string, Task[]>();
  for (const t of input.tasks) {
    const list = byService.get(t.ServiceID);
    if (list) list.push(t);
    else byService.set(t.ServiceID, [t]);
  }
  const names = new Map(input.services.map((s) => [s.ID, s.Spec.Name]));
  const tasks: TaskView[] = input.tasks
    .filter((t) => t.NodeID && names.has(t.ServiceID) && shown(t, opts.now, recent))
    .map((t) => ({
      id: t.ID,
      serviceId: t.ServiceID,
      serviceName: names.get(t.ServiceID)!,
      name: taskName(t, names.get(t.ServiceID)!),
      nodeId: t.NodeID!,
      state: t.Status.State,
      desiredState: t.DesiredState,
      message: t.Status.Err || t.Status.Message || '',
      since: t.Status.Timestamp,
    }))
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }) || a.since.localeCompare(b.since));
  const reserved = new Map<string, { cpus: number; mem: number; tasks: number }>();
  for (const t of input.tasks) {
    if (!t.NodeID || t.DesiredState !== 'running') continue;
    const r = reserved.get(t.NodeID) ?? { cpus: 0, mem: 0, tasks: 0 };
    const res = t.Spec.Resources?.Reservations;
    r.cpus += (res?.NanoCPUs ?? 0) / 1e9;
    r.mem += res?.MemoryBytes ?? 0;
    r.tasks += 1;
    reserved.set(t.NodeID, r);
  }
  const nodes: NodeView[] = input.nodes.map((n) => {
    const r = reserved.get(n.ID);
    return {
      id: n.ID,
      hostname: n.Description?.Hostname ?? n.ID.slice(0, 12),
      role: n.Spec.Role,
      state: n.Status.State,
      availability: n.Spec.Availability,
      addr: n.Status.Addr,
      leader: input.leaderId !== undefined ? n.ID === input.leaderId : n.ManagerStatus?.Leader === true,
      reachability: n.ManagerStatus ? input.reachability?.(n.ID) ?? n.ManagerStatus.Reachability : '',
      cpus: (n.Description?.Resources?.NanoCPUs ?? 0) / 1e9,
      memoryBytes: n.Description?.Resources?.MemoryBytes ?? 0,
      reservedCpus: r?.cpus ?? 0,
      reservedMemoryBytes: r?.mem ?? 0,
      tasks: r?.tasks ?? 0,
    };
  }).sort((a, b) => a.hostname.localeCompare(b.hostname, 'en', { numeric: true }));
  const services = input.services
    .map((s) => serviceView(s, byService.get(s.ID) ?? []))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { at: opts.now, self: input.self, nodes, services, tasks };
}
