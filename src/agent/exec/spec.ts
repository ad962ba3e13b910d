/**
 * The OCI runtime spec (`config.json`) of a task: the image config merged with the
 * task's container spec. Pure: the caller resolves paths (rootfs, volumes, secret
 * files, netns) and the user (from the image's /etc/passwd) and passes them in.
 */
import { posix } from 'node:path';
import { sandboxSpec, type SandboxHost } from './sandbox.ts';
import type { ImageRunConfig, TaskContainerSpec, TaskMount, Ulimit } from './types.ts';
import { INIT_PATH, type OciDevice } from './devices.ts';
import type { ResolvedUser } from './users.ts';
import { SpecError } from './spec-error.ts';

export { SpecError } from './spec-error.ts';

export { DEFAULT_CAPS, capabilities } from './sandbox.ts';

/** Host facts used when none are given (tests): x86-64, a recent kernel, no AppArmor. */
const GENERIC_HOST: SandboxHost = { arch: 'amd64', kernelRelease: '6.1' };

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';


/** Everything outside the two specs that the config needs. */
export interface SpecContext {
  /** Container ID (runc ID). */
  containerId: string;
  /** Absolute rootfs path (the overlay mount point). */
  rootfs: string;
  /** `/shoal-<daemon>/<containerId>`. */
  cgroupsPath: string;
  /** The network namespace to join. */
  netnsPath: string;
  user: ResolvedUser;
  /** Host path of a named volume's data directory. */
  volumePath: (name: string) => string;
  /** Secret/config files on the task tmpfs: host path → container target. */
  files: { hostPath: string; target: string }[];
  /** Host paths of the generated /etc/hosts, /etc/hostname, /etc/resolv.conf. */
  etcFiles?: { hosts?: string; hostname?: string; resolvConf?: string };
  /** Architecture, kernel and AppArmor profile the sandbox is built for; default a generic x86-64 host without AppArmor. */
  host?: SandboxHost;
  /** The task's devices, resolved on the host (devices.ts `ociDevices`); required when the task has any. */
  devices?: OciDevice[];
  /** Host path of the static init binary (devices.ts `findInit`); required when the task asks for an init. */
  initPath?: string;
}

/** The CFS period and quota (µs) of `nanoCpus` CPUs × 1e9; the quota at least 1 ms, the kernel's floor. */
export function cpuLimit(nanoCpus: number): { period: number; quota: number } {
  return { period: 100000, quota: Math.max(1000, Math.round((nanoCpus * 100000) / 1e9)) };
}

/** Swarm's rules: `command` replaces Entrypoint (and drops the image Cmd), `args` replaces Cmd. */
export function processArgs(image: ImageRunConfig, task: Pick<TaskContainerSpec, 'command' | 'args'>): string[] {
  const entry = task.command?.length ? task.command : (image.Entrypoint ?? []);
  const cmd = task.args?.length ? task.args : task.command?.length ? [] : (image.Cmd ?? []);
  const argv = [...entry, ...cmd];
  if (argv.length === 0) throw new SpecError('no command specified');
  return argv;
}

/** Image env, then task env (same key overrides), then PATH and HOSTNAME defaults. */
export function mergeEnv(imageEnv: string[] | null | undefined, taskEnv: string[] | undefined, hostname: string): string[] {
  const m = new Map<string, string>();
  for (const kv of [...(imageEnv ?? []), ...(taskEnv ?? [])]) {
    const eq = kv.indexOf('=');
    m.set(eq < 0 ? kv : kv.slice(0, eq), kv);
  }
  if (!m.has('PATH')) m.set('PATH', DEFAULT_PATH);
  if (!m.has('HOSTNAME')) m.set('HOSTNAME', `HOSTNAME=${hostname}`);
  return [...m.values()];
}

function ociMount(m: TaskMount, ctx: SpecContext): Record<string, unknown> {
  if (!posix.isAbsolute(m.target)) throw new SpecError(`mount target must be absolute: ${m.target}`);
  const ro = m.readOnly ? ['ro'] : ['rw'];
  switch (m.type) {
    case 'bind':
      if (!m.source || !posix.isAbsolute(m.source)) throw new SpecError(`bind source must be an absolute host path: ${m.source}`);
      return { destination: m.target, type: 'bind', source: m.source, options: ['rbind', 'rprivate', ...ro] };
    case 'volume':
      if (!m.source || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(m.source)) throw new SpecError(`bad volume name: ${m.source}`);
      return { destination: m.target, type: 'bind', source: ctx.volumePath(m.source), options: ['rbind', 'rprivate', ...ro] };
    case 'tmpfs': {
      const opts = ['nosuid', 'nodev', ...ro, `mode=${(m.tmpfsMode ?? 0o1777).toString(8)}`];
      if (m.tmpfsSize) opts.push(`size=${m.tmpfsSize}`);
      return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options: opts };
    }
    default:
      throw new SpecError(`unknown mount type ${(m as TaskMount).type}`);
  }
}

function rlimits(ulimits: Ulimit[] = []): { type: string; soft: number; hard: number }[] {
  const m = new Map<string, { type: string; soft: number; hard: number }>();
  for (const u of ulimits) {
    const type = `RLIMIT_${u.name.toUpperCase()}`;
    m.set(type, { type, soft: u.soft, hard: u.hard });
  }
  return [...m.values()];
}

/** The hostname a task gets: its own or the first 12 characters of its container ID. */
export function taskHostname(task: TaskContainerSpec, containerId: string): string {
  return task.hostname || containerId.slice(0, 12);
}

/** Builds the OCI runtime spec (runtime-spec 1.0.2) for `task` on top of `image`. */
export function buildSpec(image: ImageRunConfig, task: TaskContainerSpec, ctx: SpecContext): Record<string, any> {
  const hostname = taskHostname(task, ctx.containerId);
  const sb = sandboxSpec(task, ctx.host ?? GENERIC_HOST);
  const sysOpts = sb.privileged ? ['rw'] : ['ro'];
  const mounts: Record<string, unknown>[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', task.shmSize ? `size=${task.shmSize}` : 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...sysOpts] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', ...sysOpts] },
  ];
  const etc = ctx.etcFiles ?? {};
  if (etc.hosts) mounts.push({ destination: '/etc/hosts', type: 'bind', source: etc.hosts, options: ['rbind', 'rprivate', 'rw'] });
  if (etc.hostname) mounts.push({ destination: '/etc/hostname', type: 'bind', source: etc.hostname, options: ['rbind', 'rprivate', 'rw'] });
  if (etc.resolvConf) mounts.push({ destination: '/etc/resolv.conf', type: 'bind', source: etc.resolvConf, options: ['rbind', 'rprivate', 'rw'] });
  for (const m of task.mounts ?? []) mounts.push(ociMount(m, ctx));
  for (const f of ctx.files) mounts.push({ destination: f.target, type: 'bind', source: f.hostPath, options: ['rbind', 'rprivate', 'ro'] });
  if (task.init) {
    if (!ctx.initPath) throw new SpecError('the task asks for an init but none was resolved on this node');
    mounts.push({ destination: INIT_PATH, type: 'bind', source: ctx.initPath, options: ['rbind', 'rprivate', 'ro'] });
  }
  if (task.devices?.length && ctx.devices?.length !== task.devices.length) throw new SpecError('the task\'s devices were not resolved on this node');
  const devices = ctx.devices ?? [];

  const res = task.resources ?? {};
  // Privileged: every device may be opened (nodes still have to exist; none are copied from the host).
  // Then one allow rule per device the task was given (runc adds its default set: null, zero, tty, …).
  const resources: Record<string, any> = { devices: [{ allow: sb.privileged, access: 'rwm' }, ...devices.map((d) => d.rule)] };
  if (res.memoryBytes) resources.memory = { limit: res.memoryBytes };
  if (res.nanoCpus) resources.cpu = cpuLimit(res.nanoCpus);
  if (res.pidsLimit) resources.pids = { limit: res.pidsLimit };

  const annotations: Record<string, string> = { ...(image.Labels ?? {}), ...(task.labels ?? {}), 'io.shoal.task.id': task.taskId };
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: !!task.tty,
      user: { uid: ctx.user.uid, gid: ctx.user.gid, ...(ctx.user.additionalGids.length ? { additionalGids: ctx.user.additionalGids } : {}) },
      // tini reaps zombies and forwards signals; `--` so the task's own flags are not tini's.
      args: task.init ? [INIT_PATH, '--', ...processArgs(image, task)] : processArgs(image, task),
      env: mergeEnv(image.Env, task.env, hostname),
      cwd: task.dir || image.WorkingDir || '/',
      capabilities: sb.capabilities,
      rlimits: rlimits(task.ulimits),
      noNewPrivileges: sb.noNewPrivileges,
      ...(sb.apparmorProfile ? { apparmorProfile: sb.apparmorProfile } : {}),
    },
    root: { path: ctx.rootfs, readonly: !!task.readOnly },
    hostname,
    mounts,
    annotations,
    linux: {
      cgroupsPath: ctx.cgroupsPath,
      resources,
      sysctl: { ...(task.sysctls ?? {}) },
      ...(devices.length ? { devices: devices.map((d) => d.node) } : {}),
      namespaces: [
        { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' },
        { type: 'network', path: ctx.netnsPath },
      ],
      ...(sb.seccomp ? { seccomp: sb.seccomp } : {}),
      maskedPaths: sb.maskedPaths,
      readonlyPaths: sb.readonlyPaths,
    },
  };
}
