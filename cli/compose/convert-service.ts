/**
 * One compose service → Docker's ServiceSpec, field by field as `docker stack deploy`
 * converts it (docker/cli `cli/compose/convert/service.go`): names scoped `STACK_x`, the
 * `com.docker.stack.namespace` label on the service and its containers, the service's
 * short name as a network alias, the default network when none is listed. Secret and
 * config IDs are left empty for the deployer to fill. Pure: files are read through the
 * `readFile` given.
 */
import { posix } from 'node:path';
import type {
  ConfigReference, HealthConfig, Mount, NetworkAttachmentConfig, PortConfig, RestartPolicy,
  SecretReference, ServiceMode, ServiceSpec, UpdateConfig, Ulimit, ResourceRequirements,
  DeviceMapping, GenericResource,
} from '../../src/api/types/service.ts';
import { parseDevice } from '../../src/api/spec/host-access.ts';
import { ComposePathError, type ComposePath } from './errors.ts';
import { listOrDict } from './merge.ts';
import { parseBytes, parseDuration } from './units.ts';
import { parsePorts } from './ports.ts';
import { parseVolume } from './volumes.ts';
import {
  APPLIED_DEPLOY_KEYS, APPLIED_SERVICE_KEYS, DOCKER_DEPRECATED_KEYS, DOCKER_IGNORED_KEYS, REFUSED_SERVICE_KEYS,
} from './service-keys.ts';

/** The label every object of a stack carries, with the stack's name. */
export const LABEL_NAMESPACE = 'com.docker.stack.namespace';
/** The label holding the image as written in the compose file (for `--resolve-image changed`). */
export const LABEL_IMAGE = 'com.docker.stack.image';

type Obj = Record<string, unknown>;

/** What converting a service needs to know about the stack. */
export interface ServiceContext {
  stack: string;
  /** Directory relative paths (bind sources, env files) are resolved against. */
  workingDir: string;
  /** Environment for `environment` entries given without a value. */
  env: (name: string) => string | undefined;
  /** Reads an env_file. */
  readFile: (path: string) => string;
  /** Top-level network key → the network's real name (scoped, or its `name:`/external name). */
  networkName: (key: string) => string | undefined;
  /** Top-level volume key → the volume's source name and whether the stack owns it. */
  volume: (key: string) => { name: string; external: boolean; driver?: string } | undefined;
  secretName: (key: string) => string | undefined;
  configName: (key: string) => string | undefined;
  /** Warnings (keys Docker ignores too) are pushed here. */
  warnings: string[];
}

const at = (path: ComposePath, reason: string) => new ComposePathError(path, reason);

function duration(v: unknown, path: ComposePath): number | undefined {
  if (v === undefined || v === null) return undefined;
  try { return parseDuration(v as string); } catch (err) { throw at(path, (err as Error).message); }
}

function bytes(v: unknown, path: ComposePath): number | undefined {
  if (v === undefined || v === null) return undefined;
  try { return parseBytes(v as string); } catch (err) { throw at(path, (err as Error).message); }
}

function stringList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? v.map(String) : splitShell(String(v));
}

/** Splits a command string the way Compose does (shell words, quotes, backslashes). */
export function splitShell(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | null = null;
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length && '"\\$`'.includes(s[i + 1])) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") { quote = c; has = true; }
    else if (c === '\\' && i + 1 < s.length) { cur += s[++i]; has = true; }
    else if (/\s/.test(c)) { if (has || cur) out.push(cur); cur = ''; has = false; }
    else cur += c;
  }
  if (quote) throw new Error(`unterminated quote in "${s}"`);
  if (has || cur) out.push(cur);
  return out;
}

/** Refuses keys Shoal cannot apply; warns, as Docker does, about keys Docker ignores. */
function checkKeys(name: string, svc: Obj, ctx: ServiceContext): void {
  const ignored: string[] = [];
  const deprecated: string[] = [];
  for (const [k, v] of Object.entries(svc)) {
    const path = ['services', name, k];
    if (k.startsWith('x-') || APPLIED_SERVICE_KEYS.has(k)) continue;
    if (DOCKER_IGNORED_KEYS.has(k)) { ignored.push(k); continue; }
    if (DOCKER_DEPRECATED_KEYS.has(k)) { deprecated.push(k); continue; }
    if (v === undefined || v === null || v === false) continue;
    const what = REFUSED_SERVICE_KEYS[k];
    throw at(path, what ? `${what} is not supported by Shoal yet` : `"${k}" is not supported by shoal stack deploy`);
  }
  if (ignored.length) ctx.warnings.push(`Ignoring unsupported options: ${ignored.sort().join(', ')}`);
  if (deprecated.length) ctx.warnings.push(`Ignoring deprecated options:\n\n${deprecated.sort().map((k) => `${k}: not supported in swarm mode`).join('\n')}\n`);
  for (const k of Object.keys((svc.deploy ?? {}) as Obj)) {
    if (!APPLIED_DEPLOY_KEYS.has(k) && !k.startsWith('x-')) throw at(['services', name, 'deploy', k], `"deploy.${k}" is not supported by shoal stack deploy`);
  }
  if (svc.isolation !== undefined && svc.isolation !== 'default') throw at(['services', name, 'isolation'], 'an isolation technology other than the default is not supported by Shoal yet');
}

function environment(name: string, svc: Obj, ctx: ServiceContext): string[] | undefined {
  const vars: Record<string, string | null> = {};
  const files = svc.env_file === undefined ? [] : [svc.env_file].flat();
  for (const [i, f] of files.entries()) {
    const file = typeof f === 'object' && f ? String((f as Obj).path) : String(f);
    let text: string;
    try { text = ctx.readFile(posix.resolve(ctx.workingDir, file)); } catch (err) {
      throw at(['services', name, 'env_file', i], `cannot read env file ${file}: ${(err as Error).message}`);
    }
    for (const line of text.split('\n')) {
      const l = line.trim();
      if (!l || l.startsWith('#')) continue;
      const eq = l.indexOf('=');
      const key = eq < 0 ? l : l.slice(0, eq);
      vars[key] = eq < 0 ? (ctx.env(key) ?? null) : l.slice(eq + 1);
    }
  }
  for (const [k, v] of Object.entries(listOrDict(svc.environment))) vars[k] = v ?? ctx.env(k) ?? null;
  const out = Object.entries(vars).map(([k, v]) => (v === null ? k : `${k}=${v}`)).sort();
  return out.length ? out : undefined;
}

function withStackLabel(stack: string, labels: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(listOrDict(labels))) out[k] = v ?? '';
  out[LABEL_NAMESPACE] = stack;
  return out;
}

function healthcheck(h: Obj | undefined, path: ComposePath): HealthConfig | undefined {
  if (!h) return undefined;
  if (h.disable) {
    if (h.test !== undefined && !(Array.isArray(h.test) && h.test[0] === 'NONE')) throw at(path, 'test and disable cannot be set together');
    return { Test: ['NONE'] };
  }
  const out: HealthConfig = {};
  if (h.test !== undefined) {
    const test = Array.isArray(h.test) ? h.test.map(String) : ['CMD-SHELL', String(h.test)];
    if (!['NONE', 'CMD', 'CMD-SHELL'].includes(test[0])) throw at([...path, 'test'], `must start with NONE, CMD or CMD-SHELL, not "${test[0]}"`);
    out.Test = test;
  }
  const d = (k: string) => duration(h[k], [...path, k]);
  if (h.interval !== undefined) out.Interval = d('interval');
  if (h.timeout !== undefined) out.Timeout = d('timeout');
  if (h.start_period !== undefined) out.StartPeriod = d('start_period');
  if (h.retries !== undefined) out.Retries = Number(h.retries);
  for (const k of Object.keys(h)) {
    if (!['test', 'interval', 'timeout', 'start_period', 'retries', 'disable'].includes(k) && !k.startsWith('x-')) throw at([...path, k], `"healthcheck.${k}" is not supported by shoal stack deploy`);
  }
  return out;
}

function networks(name: string, svc: Obj, ctx: ServiceContext): NetworkAttachmentConfig[] {
  const listed: Record<string, Obj | null> = Array.isArray(svc.networks)
    ? Object.fromEntries((svc.networks as unknown[]).map((n) => [String(n), null]))
    : ((svc.networks ?? { default: null }) as Record<string, Obj | null>);
  const out: NetworkAttachmentConfig[] = [];
  for (const [key, cfg] of Object.entries(listed)) {
    const target = ctx.networkName(key);
    if (!target) throw at(['services', name, 'networks', key], `service "${name}" references network "${key}", which is not declared`);
    for (const k of Object.keys(cfg ?? {})) {
      if (k !== 'aliases' && !k.startsWith('x-')) throw at(['services', name, 'networks', key, k], `"networks.${key}.${k}" is not supported by shoal stack deploy`);
    }
    out.push({ Target: target, Aliases: [...((cfg?.aliases as string[] | undefined) ?? []), name] });
  }
  return out.sort((a, b) => a.Target.localeCompare(b.Target));
}

function fileRefs(kind: 'secrets' | 'configs', name: string, svc: Obj, ctx: ServiceContext): (SecretReference | ConfigReference)[] | undefined {
  const list = svc[kind] as unknown[] | undefined;
  if (!list?.length) return undefined;
  return list.map((item, i) => {
    const o: Obj = typeof item === 'string' ? { source: item } : (item as Obj);
    const source = String(o.source);
    const real = kind === 'secrets' ? ctx.secretName(source) : ctx.configName(source);
    if (!real) throw at(['services', name, kind, i], `undefined ${kind.slice(0, -1)} "${source}"`);
    const file = { Name: String(o.target ?? source), UID: String(o.uid ?? '0'), GID: String(o.gid ?? '0'), Mode: o.mode === undefined ? 0o444 : Number(o.mode) };
    return kind === 'secrets' ? { File: file, SecretID: '', SecretName: real } : { File: file, ConfigID: '', ConfigName: real };
  });
}

function resources(r: Obj | undefined, path: ComposePath): ResourceRequirements | undefined {
  if (!r) return undefined;
  const one = (x: Obj | undefined, p: ComposePath) => {
    if (!x) return undefined;
    const reservations = p[p.length - 1] === 'reservations';
    for (const k of Object.keys(x)) {
      if (reservations && k === 'generic_resources') continue;
      if (!['cpus', 'memory', 'pids'].includes(k) && !k.startsWith('x-')) throw at([...p, k], `"${k}" resources are not supported by Shoal yet`);
    }
    const generic = reservations ? genericResources(x.generic_resources, [...p, 'generic_resources']) : undefined;
    const cpus = x.cpus === undefined ? undefined : Number(x.cpus);
    if (cpus !== undefined && !(cpus >= 0)) throw at([...p, 'cpus'], `invalid cpus "${String(x.cpus)}"`);
    return {
      ...(cpus !== undefined ? { NanoCPUs: Math.round(cpus * 1e9) } : {}),
      ...(x.memory !== undefined ? { MemoryBytes: bytes(x.memory, [...p, 'memory']) } : {}),
      ...(x.pids !== undefined ? { Pids: Number(x.pids) } : {}),
      ...(generic ? { GenericResources: generic } : {}),
    };
  };
  return { Limits: one(r.limits as Obj | undefined, [...path, 'limits']), Reservations: one(r.reservations as Obj | undefined, [...path, 'reservations']) };
}

/** `generic_resources: [{discrete_resource_spec: {kind: gpu, value: 1}}]`; a task reserves amounts, not named units. */
function genericResources(v: unknown, path: ComposePath): GenericResource[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw at(path, 'must be a list');
  return v.map((g: Obj, i) => {
    const d = g?.discrete_resource_spec as Obj | undefined;
    if (!d) throw at([...path, i], 'a task reserves an amount: use discrete_resource_spec {kind, value}');
    const value = Number(d.value);
    if (typeof d.kind !== 'string' || !d.kind || !Number.isInteger(value) || value < 1) throw at([...path, i, 'discrete_resource_spec'], 'needs a kind and a positive integer value');
    return { DiscreteResourceSpec: { Kind: d.kind, Value: value } };
  });
}

/** `devices: ["/dev/net/tun", "/dev/loop3:/dev/disk:r"]` (short syntax, as `docker run --device`). */
function devices(v: unknown, path: ComposePath): DeviceMapping[] {
  if (!Array.isArray(v)) throw at(path, 'must be a list of HOST[:CONTAINER[:rwm]]');
  return v.map((d, i) => {
    try {
      return parseDevice(String(d));
    } catch (err) { throw at([...path, i], (err as Error).message); }
  });
}

function restartPolicy(svc: Obj, path: ComposePath): RestartPolicy | undefined {
  const rp = (svc.deploy as Obj | undefined)?.restart_policy as Obj | undefined;
  if (rp) {
    const cond = rp.condition === undefined ? undefined : String(rp.condition);
    if (cond !== undefined && !['none', 'on-failure', 'any'].includes(cond)) throw at([...path, 'condition'], `must be none, on-failure or any, not "${cond}"`);
    return {
      ...(cond ? { Condition: cond as RestartPolicy['Condition'] } : {}),
      ...(rp.delay !== undefined ? { Delay: duration(rp.delay, [...path, 'delay']) } : {}),
      ...(rp.max_attempts !== undefined ? { MaxAttempts: Number(rp.max_attempts) } : {}),
      ...(rp.window !== undefined ? { Window: duration(rp.window, [...path, 'window']) } : {}),
    };
  }
  if (svc.restart === undefined) return undefined;
  const r = String(svc.restart);
  if (r === 'no') return { Condition: 'none' };
  if (r === 'always' || r === 'unless-stopped') return { Condition: 'any' };
  const m = /^on-failure(?::(\d+))?$/.exec(r);
  if (m) return { Condition: 'on-failure', ...(m[1] ? { MaxAttempts: Number(m[1]) } : {}) };
  throw at(['services', String(path[1]), 'restart'], `unknown restart policy "${r}"`);
}

function updateConfig(u: Obj | undefined, path: ComposePath): UpdateConfig | undefined {
  if (!u) return undefined;
  const fa = u.failure_action === undefined ? undefined : String(u.failure_action);
  if (fa !== undefined && !['continue', 'pause', 'rollback'].includes(fa)) throw at([...path, 'failure_action'], `must be continue, pause or rollback, not "${fa}"`);
  return {
    Parallelism: u.parallelism === undefined ? 1 : Number(u.parallelism),
    ...(u.delay !== undefined ? { Delay: duration(u.delay, [...path, 'delay']) } : {}),
    ...(fa ? { FailureAction: fa as UpdateConfig['FailureAction'] } : {}),
    ...(u.monitor !== undefined ? { Monitor: duration(u.monitor, [...path, 'monitor']) } : {}),
    ...(u.max_failure_ratio !== undefined ? { MaxFailureRatio: Number(u.max_failure_ratio) } : {}),
    ...(u.order !== undefined ? { Order: u.order as UpdateConfig['Order'] } : {}),
  };
}

function mode(d: Obj, path: ComposePath): ServiceMode {
  const replicas = d.replicas === undefined ? 1 : Number(d.replicas);
  switch (d.mode ?? 'replicated') {
    case 'replicated': return { Replicated: { Replicas: replicas } };
    case 'global':
      if (d.replicas !== undefined) throw at([...path, 'replicas'], 'replicas can only be used with replicated or replicated-job mode');
      return { Global: {} };
    case 'replicated-job': return { ReplicatedJob: { MaxConcurrent: replicas, TotalCompletions: replicas } };
    case 'global-job': return { GlobalJob: {} };
    default: throw at([...path, 'mode'], `unknown mode "${String(d.mode)}" (replicated, global, replicated-job or global-job)`);
  }
}

function ulimits(u: Obj | undefined): Ulimit[] | undefined {
  if (!u) return undefined;
  return Object.entries(u).sort(([a], [b]) => a.localeCompare(b)).map(([Name, v]) => (
    typeof v === 'object' && v ? { Name, Soft: Number((v as Obj).soft), Hard: Number((v as Obj).hard) } : { Name, Soft: Number(v), Hard: Number(v) }
  ));
}

function extraHosts(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return Object.entries(listOrDict(v, ':')).map(([host, ip]) => `${ip ?? ''} ${host}`);
}

/** Converts the service `name` of the merged compose document to its ServiceSpec. */
export function convertService(name: string, svc: Obj, ctx: ServiceContext): ServiceSpec {
  checkKeys(name, svc, ctx);
  const p = (...rest: (string | number)[]) => ['services', name, ...rest];
  if (typeof svc.image !== 'string' || !svc.image) throw at(p('image'), 'an image is required (shoal stack deploy does not build images)');
  const d = (svc.deploy ?? {}) as Obj;
  const placement = (d.placement ?? {}) as Obj;
  let mounts: Mount[] | undefined;
  if (Array.isArray(svc.volumes) && svc.volumes.length) {
    mounts = svc.volumes.map((v, i) => parseVolume(v, { path: p('volumes', i), workingDir: ctx.workingDir, stack: ctx.stack, volume: ctx.volume }));
  }
  let command: string[] | undefined;
  let entrypoint: string[] | undefined;
  try {
    command = stringList(svc.command);
    entrypoint = stringList(svc.entrypoint);
  } catch (err) { throw at(p('command'), (err as Error).message); }
  const ports: PortConfig[] = [];
  for (const [i, port] of ((svc.ports ?? []) as unknown[]).entries()) ports.push(...parsePorts(port, p('ports', i)));
  ports.sort((a, b) => (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0));
  const hosts = extraHosts(svc.extra_hosts);
  const env = environment(name, svc, ctx);
  const health = healthcheck(svc.healthcheck as Obj | undefined, p('healthcheck'));
  const secrets = fileRefs('secrets', name, svc, ctx) as SecretReference[] | undefined;
  const configs = fileRefs('configs', name, svc, ctx) as ConfigReference[] | undefined;
  const limits = ulimits(svc.ulimits as Obj | undefined);
  const res = resources(d.resources as Obj | undefined, p('deploy', 'resources'));
  const restart = restartPolicy(svc, p('deploy', 'restart_policy'));
  const update = updateConfig(d.update_config as Obj | undefined, p('deploy', 'update_config'));
  const rollback = updateConfig(d.rollback_config as Obj | undefined, p('deploy', 'rollback_config'));
  const spec: ServiceSpec = {
    Name: `${ctx.stack}_${name}`,
    Labels: { ...withStackLabel(ctx.stack, d.labels), [LABEL_IMAGE]: svc.image },
    TaskTemplate: {
      ContainerSpec: {
        Image: svc.image,
        Labels: withStackLabel(ctx.stack, svc.labels),
        ...(entrypoint ? { Command: entrypoint } : {}),
        ...(command ? { Args: command } : {}),
        ...(svc.hostname !== undefined ? { Hostname: String(svc.hostname) } : {}),
        ...(hosts ? { Hosts: hosts } : {}),
        ...(env ? { Env: env } : {}),
        ...(svc.working_dir !== undefined ? { Dir: String(svc.working_dir) } : {}),
        ...(svc.user !== undefined ? { User: String(svc.user) } : {}),
        ...(mounts ? { Mounts: mounts } : {}),
        ...(svc.stop_grace_period !== undefined ? { StopGracePeriod: duration(svc.stop_grace_period, p('stop_grace_period')) } : {}),
        ...(svc.stop_signal !== undefined ? { StopSignal: String(svc.stop_signal) } : {}),
        ...(health ? { Healthcheck: health } : {}),
        ...(secrets ? { Secrets: secrets } : {}),
        ...(configs ? { Configs: configs } : {}),
        ...(svc.read_only ? { ReadOnly: true } : {}),
        ...(svc.sysctls !== undefined ? { Sysctls: Object.fromEntries(Object.entries(listOrDict(svc.sysctls)).map(([k, v]) => [k, v ?? ''])) } : {}),
        ...(svc.cap_add !== undefined ? { CapabilityAdd: (svc.cap_add as string[]).map(String) } : {}),
        ...(svc.cap_drop !== undefined ? { CapabilityDrop: (svc.cap_drop as string[]).map(String) } : {}),
        ...(limits ? { Ulimits: limits } : {}),
        // Docker's stack deploy ignores these four; Shoal applies them (issue 22).
        ...(svc.init ? { Init: true } : {}),
        ...(svc.devices !== undefined ? { Devices: devices(svc.devices, p('devices')) } : {}),
        ...(svc.shm_size !== undefined ? { ShmSize: bytes(svc.shm_size, p('shm_size')) } : {}),
        ...(svc.privileged ? { Privileges: { Privileged: true } } : {}),
      },
      ...(res ? { Resources: res } : {}),
      ...(restart ? { RestartPolicy: restart } : {}),
      Placement: {
        ...(placement.constraints ? { Constraints: (placement.constraints as string[]).map(String) } : {}),
        ...(placement.preferences ? { Preferences: (placement.preferences as Obj[]).map((x) => ({ Spread: { SpreadDescriptor: String(x.spread) } })) } : {}),
        ...(placement.max_replicas_per_node !== undefined ? { MaxReplicas: Number(placement.max_replicas_per_node) } : {}),
      },
      Networks: networks(name, svc, ctx),
    },
    Mode: mode(d, p('deploy')),
    EndpointSpec: {
      ...(d.endpoint_mode !== undefined ? { Mode: String(d.endpoint_mode).toLowerCase() as 'vip' | 'dnsrr' } : {}),
      ...(ports.length ? { Ports: ports } : {}),
    },
    ...(update ? { UpdateConfig: update } : {}),
    ...(rollback ? { RollbackConfig: rollback } : {}),
  };
  if (spec.EndpointSpec?.Mode && !['vip', 'dnsrr'].includes(spec.EndpointSpec.Mode)) throw at(p('deploy', 'endpoint_mode'), `must be vip or dnsrr, not "${String(d.endpoint_mode)}"`);
  return spec;
}
