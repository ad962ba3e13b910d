/**
 * Scheduler filters: small units with one interface, each deciding whether a task may
 * run on a node and explaining a refusal in Docker's words (SwarmKit
 * `manager/scheduler/filter.go` is the model; this is our own code).
 */
import type { Platform } from '../../api/types/common.ts';
import type { Task } from '../../api/types/task.ts';
import { nodeMatches, parseConstraints, type Constraint } from '../../api/spec/constraint.ts';
import { taskHostPorts, type NodeInfo } from './node-info.ts';
import { genericAmounts } from '../../api/spec/host-access.ts';

/** One placement rule. `setTask` is called once per task group, then `check` per node. */
export interface Filter {
  /** Prepares for `task`; returns false when the filter does not apply to it (then `check` is not called). */
  setTask(task: Task): boolean;
  /** Whether the prepared task may be placed on `node` now. */
  check(node: NodeInfo): boolean;
  /** Docker's explanation of a refusal on `nodes` nodes (`insufficient resources on 2 nodes`). */
  explain(nodes: number): string;
}

const plural = (n: number, what: string): string => `${what} on ${n} ${n === 1 ? 'node' : 'nodes'}`;

/** The node reports ready (its agent is connected). */
export class ReadyFilter implements Filter {
  setTask(): boolean {
    return true;
  }
  check(n: NodeInfo): boolean {
    return n.node.Status?.State === 'ready';
  }
  explain(nodes: number): string {
    return `${nodes} ${nodes === 1 ? 'node' : 'nodes'} not available for new tasks`;
  }
}

/** The node's availability is active (not paused, not drained). Explained as Docker does, with readiness. */
export class AvailabilityFilter extends ReadyFilter {
  override check(n: NodeInfo): boolean {
    return n.node.Spec?.Availability === 'active';
  }
}

/** The node has the task's CPU, memory and generic resource reservations left. */
export class ResourceFilter implements Filter {
  private cpu = 0;
  private mem = 0;
  private generic = new Map<string, number>();
  setTask(t: Task): boolean {
    const r = t.Spec?.Resources?.Reservations;
    this.cpu = r?.NanoCPUs ?? 0;
    this.mem = r?.MemoryBytes ?? 0;
    this.generic = genericAmounts(r?.GenericResources);
    return this.cpu > 0 || this.mem > 0 || this.generic.size > 0;
  }
  check(n: NodeInfo): boolean {
    if (this.cpu > n.availableNanoCPUs || this.mem > n.availableMemoryBytes) return false;
    // A kind the node does not advertise counts as none: such a task waits for a node that has it.
    for (const [kind, need] of this.generic) if (need > (n.availableGeneric.get(kind) ?? 0)) return false;
    return true;
  }
  explain(nodes: number): string {
    return plural(nodes, 'insufficient resources');
  }
}

/** The node satisfies the task's placement constraints. Constraints that do not parse were refused at validation and are ignored here. */
export class ConstraintFilter implements Filter {
  private constraints: Constraint[] = [];
  private lastSource: readonly string[] | undefined;
  setTask(t: Task): boolean {
    const src = t.Spec?.Placement?.Constraints;
    if (!src || src.length === 0) return false;
    if (src !== this.lastSource) {
      try {
        this.constraints = parseConstraints(src);
      } catch {
        return false;
      }
      this.lastSource = src;
    }
    return true;
  }
  check(n: NodeInfo): boolean {
    return nodeMatches(this.constraints, n.node);
  }
  explain(nodes: number): string {
    return plural(nodes, 'scheduling constraints not satisfied');
  }
}

function normArch(a: string): string {
  return a === 'x86_64' ? 'amd64' : a === 'aarch64' ? 'arm64' : a;
}

/** The node's OS and architecture are among the task's platforms (when it lists any). */
export class PlatformFilter implements Filter {
  private platforms: Platform[] = [];
  setTask(t: Task): boolean {
    this.platforms = t.Spec?.Placement?.Platforms ?? [];
    return this.platforms.length > 0;
  }
  check(n: NodeInfo): boolean {
    const p = n.node.Description?.Platform;
    if (!p) return false;
    return this.platforms.some((w) => (!w.Architecture || normArch(w.Architecture) === normArch(p.Architecture)) && (!w.OS || w.OS === p.OS));
  }
  explain(nodes: number): string {
    return plural(nodes, 'unsupported platform');
  }
}

/** No unfinished task on the node holds one of the task's host-mode published ports. */
export class HostPortFilter implements Filter {
  private ports: string[] = [];
  setTask(t: Task): boolean {
    this.ports = taskHostPorts(t);
    return this.ports.length > 0;
  }
  check(n: NodeInfo): boolean {
    for (const p of this.ports) if (n.hostPorts.has(p)) return false;
    return true;
  }
  explain(nodes: number): string {
    return plural(nodes, 'host-mode port already in use');
  }
}

/** The node runs fewer than `Placement.MaxReplicas` tasks of the task's service. */
export class MaxReplicasFilter implements Filter {
  private max = 0;
  private service = '';
  setTask(t: Task): boolean {
    this.max = t.Spec?.Placement?.MaxReplicas ?? 0;
    this.service = t.ServiceID;
    return this.max > 0;
  }
  check(n: NodeInfo): boolean {
    return (n.byService.get(this.service) ?? 0) < this.max;
  }
  explain(): string {
    return 'max replicas per node limit exceed';
  }
}

/** The default pipeline, cheapest and most selective first, as SwarmKit orders it. */
export function defaultFilters(): Filter[] {
  return [new ReadyFilter(), new AvailabilityFilter(), new ResourceFilter(), new ConstraintFilter(), new PlatformFilter(), new HostPortFilter(), new MaxReplicasFilter()];
}
