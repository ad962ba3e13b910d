/**
 * One task container of this node as the Docker-compatible engine API sees it: the
 * executor's record joined with the agent's task (service, slot, networks). Pure
 * helpers: the Docker name `SERVICE.SLOT.TASKID`, the Docker state word and the
 * `docker ps` status text.
 */
import type { Task } from '../../api/types/task.ts';
import type { ContainerState, TaskRecord } from '../exec/controller.ts';
import type { TaskContainerSpec } from '../exec/types.ts';

/** The process the container runs, as its OCI bundle has it. */
export interface BundleProcess {
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids?: number[] };
  capabilities?: Record<string, string[]>;
  apparmorProfile?: string;
  noNewPrivileges?: boolean;
  rlimits?: unknown[];
}

/** A task container joined from the executor and the agent. */
export interface ContainerView {
  /** The runtime container ID (derived from the task ID). */
  cid: string;
  spec: TaskContainerSpec;
  state: ContainerState;
  record?: TaskRecord;
  /** The agent's task; undefined when the agent no longer knows it. */
  task?: Task;
  /** The bundle's process (undefined before prepare). */
  process?: BundleProcess;
  /** Absolute path of the rootfs, upper dir and log file (inspect's GraphDriver and LogPath). */
  paths: { rootfs: string; upper: string; work: string; logFile: string; hosts: string; hostname: string; resolvConf: string };
  health?: { status: string; failingStreak: number };
  /** Exec session IDs of this container. */
  execIds: string[];
  /** The Docker name of a standalone container (`docker run --name`); undefined for task containers. */
  name?: string;
  /** A standalone container's network (`bridge`, `host`, `none`), for `ps --filter network=`. */
  standaloneNetworks?: string[];
}

/** Docker's container name of a task: `SERVICE.SLOT.TASKID` (global services: `SERVICE.NODEID.TASKID`). */
export function containerName(v: Pick<ContainerView, 'cid' | 'task' | 'spec'> & { name?: string }): string {
  if (v.name) return v.name;
  const t = v.task;
  const labels = v.spec.labels ?? {};
  const service = t?.ServiceAnnotations?.Name ?? labels['com.docker.swarm.service.name'];
  if (!service) return v.cid;
  const slot = t?.Slot ? String(t.Slot) : (t?.NodeID ?? labels['com.docker.swarm.node.id'] ?? '0');
  return `${service}.${slot}.${v.spec.taskId}`;
}

/** The Docker labels of a task container: its spec's plus `com.docker.swarm.task.name`. */
export function containerLabels(v: Pick<ContainerView, 'cid' | 'task' | 'spec'> & { name?: string }): Record<string, string> {
  const labels = { ...(v.spec.labels ?? {}) };
  const name = containerName(v);
  if (name !== v.cid && !v.name) labels['com.docker.swarm.task.name'] = name;
  if (v.task?.ServiceAnnotations?.Name) labels['com.docker.swarm.service.name'] = v.task.ServiceAnnotations.Name;
  return labels;
}

/** Docker's state word: created, running, exited (`removed` reads as `removing`). */
export function dockerState(s: ContainerState): 'created' | 'running' | 'exited' | 'removing' {
  if (s === 'running') return 'running';
  if (s === 'exited') return 'exited';
  if (s === 'removed') return 'removing';
  return 'created';
}

/** Docker's `units.HumanDuration` (`About a minute`, `3 hours`, …). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(m / 60);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** The `STATUS` column of `docker ps`: `Created`, `Up 5 minutes (healthy)`, `Exited (137) 2 seconds ago`. */
export function statusText(v: Pick<ContainerView, 'state' | 'record' | 'health'>, now: number): string {
  const r = v.record;
  switch (v.state) {
    case 'running': {
      const up = humanDuration(now - Date.parse(r?.startedAt ?? new Date(now).toISOString()));
      const h = v.health?.status;
      return `Up ${up}${h === 'starting' ? ' (health: starting)' : h ? ` (${h})` : ''}`;
    }
    case 'exited':
    case 'removed': {
      const ago = humanDuration(now - Date.parse(r?.finishedAt ?? new Date(now).toISOString()));
      return `Exited (${r?.exit?.exitCode ?? -1}) ${ago} ago`;
    }
    default:
      return 'Created';
  }
}
