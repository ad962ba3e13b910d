/**
 * What the executor needs to run one task: the container part of a task spec,
 * resolved by the agent (secrets and configs carry their payloads). Durations are
 * milliseconds, sizes bytes. The agent maps Swarm's `ContainerSpec` onto this.
 */

/** One mount of a task. */
export interface TaskMount {
  /** `bind`: a host path; `volume`: a named local volume kept in the data root; `tmpfs`. */
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind) or volume name (volume); unused for tmpfs. */
  source?: string;
  /** Absolute path inside the container. */
  target: string;
  readOnly?: boolean;
  /** tmpfs size in bytes; default unlimited (kernel default: half of RAM). */
  tmpfsSize?: number;
  /** tmpfs mode, default 0o1777. */
  tmpfsMode?: number;
  /** volume: labels and local driver options the volume gets if this mount makes it (Docker's VolumeOptions). */
  volumeLabels?: Record<string, string>;
  volumeDriverOptions?: Record<string, string>;
  /** volume: do not fill an empty volume with the image's content at `target` (Docker's copy-up; `volume-nocopy`). */
  volumeNoCopy?: boolean;
}

/** A secret or config file: payload plus where and how it appears in the container. */
export interface TaskFile {
  name: string;
  data: Buffer;
  /** Absolute path, or a bare name under `/run/secrets/` (secrets) or `/` (configs). */
  target: string;
  /** Default 0. */
  uid?: number;
  /** Default 0. */
  gid?: number;
  /** Default 0o444. */
  mode?: number;
}

/** Docker's HealthConfig, in milliseconds. */
export interface HealthCheck {
  /** `['CMD', argv…]`, `['CMD-SHELL', script]` or `['NONE']`. */
  test: string[];
  /** Default 30 000. */
  intervalMs?: number;
  /** Default 30 000. */
  timeoutMs?: number;
  /** Consecutive failures to become unhealthy; default 3. */
  retries?: number;
  /** Failures inside this window after start do not count; default 0. */
  startPeriodMs?: number;
}

/** A ulimit: `nofile`, `nproc`, … */
export interface Ulimit { name: string; soft: number; hard: number }

/** A host device given to the task (`--device HOST[:CONTAINER[:rwm]]`). */
export interface TaskDevice {
  /** Absolute path of a character or block device on the node. */
  hostPath: string;
  /** Path inside the container; default {@link hostPath}. */
  containerPath?: string;
  /** Device cgroup access, a subset of `rwm`; default `rwm`. */
  permissions?: string;
}

/** Resource limits, applied through `linux.resources` under the daemon's cgroup parent. */
export interface TaskResources {
  /** CPUs × 1e9 (Docker's NanoCPUs). */
  nanoCpus?: number;
  memoryBytes?: number;
  pidsLimit?: number;
}

/** The container part of a task, as the executor consumes it. */
export interface TaskContainerSpec {
  /** Task ID; the container ID derives from it. */
  taskId: string;
  /** Image reference or ID; it must be present (pulled or loaded) before prepare. */
  image: string;
  /** Replaces the image's Entrypoint when set (Swarm's `Command`). */
  command?: string[];
  /** Replaces the image's Cmd when set (Swarm's `Args`). */
  args?: string[];
  /** `KEY=value`; overrides image variables of the same name. */
  env?: string[];
  /** `user`, `uid`, `user:group`, `uid:gid`. */
  user?: string;
  /** Working directory; default the image's or `/`. */
  dir?: string;
  hostname?: string;
  readOnly?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  /** Shoal's privileged mode: all capabilities, no seccomp/AppArmor/masked paths (see sandbox.ts). */
  privileged?: boolean;
  /** Default `default` (Docker's profile); `custom` uses {@link seccompProfile}. */
  seccompMode?: 'default' | 'unconfined' | 'custom';
  /** A Docker-format seccomp profile (JSON text, or base64 of it) for `seccompMode: 'custom'`. */
  seccompProfile?: string;
  /** Default `default` (the host's docker-default profile when loaded). */
  apparmorMode?: 'default' | 'disabled';
  /** Sets no_new_privs on the container's process; default false, as Docker. */
  noNewPrivileges?: boolean;
  sysctls?: Record<string, string>;
  ulimits?: Ulimit[];
  /** Host devices made in the task's /dev and allowed in its device cgroup. */
  devices?: TaskDevice[];
  /** Size of /dev/shm in bytes; default 64 MiB (Docker's). */
  shmSize?: number;
  /** Run the host's static tini as PID 1 in front of the task's process (`--init`). */
  init?: boolean;
  labels?: Record<string, string>;
  mounts?: TaskMount[];
  resources?: TaskResources;
  /** Default `SIGTERM` (or the image's StopSignal). */
  stopSignal?: string;
  /** Default 10 000. */
  stopGracePeriodMs?: number;
  healthcheck?: HealthCheck;
  secrets?: TaskFile[];
  configs?: TaskFile[];
  /** Path of the network namespace to join; absent: the executor makes one with `lo` up. */
  netnsPath?: string;
  /** Extra `/etc/hosts` lines (`IP name…`). */
  hosts?: string[];
  /** The task's `/etc/resolv.conf`; absent: the host's, without loopback nameservers. */
  resolvConf?: string;
  /**
   * The process gets a terminal (`docker run -t`, standalone containers only): runc sends
   * its master to `<task dir>/console.sock`, where someone must listen before start.
   */
  tty?: boolean;
  /**
   * Swarm tasks: `prepare` also creates the runtime container (`runc create`: namespaces,
   * mounts, cgroups; its process waits) in the background, as soon as the netns exists, so
   * `start` is only `runc start`. Not with `tty` (the console socket is listened on just
   * before start) nor with `net.*` sysctls (written at create: they must follow the task's
   * interfaces), nor for standalone containers (their stdin FIFO and bridge are made at start).
   */
  createEarly?: boolean;
}

/** How a container ended. */
export interface ExitStatus {
  /** Exit code; 128 + signal when killed by a signal; -1 when unknown (exited while no monitor watched). */
  exitCode: number;
  /** The kernel's OOM killer killed a process of the task. */
  oomKilled: boolean;
  /** Signal name when killed by a signal. */
  signal?: string;
}

/** The image config fields the executor uses (OCI image config `config`). */
export interface ImageRunConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  User?: string;
  WorkingDir?: string;
  StopSignal?: string;
  Labels?: Record<string, string> | null;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; Retries?: number; StartPeriod?: number };
}
