/**
 * Shoal's resource usage documents (an extension; Docker has per-container stats only):
 * `GET /shoal/stats` on a manager gathers every node's task usage. `shoal service stats`,
 * `shoal node stats` and the dashboard read these shapes.
 */

/** Which task container a usage figure belongs to (the labels and columns every reading carries). */
export interface TaskUsageRef {
  taskId: string;
  /** Docker's container name `SERVICE.SLOT.TASKID`. */
  taskName: string;
  serviceId: string;
  serviceName: string;
  nodeId: string;
  /** The runtime container ID. */
  containerId: string;
}

/** One task container's usage now, with rates since the node's previous reading. */
export interface TaskUsageRate extends TaskUsageRef {
  /** CPU use, percent of one CPU (100 = one full core, as `docker stats`). */
  cpuPercent: number;
  /** The task's CPU limit in the same unit; 0 when it has none. */
  cpuLimitPercent: number;
  /** Working set (usage minus inactive page cache), bytes. */
  memoryBytes: number;
  /** Memory limit, bytes (the host's memory when the task has none). */
  memoryLimitBytes: number;
  /** Network bytes since the container started, all interfaces but loopback. */
  rxBytes: number;
  txBytes: number;
  rxBytesPerSec: number;
  txBytesPerSec: number;
  pids: number;
  /**
   * New TCP connections the task accepted per second (its network namespace's
   * `Tcp: PassiveOpens`, whatever the path: VIP, routing mesh or direct); absent from
   * nodes that do not count them.
   */
  connectionsPerSec?: number;
  /** When it was read, ms since the epoch. */
  at: number;
}

/** Totals over the tasks of one service or one node. */
export interface UsageGroup {
  /** Service ID or node ID. */
  id: string;
  /** Service name, or node ID for a node group (the report's `nodes` carry host names). */
  name: string;
  /** Task containers running and measured. */
  tasks: number;
  cpuPercent: number;
  memoryBytes: number;
  rxBytesPerSec: number;
  txBytesPerSec: number;
  rxBytes: number;
  txBytes: number;
}

/** One node's answer: its running tasks and the host's capacity. */
export interface NodeUsage {
  nodeId: string;
  hostname: string;
  /** CPUs of the host. */
  cpus: number;
  memoryTotalBytes: number;
  /** Host memory in use (total minus available), bytes. */
  memoryUsedBytes: number;
  /** Host CPU use since the node's previous reading, percent of one CPU. */
  cpuPercent: number;
  tasks: TaskUsageRate[];
  at: number;
}

/** `GET /shoal/stats`: every node's usage, plus the nodes that did not answer. */
export interface StatsReport {
  nodes: NodeUsage[];
  /** Nodes that did not answer in time (ID → reason). */
  unreachable: Record<string, string>;
  /** Desired / running task counts per service, from the managers' store. */
  services: { id: string; name: string; desired: number; running: number }[];
}
