/** The Service object (`/services`) and its spec, in Docker's shape (API v1.41). */
import type { Annotations, Driver, Meta, Platform } from './common.ts';

export interface Mount {
  Type: 'bind' | 'volume' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: Driver };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface HealthConfig {
  /** `["NONE"]` disables; `["CMD", …]` or `["CMD-SHELL", "…"]`. */
  Test?: string[];
  /** Nanoseconds, as Docker. */
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

export interface FileReference {
  Name: string;
  UID: string;
  GID: string;
  Mode: number;
}

export interface SecretReference {
  File?: FileReference;
  SecretID: string;
  SecretName: string;
}

export interface ConfigReference {
  File?: FileReference;
  ConfigID: string;
  ConfigName: string;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/** A host device given to a task (Docker's `DeviceMapping`). */
export interface DeviceMapping {
  /** Absolute path of a character or block device on the node. */
  PathOnHost: string;
  /** Where it appears in the task; default the host path. */
  PathInContainer?: string;
  /** Cgroup access: a non-empty subset of `rwm` (read, write, mknod); default `rwm`. */
  CgroupPermissions?: string;
}

export interface ContainerSpec {
  Image: string;
  Labels?: Record<string, string>;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  Env?: string[];
  Dir?: string;
  User?: string;
  Groups?: string[];
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: Mount[];
  StopSignal?: string;
  /** Nanoseconds (default 10 s). */
  StopGracePeriod?: number;
  Healthcheck?: HealthConfig;
  Hosts?: string[];
  DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
  Secrets?: SecretReference[];
  Configs?: ConfigReference[];
  Init?: boolean;
  Sysctls?: Record<string, string>;
  CapabilityAdd?: string[];
  CapabilityDrop?: string[];
  Ulimits?: Ulimit[];
  /**
   * Shoal extension (Docker's service API has none; `docker run --device`'s shape): host
   * devices made in the task's /dev and allowed in its device cgroup. See host-access.ts.
   */
  Devices?: DeviceMapping[];
  /** Shoal extension: size of the task's /dev/shm in bytes (`docker run --shm-size`); default 64 MiB. */
  ShmSize?: number;
  /** Sandbox settings; see src/api/spec/privileges.ts for what is accepted. */
  Privileges?: Privileges;
}

/**
 * Docker's `ContainerSpec.Privileges`, plus Shoal's `Privileged` extension. Credential
 * specs and SELinux labels are refused when non-empty (Shoal applies neither).
 */
export interface Privileges {
  CredentialSpec?: { Config?: string; File?: string; Registry?: string } | null;
  SELinuxContext?: { Disable?: boolean; User?: string; Role?: string; Type?: string; Level?: string } | null;
  /** `default` (Docker's profile), `unconfined` (none), `custom` (Profile: base64 of the profile JSON). */
  Seccomp?: { Mode?: 'default' | 'unconfined' | 'custom' | ''; Profile?: string } | null;
  /** `default`: the host's docker-default profile when loaded; `disabled`: none. */
  AppArmor?: { Mode?: 'default' | 'disabled' | '' } | null;
  /** Sets the process's no_new_privs bit (default false, as Docker). */
  NoNewPrivileges?: boolean;
  /**
   * Shoal extension (not in Docker's API): run the task like `docker run --privileged`:
   * every capability, no seccomp, AppArmor, masked or read-only paths, /sys and cgroups
   * writable, every device allowed in the device cgroup. Default false.
   */
  Privileged?: boolean;
}

export interface Resources {
  NanoCPUs?: number;
  MemoryBytes?: number;
  Pids?: number;
  /** Reservations only: node-advertised resources a task takes (`--generic-resource gpu=1`); discrete only. */
  GenericResources?: GenericResource[];
}

/**
 * Docker's `GenericResources` element: a named resource (one unit with an ID, `gpu=GPU-3f1c`)
 * or a discrete amount (`gpu=2`). Nodes advertise either; tasks reserve discrete amounts.
 */
export interface GenericResource {
  NamedResourceSpec?: { Kind: string; Value: string };
  DiscreteResourceSpec?: { Kind: string; Value: number };
}

export interface ResourceRequirements {
  Limits?: Resources;
  Reservations?: Resources;
}

export interface RestartPolicy {
  Condition?: 'none' | 'on-failure' | 'any';
  /** Nanoseconds. */
  Delay?: number;
  MaxAttempts?: number;
  Window?: number;
}

export interface Placement {
  Constraints?: string[];
  Preferences?: { Spread: { SpreadDescriptor: string } }[];
  MaxReplicas?: number;
  Platforms?: Platform[];
}

export interface NetworkAttachmentConfig {
  Target: string;
  Aliases?: string[];
  DriverOpts?: Record<string, string>;
}

export interface TaskSpec {
  ContainerSpec: ContainerSpec;
  Resources?: ResourceRequirements;
  RestartPolicy?: RestartPolicy;
  Placement?: Placement;
  Networks?: NetworkAttachmentConfig[];
  LogDriver?: Driver;
  /** Incremented to force a redeploy without other changes (`service update --force`). */
  ForceUpdate?: number;
  Runtime?: string;
  /**
   * A network attachment task (Docker's): the endpoint of a standalone container on an
   * attachable overlay. Such a task has no service; the agent runs no container for it,
   * only makes its netns (see `src/swarm/attachment-tasks.ts`).
   */
  NetworkAttachmentSpec?: { ContainerID: string };
}

export interface ServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Record<string, never>;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Record<string, never>;
}

export interface UpdateConfig {
  Parallelism?: number;
  /** Nanoseconds. */
  Delay?: number;
  FailureAction?: 'continue' | 'pause' | 'rollback';
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: 'stop-first' | 'start-first';
}

export interface PortConfig {
  Name?: string;
  Protocol?: 'tcp' | 'udp' | 'sctp';
  TargetPort: number;
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
}

export interface EndpointSpec {
  Mode?: 'vip' | 'dnsrr';
  Ports?: PortConfig[];
}

export interface Endpoint {
  Spec: EndpointSpec;
  Ports?: PortConfig[];
  VirtualIPs?: { NetworkID: string; Addr: string }[];
}

export interface ServiceSpec extends Annotations {
  TaskTemplate: TaskSpec;
  Mode?: ServiceMode;
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  /** Deprecated in Docker in favour of TaskTemplate.Networks, still accepted. */
  Networks?: NetworkAttachmentConfig[];
  EndpointSpec?: EndpointSpec;
}

export interface UpdateStatus {
  State: 'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';
  StartedAt?: string;
  CompletedAt?: string;
  Message: string;
  /**
   * Shoal extension (docker clients ignore it): `promoted` once the canary of this update
   * was promoted, by itself or by `POST /services/{id}/promote`; absent otherwise.
   */
  ShoalCanary?: 'promoted';
}

export interface ServiceStatus {
  RunningTasks: number;
  DesiredTasks: number;
  CompletedTasks: number;
}

export interface Service extends Meta {
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  Endpoint?: Endpoint;
  UpdateStatus?: UpdateStatus;
  ServiceStatus?: ServiceStatus;
  JobStatus?: { JobIteration: { Index: number }; LastExecution?: string };
  /**
   * Shoal extension (docker clients ignore it): the autoscaler's last change of this
   * service (`com.shoal.autoscale.*` labels): replicas set, why, and when.
   */
  ShoalAutoscale?: { Replicas: number; Reason: string; At: string };
}
