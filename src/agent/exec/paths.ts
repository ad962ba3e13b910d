/** Where the executor keeps things. Task state is under the run-state dir (gone on reboot, like the containers); layers, upper dirs, logs and volumes under the data root. */
import { join } from 'node:path';

/** Paths of one executor (one daemon). */
export class ExecPaths {
  constructor(readonly dataRoot: string, readonly stateDir: string) {}
  /** The runtime's `--root`. */
  get runtimeRoot(): string { return join(this.stateDir, 'exec', 'runtime'); }
  /** The monitor's directory (socket, pid file, exits/). */
  get monitorDir(): string { return join(this.stateDir, 'exec', 'monitor'); }
  get tasksDir(): string { return join(this.stateDir, 'exec', 'tasks'); }
  /** Per container: record.json, bundle/, stdout/stderr FIFOs, files/ (tmpfs), etc files. */
  task(cid: string): string { return join(this.tasksDir, cid); }
  bundle(cid: string): string { return join(this.task(cid), 'bundle'); }
  files(cid: string): string { return join(this.task(cid), 'files'); }
  get containersDir(): string { return join(this.dataRoot, 'exec', 'containers'); }
  /** Per container: upper/, work/, rootfs/ (the overlay mount), logs/. */
  container(cid: string): string { return join(this.containersDir, cid); }
  rootfs(cid: string): string { return join(this.container(cid), 'rootfs'); }
  logs(cid: string): string { return join(this.container(cid), 'logs'); }
  volume(name: string): string { return join(this.dataRoot, 'volumes', name, '_data'); }
}

/** The runtime container ID of a task: its ID, restricted to the runtime's alphabet. */
export function containerIdOf(taskId: string): string {
  const id = taskId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  if (!id) throw new Error('exec: empty task id');
  return id;
}

/** Netns name the executor makes for a task that brought none. */
export function netnsNameOf(cid: string): string {
  return `shoal-${cid.slice(0, 40)}`;
}

/**
 * The executor name of a daemon: its hostname and the first 8 characters of its engine ID
 * (unique per kernel, stable per data root). The executor's cgroup parent is
 * `/shoal-<name>` (`Executor.cgroupParent`); lab teardown finds it from the same rule.
 */
export function executorName(hostname: string, engineId: string): string {
  return `${hostname}-${engineId.replace(/:/g, '').slice(0, 8).toLowerCase()}`;
}
