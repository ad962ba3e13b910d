/**
 * The ContainerSpec fields that reach into the node's kernel beyond the sandbox:
 * sysctls, ulimits, host devices (Shoal's `Devices`), the /dev/shm size (Shoal's
 * `ShmSize`), and the generic resources a task reserves (Docker's
 * `Resources.Reservations.GenericResources`). Checks before a spec is stored, so a task
 * never fails on a node for what the API could have refused. Also the parser of a
 * node's advertised generic resources (`shoal daemon --node-generic-resource gpu=2`):
 * amounts only, named units are refused until tasks are told which unit they got.
 * Pure.
 */
import type { ContainerSpec, DeviceMapping, GenericResource, TaskSpec } from '../types/service.ts';

/** A problem with one field (same shape as validate.ts's SpecProblem). */
export interface HostAccessProblem { field: string; reason: string }

const C = 'TaskTemplate.ContainerSpec';

/**
 * Sysctls a task may set: those the kernel keeps per namespace, so setting one in the
 * task's namespaces cannot change the host (Docker's list, `opts.ValidateSysctl`).
 * `net.*` is the task's own network namespace (Shoal tasks never share the host's);
 * the `kernel.msg*`, `kernel.sem`, `kernel.shm*` and `fs.mqueue.*` ones are IPC
 * namespace settings. Anything else (vm.*, kernel.pid_max, …) is the host's and refused.
 */
export const NAMESPACED_SYSCTLS: readonly string[] = [
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem',
  'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
];
/** Prefixes of namespaced sysctls. */
export const NAMESPACED_SYSCTL_PREFIXES: readonly string[] = ['net.', 'fs.mqueue.'];

/** Whether `name` is a sysctl a task may set (see {@link NAMESPACED_SYSCTLS}). */
export function isNamespacedSysctl(name: string): boolean {
  return NAMESPACED_SYSCTLS.includes(name) || NAMESPACED_SYSCTL_PREFIXES.some((p) => name.startsWith(p) && name.length > p.length);
}

/** Resource limits Linux knows (`setrlimit(2)`), by Docker's ulimit names. */
export const ULIMIT_NAMES: readonly string[] = [
  'as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile',
  'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
];

/** Kind names of generic resources: what dockerd accepts in `node-generic-resources`. */
const KIND = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Device paths: absolute, no `..`, no odd characters. */
const DEVICE_PATH = /^\/[A-Za-z0-9_.+:@/-]*$/;

function checkSysctls(s: Record<string, string> | undefined): HostAccessProblem | undefined {
  for (const [k, v] of Object.entries(s ?? {})) {
    const f = `${C}.Sysctls.${k}`;
    if (!/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/.test(k)) return { field: f, reason: 'is not a sysctl name (dotted, like net.ipv4.ip_forward)' };
    if (!isNamespacedSysctl(k)) {
      return { field: f, reason: 'is not a namespaced sysctl: a task may set only net.*, fs.mqueue.*, kernel.msg{max,mnb,mni}, kernel.sem and kernel.shm{all,max,mni,_rmid_forced} (the others would change the host)' };
    }
    if (typeof v !== 'string' || v.trim() === '' || /[\n\0]/.test(v)) return { field: f, reason: 'must be a one-line value' };
  }
  return undefined;
}

function checkUlimits(list: ContainerSpec['Ulimits']): HostAccessProblem | undefined {
  const seen = new Set<string>();
  for (const [i, u] of (list ?? []).entries()) {
    const f = `${C}.Ulimits[${i}]`;
    if (!ULIMIT_NAMES.includes(u.Name)) return { field: `${f}.Name`, reason: `unknown ulimit "${u.Name}" (${ULIMIT_NAMES.join(', ')})` };
    if (seen.has(u.Name)) return { field: `${f}.Name`, reason: `duplicate ulimit "${u.Name}"` };
    seen.add(u.Name);
    if (u.Soft < 0 || u.Hard < 0) return { field: f, reason: 'limits must not be negative' };
  }
  return undefined;
}

/** Container paths a device may not take: the runtime's own mounts under /dev. */
const RESERVED_DEV = ['/dev', '/dev/pts', '/dev/shm', '/dev/mqueue'];

function checkDevices(list: DeviceMapping[] | undefined): HostAccessProblem | undefined {
  const targets = new Set<string>();
  for (const [i, d] of (list ?? []).entries()) {
    const f = `${C}.Devices[${i}]`;
    if (!d || typeof d !== 'object') return { field: f, reason: 'must be an object' };
    if (typeof d.PathOnHost !== 'string' || !DEVICE_PATH.test(d.PathOnHost) || d.PathOnHost.split('/').includes('..')) {
      return { field: `${f}.PathOnHost`, reason: `"${String(d.PathOnHost)}" must be an absolute path without ".."` };
    }
    const target = d.PathInContainer || d.PathOnHost;
    if (!DEVICE_PATH.test(target) || target.split('/').includes('..')) return { field: `${f}.PathInContainer`, reason: `"${target}" must be an absolute path without ".."` };
    if (RESERVED_DEV.includes(target.replace(/\/+$/, '')) || target === '/') return { field: `${f}.PathInContainer`, reason: `"${target}" is a mount of the runtime and cannot be a device` };
    if (targets.has(target)) return { field: `${f}.PathInContainer`, reason: `duplicate device path "${target}"` };
    targets.add(target);
    const perm = d.CgroupPermissions ?? 'rwm';
    if (!/^[rwm]{1,3}$/.test(perm) || new Set(perm).size !== perm.length) return { field: `${f}.CgroupPermissions`, reason: `"${perm}" must be a non-empty combination of r, w and m` };
  }
  return undefined;
}

/** Per-kind amounts of a reservation; refuses named specs and duplicates. */
function checkReservedGeneric(list: GenericResource[] | undefined): HostAccessProblem | undefined {
  const f = 'TaskTemplate.Resources.Reservations.GenericResources';
  const kinds = new Set<string>();
  for (const [i, g] of (list ?? []).entries()) {
    if (g.NamedResourceSpec && !g.DiscreteResourceSpec) return { field: `${f}[${i}].NamedResourceSpec`, reason: 'a task reserves an amount of a kind (DiscreteResourceSpec, --generic-resource gpu=1), not a named unit' };
    const d = g.DiscreteResourceSpec;
    if (!d || g.NamedResourceSpec) return { field: `${f}[${i}]`, reason: 'must hold exactly one DiscreteResourceSpec' };
    if (typeof d.Kind !== 'string' || !KIND.test(d.Kind)) return { field: `${f}[${i}].DiscreteResourceSpec.Kind`, reason: `"${String(d.Kind)}" is not a resource kind ([A-Za-z0-9_.-])` };
    if (!Number.isInteger(d.Value) || d.Value < 1) return { field: `${f}[${i}].DiscreteResourceSpec.Value`, reason: 'must be a positive integer' };
    if (kinds.has(d.Kind)) return { field: `${f}[${i}].DiscreteResourceSpec.Kind`, reason: `duplicate kind "${d.Kind}"` };
    kinds.add(d.Kind);
  }
  return undefined;
}

/** The first problem with the host-access fields of `t`, or undefined. */
export function checkHostAccess(t: TaskSpec): HostAccessProblem | undefined {
  const c = t.ContainerSpec;
  return (
    checkSysctls(c.Sysctls) ??
    checkUlimits(c.Ulimits) ??
    checkDevices(c.Devices) ??
    (c.ShmSize !== undefined && (!Number.isInteger(c.ShmSize) || c.ShmSize < 0) ? { field: `${C}.ShmSize`, reason: 'must be a number of bytes' } : undefined) ??
    ((c.Mounts ?? []).some((m) => m.Target === '/dev/shm') && c.ShmSize ? { field: `${C}.ShmSize`, reason: 'conflicts with a mount at /dev/shm' } : undefined) ??
    checkReservedGeneric(t.Resources?.Reservations?.GenericResources)
  );
}

/** Parses `HOST[:CONTAINER[:PERMS]]` (`--device`, compose `devices`); throws a plain Error naming the value. */
export function parseDevice(spec: string): DeviceMapping {
  const parts = spec.split(':');
  if (parts.length > 3 || !parts[0]) throw new Error(`invalid device "${spec}": expected HOST[:CONTAINER[:rwm]]`);
  const out: DeviceMapping = { PathOnHost: parts[0], PathInContainer: parts[0], CgroupPermissions: 'rwm' };
  if (parts.length === 2) {
    // Docker's rule: a second part that is only r/w/m letters is the permissions.
    if (/^[rwm]{1,3}$/.test(parts[1])) out.CgroupPermissions = parts[1];
    else out.PathInContainer = parts[1];
  } else if (parts.length === 3) {
    out.PathInContainer = parts[1] || parts[0];
    out.CgroupPermissions = parts[2];
  }
  return out;
}

/** The kinds and amounts a list of generic resources adds up to: discrete values summed, named units counted. */
export function genericAmounts(list: readonly GenericResource[] | undefined): Map<string, number> {
  const m = new Map<string, number>();
  for (const g of list ?? []) {
    if (g.DiscreteResourceSpec) m.set(g.DiscreteResourceSpec.Kind, (m.get(g.DiscreteResourceSpec.Kind) ?? 0) + g.DiscreteResourceSpec.Value);
    if (g.NamedResourceSpec) m.set(g.NamedResourceSpec.Kind, (m.get(g.NamedResourceSpec.Kind) ?? 0) + 1);
  }
  return m;
}

/**
 * Why named units are refused everywhere (node flags, joins, task flags): Shoal would count
 * a unit but not tell the task which one it got (Docker's `DOCKER_RESOURCE_<KIND>`), so two
 * tasks could use the same GPU. Until units are assigned, only amounts are accepted.
 */
export const NAMED_UNITS_REFUSED = 'named units (KIND=ID, gpu=GPU-3f1c) are not supported yet: Shoal does not assign a unit to a task (Docker\'s DOCKER_RESOURCE_*); give an amount (gpu=2)';

/**
 * Parses `KIND=N` (dockerd's `node-generic-resources`, Shoal's `--node-generic-resource`
 * and `--generic-resource`): a discrete amount. A named unit (`gpu=GPU-3f1c`) is refused
 * ({@link NAMED_UNITS_REFUSED}). Throws a plain Error.
 */
export function parseGenericResource(spec: string): GenericResource {
  const eq = spec.indexOf('=');
  const kind = eq < 0 ? '' : spec.slice(0, eq).trim();
  const value = eq < 0 ? '' : spec.slice(eq + 1).trim();
  if (!KIND.test(kind) || !value) throw new Error(`invalid generic resource "${spec}": expected KIND=N (gpu=2)`);
  if (!/^\d+$/.test(value)) throw new Error(`invalid generic resource "${spec}": ${NAMED_UNITS_REFUSED}`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`invalid generic resource "${spec}": the amount must be a positive integer`);
  return { DiscreteResourceSpec: { Kind: kind, Value: n } };
}
