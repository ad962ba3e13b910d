/**
 * `POST /containers/create` bodies (Docker Engine API v1.41) → what a standalone
 * container runs with. Pure: the body in, a {@link StandaloneConfig} out, or a
 * {@link CreateConfigError} naming the first field Shoal does not do.
 *
 * The fields `docker run` sends are applied. Every other field passes only while it is
 * empty (absent, null, '', 0, false, [], {} or an object of empties), so newer clients
 * that send zero values keep working; a non-empty value is refused naming the field
 * (STYLE 16a). The table of what is applied is {@link APPLIED}; {@link DEFAULTS} lists
 * non-empty values that ask for what Shoal does anyway.
 */
import type { TaskMount, TaskResources, Ulimit } from '../../exec/types.ts';
import { parsePortBindings, type PortBinding } from './ports.ts';
import { CreateConfigError } from './errors.ts';

export { CreateConfigError } from './errors.ts';

/** How the container is networked. */
export type NetworkChoice =
  | { mode: 'bridge' }
  | { mode: 'host' }
  | { mode: 'none' }
  /** A swarm network by name or ID: must be an attachable overlay (the leader checks it). */
  | { mode: 'overlay'; name: string };

/** The network's name as Docker shows it (`NetworkMode`, the key of `Networks`). */
export function networkName(n: NetworkChoice): string {
  return n.mode === 'overlay' ? n.name : n.mode;
}

/** A validated create request. */
export interface StandaloneConfig {
  image: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  hostname?: string;
  labels: Record<string, string>;
  tty: boolean;
  openStdin: boolean;
  stopSignal?: string;
  stopTimeoutS?: number;
  mounts: TaskMount[];
  /** Container paths of anonymous volumes (`-v /data`, image VOLUMEs are not made). */
  anonymousVolumes: string[];
  /** Host paths of `-v /src:/dst` binds, which Docker makes when missing (a `--mount` bind source must exist). */
  bindSourcesToMake: string[];
  ports: PortBinding[];
  /** `ExposedPorts` keys as given (`80/tcp`), shown back by inspect. */
  exposedPorts: string[];
  autoRemove: boolean;
  network: NetworkChoice;
  resources: TaskResources;
  capAdd?: string[];
  capDrop?: string[];
  privileged: boolean;
  readOnly: boolean;
  extraHosts?: string[];
  sysctls?: Record<string, string>;
  ulimits?: Ulimit[];
  consoleSize?: [number, number];
}

/** Fields read by {@link checkCreateConfig}; everything else must be empty. Dotted from the body's root. */
export const APPLIED: readonly string[] = [
  'Image', 'Entrypoint', 'Cmd', 'Env', 'User', 'WorkingDir', 'Hostname', 'Labels', 'Tty', 'OpenStdin', 'StdinOnce',
  'AttachStdin', 'AttachStdout', 'AttachStderr', 'StopSignal', 'StopTimeout', 'Volumes', 'ExposedPorts',
  'HostConfig.Binds', 'HostConfig.Tmpfs', 'HostConfig.Mounts', 'HostConfig.PortBindings', 'HostConfig.RestartPolicy',
  'HostConfig.AutoRemove', 'HostConfig.NetworkMode', 'HostConfig.Memory', 'HostConfig.NanoCpus', 'HostConfig.PidsLimit',
  'HostConfig.CapAdd', 'HostConfig.CapDrop', 'HostConfig.Privileged', 'HostConfig.ReadonlyRootfs', 'HostConfig.ExtraHosts',
  'HostConfig.Sysctls', 'HostConfig.Ulimits', 'HostConfig.ConsoleSize', 'HostConfig.LogConfig', 'HostConfig.MemorySwap',
  'NetworkingConfig.EndpointsConfig',
];

/** Non-empty values that mean Shoal's behaviour anyway (Docker's defaults as clients send them). */
export const DEFAULTS: Readonly<Record<string, readonly unknown[]>> = {
  'HostConfig.CgroupnsMode': ['private'],
  'HostConfig.IpcMode': ['private', 'shareable'],
  'HostConfig.Isolation': ['default'],
  'HostConfig.Runtime': ['runc'],
  'HostConfig.ShmSize': [67108864],
  'HostConfig.OomKillDisable': [false],
  'HostConfig.MemorySwappiness': [-1],
  'HostConfig.Init': [false],
  'Domainname': [''],
  'Shell': [],
};

/** Fields of an `EndpointSettings` that are empty on the default networks. */
const NETWORK_MODES = ['default', 'bridge', 'host', 'none'];

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).every(isEmpty);
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Walks `body` and refuses the first non-empty field that is neither applied nor a default value. */
function refuseUnknown(body: Record<string, unknown>): void {
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (APPLIED.includes(path)) continue;
      if (isEmpty(v)) continue;
      if (DEFAULTS[path]?.some((d) => d === v)) continue;
      if (isObject(v) && (path === 'HostConfig' || path === 'NetworkingConfig')) { walk(v, path); continue; }
      throw new CreateConfigError(`${path}: not supported by shoal for standalone containers (got ${JSON.stringify(v)})`, 501);
    }
  };
  walk(body, '');
}

function strings(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new CreateConfigError(`${field}: must be a list of strings`);
  return v as string[];
}

function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new CreateConfigError(`${field}: must be a string`);
  return v;
}

function int(v: unknown, field: string, min = 0): number | undefined {
  if (v === undefined || v === null || v === 0) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new CreateConfigError(`${field}: must be an integer ≥ ${min}`);
  return v;
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) throw new CreateConfigError(`${field}: must be a map of strings`);
  return v as Record<string, string>;
}

/** `-v SRC:DST[:OPTS]`: an absolute SRC is a bind, anything else a named volume. */
export function parseBind(spec: string): TaskMount {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) throw new CreateConfigError(`HostConfig.Binds: invalid volume specification: '${spec}'`);
  const [src, dst, opts = ''] = parts;
  if (!dst.startsWith('/')) throw new CreateConfigError(`HostConfig.Binds: invalid mount config: the mount path must be absolute: '${spec}'`);
  let readOnly = false;
  let noCopy = false;
  for (const o of opts ? opts.split(',') : []) {
    if (o === 'ro') readOnly = true;
    else if (o === 'rw') readOnly = false;
    else if (o === 'nocopy' && !src.startsWith('/')) noCopy = true;
    else throw new CreateConfigError(`HostConfig.Binds: mode '${o}' of '${spec}' is not supported by shoal`, 501);
  }
  if (src.startsWith('/')) return { type: 'bind', source: src, target: dst, readOnly };
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(src)) throw new CreateConfigError(`HostConfig.Binds: invalid volume name '${src}'`);
  return { type: 'volume', source: src, target: dst, readOnly, ...(noCopy ? { volumeNoCopy: true } : {}) };
}

/** `--tmpfs /path:size=64m,mode=1777` as the API has it (`{"/path": "size=64m,mode=1777"}`). */
export function parseTmpfs(target: string, opts: string): TaskMount {
  if (!target.startsWith('/')) throw new CreateConfigError(`HostConfig.Tmpfs: the mount path must be absolute: '${target}'`);
  const m: TaskMount = { type: 'tmpfs', target };
  for (const o of opts ? opts.split(',') : []) {
    const [k, v] = o.split('=');
    if (k === 'size') {
      const n = /^(\d+)([kmg]?)$/i.exec(v ?? '');
      if (!n) throw new CreateConfigError(`HostConfig.Tmpfs: invalid size '${v}' for ${target}`);
      m.tmpfsSize = Number(n[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[n[2].toLowerCase()];
    } else if (k === 'mode') {
      if (!/^[0-7]{3,4}$/.test(v ?? '')) throw new CreateConfigError(`HostConfig.Tmpfs: invalid mode '${v}' for ${target}`);
      m.tmpfsMode = parseInt(v, 8);
    } else if (k === 'ro') m.readOnly = true;
    else if (k !== 'rw') throw new CreateConfigError(`HostConfig.Tmpfs: option '${o}' of ${target} is not supported by shoal`, 501);
  }
  return m;
}

/** `--mount type=bind|volume|tmpfs,…` as the API has it. */
function parseMount(v: unknown, i: number): TaskMount {
  const f = `HostConfig.Mounts[${i}]`;
  if (!isObject(v)) throw new CreateConfigError(`${f}: must be an object`);
  const type = v.Type;
  const target = str(v.Target, `${f}.Target`);
  if (!target?.startsWith('/')) throw new CreateConfigError(`${f}.Target: must be an absolute path`);
  for (const k of ['BindOptions', 'TmpfsOptions', 'VolumeOptions', 'Consistency']) {
    if (k === 'TmpfsOptions' && type === 'tmpfs') continue;
    if (k === 'VolumeOptions' && type === 'volume') continue;
    if (!isEmpty(v[k])) throw new CreateConfigError(`${f}.${k}: not supported by shoal for standalone containers`, 501);
  }
  const readOnly = v.ReadOnly === true;
  if (type === 'bind') return { type: 'bind', source: str(v.Source, `${f}.Source`), target, readOnly };
  if (type === 'volume') {
    const vo = isObject(v.VolumeOptions) ? v.VolumeOptions : {};
    if (!isEmpty(vo.DriverConfig)) throw new CreateConfigError(`${f}.VolumeOptions.DriverConfig: not supported by shoal for standalone containers`, 501);
    const source = str(v.Source, `${f}.Source`);
    if (!source) throw new CreateConfigError(`${f}.Source: anonymous volumes through --mount are not supported by shoal`, 501);
    return { type: 'volume', source, target, readOnly, ...(vo.NoCopy === true ? { volumeNoCopy: true } : {}), ...(isObject(vo.Labels) ? { volumeLabels: stringMap(vo.Labels, `${f}.VolumeOptions.Labels`) } : {}) };
  }
  if (type === 'tmpfs') {
    const to = isObject(v.TmpfsOptions) ? v.TmpfsOptions : {};
    return { type: 'tmpfs', target, readOnly, ...(to.SizeBytes ? { tmpfsSize: int(to.SizeBytes, `${f}.TmpfsOptions.SizeBytes`) } : {}), ...(to.Mode ? { tmpfsMode: int(to.Mode, `${f}.TmpfsOptions.Mode`) } : {}) };
  }
  throw new CreateConfigError(`${f}.Type: mount type ${JSON.stringify(type)} is not supported by shoal`, 501);
}

function networkOf(hc: Record<string, unknown>, nc: Record<string, unknown>): NetworkChoice {
  const raw = str(hc.NetworkMode, 'HostConfig.NetworkMode') ?? 'default';
  const mode = raw === 'default' ? 'bridge' : raw;
  if (/^container:/.test(mode)) throw new CreateConfigError(`HostConfig.NetworkMode: joining another container's network (${mode}) is not supported by shoal`, 501);
  // Any other name is a swarm network: the leader refuses it unless it is an attachable overlay.
  const choice: NetworkChoice = NETWORK_MODES.includes(mode) ? { mode } as NetworkChoice : { mode: 'overlay', name: mode };
  const eps = nc.EndpointsConfig;
  if (eps !== undefined && eps !== null) {
    if (!isObject(eps)) throw new CreateConfigError('NetworkingConfig.EndpointsConfig: must be a map');
    for (const [name, ep] of Object.entries(eps)) {
      const n = name === 'default' ? 'bridge' : name;
      if (n !== mode) throw new CreateConfigError(`NetworkingConfig.EndpointsConfig: a second network (${name}) at create is not supported by shoal`, 501);
      if (isObject(ep)) {
        for (const [k, v] of Object.entries(ep)) {
          if (!isEmpty(v)) throw new CreateConfigError(`NetworkingConfig.EndpointsConfig.${name}.${k}: not supported by shoal on the ${mode} network`, 501);
        }
      }
    }
  }
  return choice;
}

function ulimits(v: unknown): Ulimit[] | undefined {
  if (isEmpty(v)) return undefined;
  if (!Array.isArray(v)) throw new CreateConfigError('HostConfig.Ulimits: must be a list');
  return v.map((u, i) => {
    if (!isObject(u) || typeof u.Name !== 'string' || typeof u.Soft !== 'number' || typeof u.Hard !== 'number') throw new CreateConfigError(`HostConfig.Ulimits[${i}]: needs Name, Soft and Hard`);
    return { name: u.Name, soft: u.Soft, hard: u.Hard };
  });
}

/** Validates a create body. Throws CreateConfigError naming the field. */
export function checkCreateConfig(raw: unknown): StandaloneConfig {
  if (!isObject(raw)) throw new CreateConfigError('create: the body must be a JSON object');
  refuseUnknown(raw);
  const hc = isObject(raw.HostConfig) ? raw.HostConfig : {};
  const nc = isObject(raw.NetworkingConfig) ? raw.NetworkingConfig : {};
  const image = str(raw.Image, 'Image');
  if (!image) throw new CreateConfigError('Image: an image is required');
  const tty = raw.Tty === true;
  const openStdin = raw.OpenStdin === true;
  const rp = isObject(hc.RestartPolicy) ? hc.RestartPolicy : {};
  const rpName = str(rp.Name, 'HostConfig.RestartPolicy.Name') ?? 'no';
  if (rpName !== 'no') throw new CreateConfigError(`HostConfig.RestartPolicy: restart policy ${rpName} is not supported by shoal for standalone containers yet`, 501);
  const autoRemove = hc.AutoRemove === true;
  const mounts: TaskMount[] = [];
  for (const b of strings(hc.Binds, 'HostConfig.Binds') ?? []) mounts.push(parseBind(b));
  const bindSourcesToMake = mounts.filter((m) => m.type === 'bind').map((m) => m.source!);
  for (const [t, o] of Object.entries(stringMap(hc.Tmpfs, 'HostConfig.Tmpfs'))) mounts.push(parseTmpfs(t, o));
  if (hc.Mounts !== undefined && hc.Mounts !== null) {
    if (!Array.isArray(hc.Mounts)) throw new CreateConfigError('HostConfig.Mounts: must be a list');
    hc.Mounts.forEach((m, i) => mounts.push(parseMount(m, i)));
  }
  const vols = raw.Volumes;
  if (vols !== undefined && vols !== null && !isObject(vols)) throw new CreateConfigError('Volumes: must be a map of paths');
  const anonymousVolumes = Object.keys(vols ?? {}).filter((p) => !mounts.some((m) => m.target === p));
  for (const p of anonymousVolumes) if (!p.startsWith('/')) throw new CreateConfigError(`Volumes: the mount path must be absolute: '${p}'`);
  const targets = new Set<string>();
  for (const t of [...mounts.map((m) => m.target), ...anonymousVolumes]) {
    if (targets.has(t)) throw new CreateConfigError(`HostConfig.Binds: duplicate mount point: ${t}`);
    targets.add(t);
  }
  const network = networkOf(hc, nc);
  const ports = parsePortBindings(hc.PortBindings);
  if (ports.length && network.mode !== 'bridge') throw new CreateConfigError(`HostConfig.PortBindings: published ports need the bridge network (not ${network.mode})`);
  const exposed = raw.ExposedPorts;
  if (exposed !== undefined && exposed !== null && !isObject(exposed)) throw new CreateConfigError('ExposedPorts: must be a map');
  const memory = int(hc.Memory, 'HostConfig.Memory', 6 * 1024 * 1024);
  const swap = hc.MemorySwap;
  if (swap !== undefined && swap !== null && swap !== 0 && swap !== -1 && !(memory && swap === memory * 2)) {
    throw new CreateConfigError('HostConfig.MemorySwap: a swap limit is not supported by shoal (only the default)', 501);
  }
  const pids = hc.PidsLimit === -1 ? undefined : int(hc.PidsLimit, 'HostConfig.PidsLimit', 1);
  const resources: TaskResources = {
    ...(memory ? { memoryBytes: memory } : {}),
    ...(int(hc.NanoCpus, 'HostConfig.NanoCpus', 1e7) ? { nanoCpus: hc.NanoCpus as number } : {}),
    ...(pids ? { pidsLimit: pids } : {}),
  };
  const log = isObject(hc.LogConfig) ? hc.LogConfig : {};
  if (!isEmpty(log.Type) && log.Type !== 'json-file') throw new CreateConfigError(`HostConfig.LogConfig.Type: log driver ${String(log.Type)} is not supported by shoal (json-file is)`, 501);
  if (!isEmpty(log.Config)) throw new CreateConfigError('HostConfig.LogConfig.Config: log options are not supported by shoal', 501);
  const cs = hc.ConsoleSize;
  const consoleSize = Array.isArray(cs) && cs.length === 2 && cs.every((n) => Number.isInteger(n) && n > 0) ? [cs[0], cs[1]] as [number, number] : undefined;
  const stopTimeout = raw.StopTimeout;
  if (stopTimeout !== undefined && stopTimeout !== null && (typeof stopTimeout !== 'number' || !Number.isInteger(stopTimeout))) throw new CreateConfigError('StopTimeout: must be an integer (seconds)');
  const hostname = str(raw.Hostname, 'Hostname');
  if (hostname && network.mode === 'host') throw new CreateConfigError('Hostname: conflicting options: hostname and the network mode host', 400);
  return {
    image,
    entrypoint: raw.Entrypoint === '' ? undefined : strings(raw.Entrypoint, 'Entrypoint'),
    cmd: strings(raw.Cmd, 'Cmd'),
    env: strings(raw.Env, 'Env'),
    user: str(raw.User, 'User'),
    workdir: str(raw.WorkingDir, 'WorkingDir'),
    hostname,
    labels: stringMap(raw.Labels, 'Labels'),
    tty, openStdin,
    stopSignal: str(raw.StopSignal, 'StopSignal'),
    stopTimeoutS: typeof stopTimeout === 'number' ? stopTimeout : undefined,
    mounts, anonymousVolumes, bindSourcesToMake, ports, exposedPorts: Object.keys(exposed ?? {}),
    autoRemove, network, resources,
    capAdd: strings(hc.CapAdd, 'HostConfig.CapAdd'),
    capDrop: strings(hc.CapDrop, 'HostConfig.CapDrop'),
    privileged: hc.Privileged === true,
    readOnly: hc.ReadonlyRootfs === true,
    extraHosts: strings(hc.ExtraHosts, 'HostConfig.ExtraHosts'),
    sysctls: isEmpty(hc.Sysctls) ? undefined : stringMap(hc.Sysctls, 'HostConfig.Sysctls'),
    ulimits: ulimits(hc.Ulimits),
    consoleSize,
  };
}

/** A container name as Docker accepts it (`/` prefix allowed). Throws on a bad one. */
export function checkName(name: string): string {
  const n = name.replace(/^\//, '');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(n)) throw new CreateConfigError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return n;
}
