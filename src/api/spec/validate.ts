/**
 * The field-by-field checks behind `validateServiceSpec`: each returns the first
 * problem as `{ field, reason }`, the field written as a path into the spec
 * (`TaskTemplate.ContainerSpec.Mounts[1].Target`). Pure; no defaults are applied here.
 */
import type { ContainerSpec, EndpointSpec, Mount, ServiceSpec, TaskSpec, UpdateConfig } from '../types/service.ts';
import { ConstraintSyntaxError, ENGINE_LABEL_PREFIX, NODE_LABEL_PREFIX, parseConstraints } from './constraint.ts';
import { TemplateError, checkTemplate } from './template.ts';
import { checkShape } from './shape.ts';
import { checkSandboxFields } from './privileges.ts';
import { checkHostAccess } from './host-access.ts';

/** One validation failure: where, and why (lower case, no trailing period). */
export interface SpecProblem {
  field: string;
  reason: string;
}

type Check = SpecProblem | undefined;

/** Docker's service name syntax (`docker service create --name`), at most 63 characters. */
export const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
export const MAX_NAME_LENGTH = 63;
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const MIN_NANO_CPUS = 1e6;
const MIN_MEMORY = 4 * 1024 * 1024;
const MS_NS = 1_000_000;

/**
 * Upper bounds, so one request cannot take a manager's memory or break a timer.
 * Tasks: every manager keeps every task in memory (about 2 KiB each, times the task
 * history kept per slot), so a service asks for at most 10,000 of them at once.
 */
export const MAX_REPLICAS = 10_000;
/** Counts that do not make tasks at once (restart attempts, health retries, job completions). */
export const MAX_COUNT = 1_000_000;
/**
 * Durations (ns) become timers; Node's timers take at most 2^31-1 ms (24.8 days) and fire
 * after 1 ms beyond that, turning a long delay into a busy loop. 24 days is the cap.
 */
export const MAX_DURATION_NS = 24 * 24 * 3600 * 1_000_000_000;
/** 4096 CPUs, in nano-CPUs. */
const MAX_NANO_CPUS = 4096 * 1e9;
/** Linux's largest pid_max (2^22). */
const MAX_PIDS = 4_194_304;

const bad = (field: string, reason: string): SpecProblem => ({ field, reason });

/** An integer in [0, max]; `unit` names what it counts in the message. */
function nonNegInt(field: string, v: unknown, max: number = Number.MAX_SAFE_INTEGER): Check {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) return bad(field, 'must be an integer');
  if (v < 0) return bad(field, `must not be negative (got ${v})`);
  return v > max ? bad(field, `must be at most ${max} (got ${v})`) : undefined;
}

/** A duration in ns, in [0, MAX_DURATION_NS]. */
function duration(field: string, v: unknown): Check {
  const p = nonNegInt(field, v, Number.MAX_VALUE);
  if (p) return p;
  return typeof v === 'number' && v > MAX_DURATION_NS ? bad(field, `must be at most 576h0m0s (24 days; got ${v}ns)`) : undefined;
}

function first(...checks: (() => Check)[]): Check {
  for (const c of checks) {
    const p = c();
    if (p) return p;
  }
  return undefined;
}

function template(field: string, text: string | undefined): Check {
  if (text === undefined) return undefined;
  try {
    checkTemplate(text);
    return undefined;
  } catch (err) {
    if (err instanceof TemplateError) return bad(field, err.message);
    throw err;
  }
}

function checkName(name: unknown): Check {
  if (typeof name !== 'string' || name === '') return bad('Name', 'must not be empty');
  if (name.length > MAX_NAME_LENGTH) return bad('Name', `must be at most ${MAX_NAME_LENGTH} characters (got ${name.length})`);
  if (!SERVICE_NAME.test(name)) return bad('Name', `"${name}" is invalid: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return undefined;
}

function checkMode(spec: ServiceSpec): Check {
  const mode = spec.Mode;
  if (!mode) return undefined;
  const set = (['Replicated', 'Global', 'ReplicatedJob', 'GlobalJob'] as const).filter((k) => mode[k] !== undefined);
  if (set.length > 1) return bad('Mode', `only one of Replicated, Global, ReplicatedJob, GlobalJob may be set (got ${set.join(', ')})`);
  const job = set[0] === 'ReplicatedJob' || set[0] === 'GlobalJob';
  return first(
    () => nonNegInt('Mode.Replicated.Replicas', mode.Replicated?.Replicas, MAX_REPLICAS),
    () => nonNegInt('Mode.ReplicatedJob.MaxConcurrent', mode.ReplicatedJob?.MaxConcurrent, MAX_REPLICAS),
    () => nonNegInt('Mode.ReplicatedJob.TotalCompletions', mode.ReplicatedJob?.TotalCompletions, MAX_COUNT),
    () => (job && spec.UpdateConfig ? bad('UpdateConfig', 'jobs do not support update configuration') : undefined),
    () => (job && spec.RollbackConfig ? bad('RollbackConfig', 'jobs do not support rollback configuration') : undefined),
    () =>
      set[0] !== undefined && set[0] !== 'Replicated' && (spec.TaskTemplate?.Placement?.MaxReplicas ?? 0) > 0
        ? bad('TaskTemplate.Placement.MaxReplicas', 'can only be used with replicated mode')
        : undefined,
  );
}

function checkMount(f: string, m: Mount): Check {
  if (!['bind', 'volume', 'tmpfs'].includes(m.Type)) return bad(`${f}.Type`, `unknown mount type "${String(m.Type)}" (bind, volume, tmpfs)`);
  if (!m.Target) return bad(`${f}.Target`, 'must not be empty');
  if (!m.Target.startsWith('/') && !m.Target.includes('{{')) return bad(`${f}.Target`, `"${m.Target}" must be an absolute path`);
  if (m.Type === 'bind') {
    if (!m.Source) return bad(`${f}.Source`, 'must not be empty for a bind mount');
    if (!m.Source.startsWith('/') && !m.Source.includes('{{')) return bad(`${f}.Source`, `"${m.Source}" must be an absolute path for a bind mount`);
    if (m.BindOptions?.Propagation && !['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(m.BindOptions.Propagation)) {
      return bad(`${f}.BindOptions.Propagation`, `unknown propagation "${m.BindOptions.Propagation}"`);
    }
  } else if (m.BindOptions) return bad(`${f}.BindOptions`, `only allowed for bind mounts, not ${m.Type}`);
  if (m.Type === 'tmpfs') {
    if (m.Source) return bad(`${f}.Source`, 'must be empty for a tmpfs mount');
    const t = nonNegInt(`${f}.TmpfsOptions.SizeBytes`, m.TmpfsOptions?.SizeBytes) ?? nonNegInt(`${f}.TmpfsOptions.Mode`, m.TmpfsOptions?.Mode, 0o7777);
    if (t) return t;
  } else if (m.TmpfsOptions) return bad(`${f}.TmpfsOptions`, `only allowed for tmpfs mounts, not ${m.Type}`);
  if (m.Type === 'volume') {
    // Docker names an anonymous volume after the container and removes it with it; the
    // node's volume store has no such lifetime yet, so refuse rather than fail the task.
    if (!m.Source) return bad(`${f}.Source`, 'anonymous volumes (a volume mount without a source) are not supported yet: name the volume');
    if (m.Source && !m.Source.includes('{{') && !VOLUME_NAME.test(m.Source)) return bad(`${f}.Source`, `"${m.Source}" is not a valid volume name`);
  } else if (m.VolumeOptions) return bad(`${f}.VolumeOptions`, `only allowed for volume mounts, not ${m.Type}`);
  return first(
    () => template(`${f}.Source`, m.Source),
    () => template(`${f}.Target`, m.Target),
  );
}

function checkContainer(c: ContainerSpec | undefined): Check {
  const p = 'TaskTemplate.ContainerSpec';
  if (!c) return bad(p, 'must be given');
  if (typeof c.Image !== 'string' || c.Image.trim() === '') return bad(`${p}.Image`, 'must not be empty');
  const seen = new Set<string>();
  return first(
    () => duration(`${p}.StopGracePeriod`, c.StopGracePeriod),
    () => template(`${p}.Hostname`, c.Hostname),
    () => {
      for (const [i, e] of (c.Env ?? []).entries()) {
        if (typeof e !== 'string' || e === '' || e.startsWith('=')) return bad(`${p}.Env[${i}]`, `"${String(e)}" must be KEY=VALUE or KEY`);
        const t = template(`${p}.Env[${i}]`, e);
        if (t) return t;
      }
      return undefined;
    },
    () => {
      for (const [i, m] of (c.Mounts ?? []).entries()) {
        const r = checkMount(`${p}.Mounts[${i}]`, m);
        if (r) return r;
        if (seen.has(m.Target)) return bad(`${p}.Mounts[${i}].Target`, `duplicate mount point "${m.Target}"`);
        seen.add(m.Target);
      }
      return undefined;
    },
    () => {
      const h = c.Healthcheck;
      if (!h) return undefined;
      if (h.Test && h.Test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(h.Test[0])) {
        return bad(`${p}.Healthcheck.Test`, `must start with NONE, CMD or CMD-SHELL (got "${h.Test[0]}")`);
      }
      for (const k of ['Interval', 'Timeout', 'StartPeriod'] as const) {
        const v = h[k];
        if (v !== undefined && v !== 0 && v < MS_NS) return bad(`${p}.Healthcheck.${k}`, 'must be at least 1ms');
        const d = duration(`${p}.Healthcheck.${k}`, v);
        if (d) return d;
      }
      return nonNegInt(`${p}.Healthcheck.Retries`, h.Retries, MAX_COUNT);
    },
    () => refs(`${p}.Secrets`, (c.Secrets ?? []).map((s) => ({ name: s.SecretName, file: s.File?.Name }))),
    () => refs(`${p}.Configs`, (c.Configs ?? []).map((s) => ({ name: s.ConfigName, file: s.File?.Name }))),
    () => checkSandboxFields(c),
    () => {
      for (const [i, u] of (c.Ulimits ?? []).entries()) {
        if (!u.Name) return bad(`${p}.Ulimits[${i}].Name`, 'must not be empty');
        if (u.Soft > u.Hard) return bad(`${p}.Ulimits[${i}]`, `soft limit ${u.Soft} is above hard limit ${u.Hard}`);
      }
      return undefined;
    },
  );
}

function refs(field: string, list: { name: string; file: string | undefined }[]): Check {
  const targets = new Set<string>();
  for (const [i, r] of list.entries()) {
    if (!r.name) return bad(`${field}[${i}]`, 'name must not be empty');
    if (r.file !== undefined) {
      if (r.file === '') return bad(`${field}[${i}].File.Name`, 'must not be empty');
      if (targets.has(r.file)) return bad(`${field}[${i}].File.Name`, `duplicate target "${r.file}"`);
      targets.add(r.file);
    }
  }
  return undefined;
}

function checkResources(t: TaskSpec): Check {
  for (const kind of ['Limits', 'Reservations'] as const) {
    const r = t.Resources?.[kind];
    if (!r) continue;
    const f = `TaskTemplate.Resources.${kind}`;
    const p = first(
      () => nonNegInt(`${f}.NanoCPUs`, r.NanoCPUs, MAX_NANO_CPUS),
      () => nonNegInt(`${f}.MemoryBytes`, r.MemoryBytes),
      () => nonNegInt(`${f}.Pids`, r.Pids, MAX_PIDS),
      () => (r.NanoCPUs && r.NanoCPUs < MIN_NANO_CPUS ? bad(`${f}.NanoCPUs`, `${r.NanoCPUs / 1e9} CPUs is below the minimum of 0.001`) : undefined),
      () => (r.MemoryBytes && r.MemoryBytes < MIN_MEMORY ? bad(`${f}.MemoryBytes`, `${r.MemoryBytes} bytes is below the minimum of 4MiB`) : undefined),
    );
    if (p) return p;
  }
  const l = t.Resources?.Limits;
  const r = t.Resources?.Reservations;
  if (l?.NanoCPUs && r?.NanoCPUs && r.NanoCPUs > l.NanoCPUs) return bad('TaskTemplate.Resources.Reservations.NanoCPUs', 'must not exceed the limit');
  if (l?.MemoryBytes && r?.MemoryBytes && r.MemoryBytes > l.MemoryBytes) return bad('TaskTemplate.Resources.Reservations.MemoryBytes', 'must not exceed the limit');
  return undefined;
}

function checkTask(t: TaskSpec | undefined): Check {
  if (!t) return bad('TaskTemplate', 'must be given');
  const rp = t.RestartPolicy;
  const pl = t.Placement;
  return first(
    () => checkContainer(t.ContainerSpec),
    () => checkHostAccess(t),
    () => checkResources(t),
    () =>
      rp?.Condition !== undefined && !['none', 'on-failure', 'any'].includes(rp.Condition)
        ? bad('TaskTemplate.RestartPolicy.Condition', `unknown restart condition "${String(rp.Condition)}" (none, on-failure, any)`)
        : undefined,
    () => duration('TaskTemplate.RestartPolicy.Delay', rp?.Delay),
    () => nonNegInt('TaskTemplate.RestartPolicy.MaxAttempts', rp?.MaxAttempts, MAX_COUNT),
    () => duration('TaskTemplate.RestartPolicy.Window', rp?.Window),
    () => {
      try {
        parseConstraints(pl?.Constraints ?? []);
        return undefined;
      } catch (err) {
        if (err instanceof ConstraintSyntaxError) return bad('TaskTemplate.Placement.Constraints', err.message);
        throw err;
      }
    },
    () => {
      for (const [i, pref] of (pl?.Preferences ?? []).entries()) {
        const d = pref?.Spread?.SpreadDescriptor;
        const ok = typeof d === 'string' && [NODE_LABEL_PREFIX, ENGINE_LABEL_PREFIX].some((x) => d.length > x.length && d.toLowerCase().startsWith(x));
        if (!ok) return bad(`TaskTemplate.Placement.Preferences[${i}].Spread.SpreadDescriptor`, `"${String(d)}" must be node.labels.NAME or engine.labels.NAME`);
      }
      return undefined;
    },
    () => nonNegInt('TaskTemplate.Placement.MaxReplicas', pl?.MaxReplicas, MAX_REPLICAS),
    () => networks('TaskTemplate.Networks', t.Networks),
    () => (t.Runtime !== undefined && t.Runtime !== 'container' ? bad('TaskTemplate.Runtime', `unsupported runtime "${t.Runtime}"`) : undefined),
  );
}

function networks(field: string, list: { Target: string }[] | undefined): Check {
  const seen = new Set<string>();
  for (const [i, n] of (list ?? []).entries()) {
    if (!n.Target) return bad(`${field}[${i}].Target`, 'must not be empty');
    if (seen.has(n.Target)) return bad(`${field}[${i}].Target`, `network "${n.Target}" attached more than once`);
    seen.add(n.Target);
  }
  return undefined;
}

function checkUpdate(field: string, u: UpdateConfig | undefined): Check {
  if (!u) return undefined;
  return first(
    () => nonNegInt(`${field}.Parallelism`, u.Parallelism, MAX_REPLICAS),
    () => duration(`${field}.Delay`, u.Delay),
    () => duration(`${field}.Monitor`, u.Monitor),
    () =>
      u.FailureAction !== undefined && !['continue', 'pause', 'rollback'].includes(u.FailureAction)
        ? bad(`${field}.FailureAction`, `unknown failure action "${String(u.FailureAction)}" (continue, pause, rollback)`)
        : undefined,
    () => (u.Order !== undefined && !['stop-first', 'start-first'].includes(u.Order) ? bad(`${field}.Order`, `unknown order "${String(u.Order)}" (stop-first, start-first)`) : undefined),
    () =>
      u.MaxFailureRatio !== undefined && !(u.MaxFailureRatio >= 0 && u.MaxFailureRatio <= 1)
        ? bad(`${field}.MaxFailureRatio`, `must be between 0 and 1 (got ${u.MaxFailureRatio})`)
        : undefined,
  );
}

function checkEndpoint(e: EndpointSpec | undefined): Check {
  if (!e) return undefined;
  if (e.Mode !== undefined && e.Mode !== 'vip' && e.Mode !== 'dnsrr') return bad('EndpointSpec.Mode', `unknown endpoint mode "${String(e.Mode)}" (vip, dnsrr)`);
  const used = new Set<string>();
  for (const [i, p] of (e.Ports ?? []).entries()) {
    const f = `EndpointSpec.Ports[${i}]`;
    const mode = p.PublishMode ?? 'ingress';
    const proto = p.Protocol ?? 'tcp';
    if (proto === 'sctp') return bad(`${f}.Protocol`, 'sctp is not supported (tcp, udp)');
    if (!['tcp', 'udp'].includes(proto)) return bad(`${f}.Protocol`, `unknown protocol "${String(proto)}" (tcp, udp)`);
    if (mode !== 'ingress' && mode !== 'host') return bad(`${f}.PublishMode`, `unknown publish mode "${String(mode)}" (ingress, host)`);
    if (!Number.isInteger(p.TargetPort) || p.TargetPort < 1 || p.TargetPort > 65535) return bad(`${f}.TargetPort`, `${String(p.TargetPort)} is not a port (1-65535)`);
    const pub = p.PublishedPort ?? 0;
    if (!Number.isInteger(pub) || pub < 0 || pub > 65535) return bad(`${f}.PublishedPort`, `${String(pub)} is not a port (1-65535, or 0 to have one picked)`);
    // Even a port left at 0 is published (the allocator picks one): the routing mesh needs a VIP.
    if (e.Mode === 'dnsrr' && mode === 'ingress') return bad(`${f}.PublishMode`, "port published with ingress mode can't be used with dnsrr mode");
    if (pub === 0) continue;
    const key = `${pub}/${proto}`;
    if (used.has(key)) return bad(`${f}.PublishedPort`, `duplicate published port ${key}`);
    used.add(key);
  }
  return undefined;
}

function checkLabels(field: string, labels: unknown): Check {
  if (labels === undefined || labels === null) return undefined;
  if (typeof labels !== 'object') return bad(field, 'must be an object of strings');
  for (const [k, v] of Object.entries(labels)) {
    if (k === '') return bad(field, 'label names must not be empty');
    if (typeof v !== 'string') return bad(`${field}.${k}`, 'must be a string');
  }
  return undefined;
}

/**
 * The first problem with `spec`, or undefined when it is valid: JSON types and fields
 * Shoal does not implement first (`shape.ts`; `status` 501 for the latter), then values.
 */
export function validateServiceSpecFields(spec: ServiceSpec): (SpecProblem & { status?: 400 | 501 }) | undefined {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return bad('ServiceSpec', 'must be an object');
  const shape = checkShape('ServiceSpec', spec);
  if (shape) return shape;
  return first(
    () => checkName(spec.Name),
    () => checkLabels('Labels', spec.Labels),
    () => checkMode(spec),
    () => checkTask(spec.TaskTemplate),
    () => checkUpdate('UpdateConfig', spec.UpdateConfig),
    () => checkUpdate('RollbackConfig', spec.RollbackConfig),
    () => networks('Networks', spec.Networks),
    () => checkEndpoint(spec.EndpointSpec),
  );
}
