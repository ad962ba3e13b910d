/**
 * The I/O half of `usage.ts`: which task containers run on this node (from the executor's
 * controllers and the agent's tasks) and their counters, read from cgroups and `/proc`
 * through `agent/engine/cgroup-sample.ts`. One reading of 50 tasks is ~600 small file
 * reads (about 5 ms here): callers read at scrape or refresh time, never on a timer.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import type { Task } from '../api/types/task.ts';
import type { TaskController } from '../agent/exec/controller.ts';
import { readSample } from '../agent/engine/cgroup-sample.ts';
import { systemCpu } from '../agent/engine/stats.ts';
import { containerName } from '../agent/engine/view.ts';
import { usageOf, type TaskIdentity, type TaskUsage } from './usage.ts';

/** Where a node's running task containers come from (the daemon's executor and agent). */
export interface UsageSource {
  /** The executor's controllers; empty before the node ran any task. */
  containers(): Pick<TaskController, 'cid' | 'spec' | 'state' | 'record'>[];
  /** The agent's tasks (for names); empty outside a swarm. */
  tasks(): { task: Task }[];
}

/** A running container to read: its init PID and identity. */
export interface UsageTarget { pid: number; id: TaskIdentity }

/** The running task containers of `src` with their identity. */
export function usageTargets(src: UsageSource): UsageTarget[] {
  const tasks = new Map(src.tasks().map((t) => [t.task.ID, t.task]));
  const out: UsageTarget[] = [];
  for (const c of src.containers()) {
    const pid = c.record?.pid;
    if (c.state !== 'running' || !pid) continue;
    const labels = c.spec.labels ?? {};
    const task = tasks.get(c.spec.taskId);
    out.push({
      pid,
      id: {
        taskId: c.spec.taskId,
        taskName: containerName({ cid: c.cid, task, spec: c.spec }),
        serviceId: task?.ServiceID ?? labels['com.docker.swarm.service.id'] ?? '',
        serviceName: task?.ServiceAnnotations?.Name ?? labels['com.docker.swarm.service.name'] ?? '',
        nodeId: task?.NodeID ?? labels['com.docker.swarm.node.id'] ?? '',
        containerId: c.cid,
        cgroup: c.record?.cgroup ?? '',
        image: c.spec.image ?? '',
        cpuLimitNanos: c.spec.resources?.nanoCpus ?? 0,
      },
    });
  }
  return out;
}

/** Reads every target once; containers that exited meanwhile are left out. */
export function readTaskUsages(targets: UsageTarget[], now: () => Date = () => new Date()): TaskUsage[] {
  const out: TaskUsage[] = [];
  for (const t of targets) {
    const s = readSample(t.pid, now);
    if (s) out.push(usageOf(s, t.id));
  }
  return out;
}

/** The host's CPU time (seconds, all CPUs), CPU count and memory, read now. */
export function readHost(now: () => number = Date.now): { at: number; cpuSeconds: number; cpus: number; memoryTotalBytes: number; memoryUsedBytes: number } {
  let stat = '';
  let meminfo = '';
  try { stat = readFileSync('/proc/stat', 'utf8'); } catch { /* not Linux: zeros */ }
  try { meminfo = readFileSync('/proc/meminfo', 'utf8'); } catch { /* idem */ }
  const cpu = systemCpu(stat);
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? 0) * 1024;
  const total = kb('MemTotal') || totalmem();
  const available = kb('MemAvailable');
  // /proc/stat counts idle time too (systemCpu sums user…steal): busy = all − idle − iowait.
  const f = (stat.split('\n').find((l) => l.startsWith('cpu ')) ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const busyTicks = f.length >= 8 ? f[0] + f[1] + f[2] + f[5] + f[6] + f[7] : 0;
  return { at: now(), cpuSeconds: busyTicks / 100, cpus: cpu.online || availableParallelism(), memoryTotalBytes: total, memoryUsedBytes: available ? total - available : 0 };
}
