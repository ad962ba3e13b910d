/**
 * What the scheduler knows about one node while it places tasks: the node object, the
 * tasks it runs (counted per service), the resources left after their reservations,
 * and the host-mode ports they hold. Updated incrementally as tasks are assigned.
 */
import type { Node } from '../../api/types/node.ts';
import { isTerminal, type Task } from '../../api/types/task.ts';
import { genericAmounts } from '../../api/spec/host-access.ts';
import { wantsToRun } from '../../common/task-state.ts';

/** The key a host-mode published port is held under: `tcp/8080`. */
export function hostPortKey(protocol: string | undefined, port: number): string {
  return `${protocol ?? 'tcp'}/${port}`;
}

/** The host-mode published ports of a task (from its endpoint), as {@link hostPortKey}s. */
export function taskHostPorts(task: Task): string[] {
  const out: string[] = [];
  for (const p of task.Endpoint?.Ports ?? []) {
    if (p.PublishMode === 'host' && p.PublishedPort) out.push(hostPortKey(p.Protocol, p.PublishedPort));
  }
  return out;
}

export class NodeInfo {
  /** Tasks on the node that are not finished and still wanted (SwarmKit's ActiveTasksCount). */
  activeTasks = 0;
  /** Active tasks per service ID. */
  readonly byService = new Map<string, number>();
  /** Node resources minus the reservations of every unfinished task on it. May go negative. */
  availableNanoCPUs: number;
  availableMemoryBytes: number;
  /**
   * Generic resources left, by kind (`gpu` → 2): what the node advertises (discrete
   * amounts, named units counted one each) minus the reservations of unfinished tasks.
   */
  readonly availableGeneric: Map<string, number>;
  /** Host-mode ports held by unfinished tasks on the node. */
  readonly hostPorts = new Set<string>();
  /**
   * Scratch for the group being placed: active tasks of that group's service on this
   * node (mirrors `byService`, read in the hot comparison). Owned by the scheduler.
   */
  groupCount = 0;
  /** Scratch for the group being placed: recent failures of that group's service here. */
  groupFailures = 0;
  /** Failed tasks per service ID that ended at or after `failureSince` (ms); see {@link NodeInfo.addTask}. */
  readonly recentFailures = new Map<string, number>();

  constructor(readonly node: Node) {
    this.availableNanoCPUs = node.Description?.Resources?.NanoCPUs ?? 0;
    this.availableMemoryBytes = node.Description?.Resources?.MemoryBytes ?? 0;
    this.availableGeneric = genericAmounts(node.Description?.Resources?.GenericResources);
  }

  get id(): string {
    return this.node.ID;
  }

  /**
   * Accounts for a task placed on (or found on) this node. Finished tasks hold nothing
   * (a failure at or after `failureSince`, ms, is counted as recent); tasks being shut
   * down still hold their resources and ports until they finish.
   */
  addTask(task: Task, failureSince = Infinity): void {
    if (isTerminal(task.Status.State)) {
      if (failureSince !== Infinity && task.Status.State === 'failed' && Date.parse(task.Status.Timestamp) >= failureSince) {
        this.recentFailures.set(task.ServiceID, (this.recentFailures.get(task.ServiceID) ?? 0) + 1);
      }
      return;
    }
    this.hold(task);
    if (wantsToRun(task.DesiredState)) this.countActive(task.ServiceID);
  }

  /** Accounts for a task the scheduler just assigned here (active, holding its reservations and ports). */
  assign(task: Task): void {
    this.hold(task);
    this.countActive(task.ServiceID);
  }

  private countActive(serviceId: string): void {
    this.activeTasks++;
    this.byService.set(serviceId, (this.byService.get(serviceId) ?? 0) + 1);
  }

  private hold(task: Task): void {
    const r = task.Spec?.Resources?.Reservations;
    if (r) {
      this.availableNanoCPUs -= r.NanoCPUs ?? 0;
      this.availableMemoryBytes -= r.MemoryBytes ?? 0;
      for (const [kind, n] of genericAmounts(r.GenericResources)) this.availableGeneric.set(kind, (this.availableGeneric.get(kind) ?? 0) - n);
    }
    if (task.Endpoint) for (const k of taskHostPorts(task)) this.hostPorts.add(k);
  }
}
