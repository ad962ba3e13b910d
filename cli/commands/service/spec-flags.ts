/**
 * `service update` flags applied to a ServiceSpec the way docker's CLI applies them
 * (`--env-add` replaces a variable of the same name, `--publish-rm 80` drops every
 * port with that target, `--force` raises ForceUpdate, …), plus the value parsers other
 * service commands can share (mounts, health checks, update configs, command lines).
 * Pure: the caller fetches the service, applies the flags and sends the spec; a bad
 * value throws a plain `Error` with docker's wording and nothing is sent.
 */
import { Flags } from '@oclif/core';
import type { HealthConfig, Mount, PortConfig, ServiceSpec, UpdateConfig } from '../../../src/api/types/service.ts';
import { parseBytes } from '../../service-api.ts';
import { durationFlag, labelsToMap } from '../../swarm-options.ts';
import { parseNetworkAttachment, parsePublishList } from '../../network-options.ts';

const list = (summary: string) => Flags.string({ summary, multiple: true, multipleNonGreedy: true });

/** The `--update-*` or `--rollback-*` flags (docker's names). */
function updateConfigFlags(p: 'update' | 'rollback') {
  const what = p === 'update' ? 'updates' : 'rollbacks';
  return {
    [`${p}-parallelism`]: Flags.integer({ summary: `Maximum number of tasks ${p === 'update' ? 'updated' : 'rolled back'} simultaneously (0 to ${p} all at once).`, min: 0 }),
    [`${p}-delay`]: durationFlag(`Delay between ${what} (ns|us|ms|s|m|h).`),
    [`${p}-failure-action`]: Flags.string({ summary: `Action on ${p} failure.`, options: p === 'update' ? ['pause', 'continue', 'rollback'] : ['pause', 'continue'] }),
    [`${p}-monitor`]: durationFlag(`Duration after each task ${p} to monitor for failure (ns|us|ms|s|m|h).`),
    [`${p}-max-failure-ratio`]: Flags.string({ summary: `Failure rate to tolerate during ${p === 'update' ? 'an update' : 'a rollback'}.` }),
    [`${p}-order`]: Flags.string({ summary: `${p === 'update' ? 'Update' : 'Rollback'} order.`, options: ['start-first', 'stop-first'] }),
  };
}

/** The restart-policy and stop flags, the same for `service create` and `service update`. */
export const restartStopFlags = {
  'restart-condition': Flags.string({ summary: 'Restart when condition is met.', options: ['none', 'on-failure', 'any'] }),
  'restart-delay': durationFlag('Delay between restart attempts (ns|us|ms|s|m|h).'),
  'restart-max-attempts': Flags.integer({ summary: 'Maximum number of restarts before giving up.', min: 0 }),
  'restart-window': durationFlag('Window used to evaluate the restart policy (ns|us|ms|s|m|h).'),
  'stop-grace-period': durationFlag('Time to wait before force killing a container (ns|us|ms|s|m|h).'),
  'stop-signal': Flags.string({ summary: 'Signal to stop the container.' }),
};

/** Every flag of `shoal service update` that changes the spec. */
export const updateSpecFlags = {
  image: Flags.string({ summary: 'Service image tag.' }),
  args: Flags.string({ summary: 'Service command args.' }),
  'env-add': list('Add or update an environment variable.'),
  'env-rm': list('Remove an environment variable.'),
  'label-add': list('Add or update a service label.'),
  'label-rm': list('Remove a label by its key.'),
  'container-label-add': list('Add or update a container label.'),
  'container-label-rm': list('Remove a container label by its key.'),
  'mount-add': list('Add or update a mount on a service (type=bind|volume|tmpfs,source=…,target=…[,readonly]).'),
  'mount-rm': list('Remove a mount by its target path.'),
  'publish-add': list('Add or update a published port.'),
  'publish-rm': list('Remove a published port by its target port.'),
  'network-add': list('Add a network.'),
  'network-rm': list('Remove a network.'),
  'constraint-add': list('Add or update a placement constraint.'),
  'constraint-rm': list('Remove a constraint.'),
  'placement-pref-add': list('Add a placement preference.'),
  'placement-pref-rm': list('Remove a placement preference.'),
  replicas: Flags.integer({ summary: 'Number of tasks.', min: 0 }),
  'replicas-max-per-node': Flags.integer({ summary: 'Maximum number of tasks per node (0 = unlimited).', min: 0 }),
  'limit-cpu': Flags.string({ summary: 'Limit CPUs.' }),
  'limit-memory': Flags.string({ summary: 'Limit memory.' }),
  'limit-pids': Flags.integer({ summary: 'Limit maximum number of processes (0 = unlimited).', min: 0 }),
  'reserve-cpu': Flags.string({ summary: 'Reserve CPUs.' }),
  'reserve-memory': Flags.string({ summary: 'Reserve memory.' }),
  'health-cmd': Flags.string({ summary: 'Command to run to check health.' }),
  'health-interval': durationFlag('Time between running the check (ms|s|m|h).'),
  'health-timeout': durationFlag('Maximum time to allow one check to run (ms|s|m|h).'),
  'health-retries': Flags.integer({ summary: 'Consecutive failures needed to report unhealthy.', min: 0 }),
  'health-start-period': durationFlag('Start period for the container to initialize before counting retries towards unstable (ms|s|m|h).'),
  'no-healthcheck': Flags.boolean({ summary: 'Disable any container-specified HEALTHCHECK.' }),
  ...restartStopFlags,
  user: Flags.string({ char: 'u', summary: 'Username or UID (format: <name|uid>[:<group|gid>]).' }),
  workdir: Flags.string({ char: 'w', summary: 'Working directory inside the container.' }),
  hostname: Flags.string({ summary: 'Container hostname.' }),
  force: Flags.boolean({ summary: 'Force update even if no changes require it.' }),
  ...updateConfigFlags('update'),
  ...updateConfigFlags('rollback'),
};

/** Parsed flag values, by docker's flag name. */
export type SpecFlagValues = Record<string, unknown>;

/** Docker's `--args`/command-line splitting: whitespace separates, quotes group, backslash escapes. */
export function splitCommandLine(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (quote) throw new Error(`invalid command line: unterminated quote in ${JSON.stringify(s)}`);
  if (has || cur) out.push(cur);
  return out;
}

/** One `--mount` value: `type=bind|volume|tmpfs,source=S,target=T[,readonly][,tmpfs-size=N][,tmpfs-mode=M]`. */
export function parseMount(value: string): Mount {
  const m: Partial<Mount> = { Type: 'volume' };
  for (const field of value.split(',')) {
    const [rawKey, ...rest] = field.split('=');
    const key = rawKey.trim().toLowerCase();
    const val = rest.join('=');
    switch (key) {
      case 'type':
        if (!['bind', 'volume', 'tmpfs'].includes(val)) throw new Error(`invalid mount type "${val}": bind, volume or tmpfs`);
        m.Type = val as Mount['Type'];
        break;
      case 'source': case 'src':
        m.Source = val;
        break;
      case 'target': case 'dst': case 'destination':
        m.Target = val;
        break;
      case 'readonly': case 'ro':
        m.ReadOnly = rest.length === 0 || ['1', 'true'].includes(val.toLowerCase());
        break;
      case 'tmpfs-size':
        m.TmpfsOptions = { ...m.TmpfsOptions, SizeBytes: parseBytes(val) };
        break;
      case 'tmpfs-mode':
        m.TmpfsOptions = { ...m.TmpfsOptions, Mode: parseInt(val, 8) };
        break;
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!m.Target) throw new Error('target is required');
  return m as Mount;
}

/** A `--placement-pref` value's descriptor: only docker's `spread=DESCRIPTOR` form exists. */
export function spreadDescriptor(p: string): string {
  const m = /^spread=(.+)$/.exec(p);
  if (!m) throw new Error(`invalid placement preference "${p}": only spread=<descriptor> is supported`);
  return m[1];
}

/** `--update-max-failure-ratio` as a number in [0, 1]. */
export function parseRatio(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new Error(`invalid argument "${v}" for max failure ratio: must be a number between 0 and 1`);
  return n;
}

/** CPUs (`0.5`) as NanoCPUs. */
export function parseCpus(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`invalid argument "${v}" for cpus: must be a non-negative number`);
  return Math.round(n * 1e9);
}

/** The update (or rollback) config after its flags; undefined when none was given. */
export function applyUpdateConfigFlags(cur: UpdateConfig | undefined, f: SpecFlagValues, p: 'update' | 'rollback'): UpdateConfig | undefined {
  const g = (k: string) => f[`${p}-${k}`];
  if (['parallelism', 'delay', 'failure-action', 'monitor', 'max-failure-ratio', 'order'].every((k) => g(k) === undefined)) return cur;
  const u: UpdateConfig = { ...cur };
  if (g('parallelism') !== undefined) u.Parallelism = g('parallelism') as number;
  if (g('delay') !== undefined) u.Delay = g('delay') as number;
  if (g('failure-action') !== undefined) u.FailureAction = g('failure-action') as UpdateConfig['FailureAction'];
  if (g('monitor') !== undefined) u.Monitor = g('monitor') as number;
  if (g('max-failure-ratio') !== undefined) u.MaxFailureRatio = parseRatio(g('max-failure-ratio') as string);
  if (g('order') !== undefined) u.Order = g('order') as UpdateConfig['Order'];
  return u;
}

/** The health check after the `--health-*` flags; undefined when none was given. */
export function applyHealthFlags(cur: HealthConfig | undefined, f: SpecFlagValues): HealthConfig | undefined {
  const keys = ['health-cmd', 'health-interval', 'health-timeout', 'health-retries', 'health-start-period'];
  if (f['no-healthcheck']) {
    if (keys.some((k) => f[k] !== undefined)) throw new Error('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (keys.every((k) => f[k] === undefined)) return cur;
  const h: HealthConfig = { ...cur };
  if (h.Test?.[0] === 'NONE') delete h.Test;
  if (f['health-cmd'] !== undefined) h.Test = f['health-cmd'] ? ['CMD-SHELL', f['health-cmd'] as string] : undefined;
  if (f['health-interval'] !== undefined) h.Interval = f['health-interval'] as number;
  if (f['health-timeout'] !== undefined) h.Timeout = f['health-timeout'] as number;
  if (f['health-retries'] !== undefined) h.Retries = f['health-retries'] as number;
  if (f['health-start-period'] !== undefined) h.StartPeriod = f['health-start-period'] as number;
  return h;
}

const envKey = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
const portKey = (p: PortConfig) => `${p.TargetPort}/${p.Protocol ?? 'tcp'}`;

/** `--publish-rm` value: `TARGET[/PROTO]` or `target=T[,protocol=P]`; returns the key it removes. */
function publishRmKey(v: string): string {
  if (v.includes('=')) {
    const fields = Object.fromEntries(v.split(',').map((x) => x.split('=') as [string, string]));
    const t = fields.target ?? fields.published;
    if (!t) throw new Error(`invalid publish-rm value ${v}`);
    return `${t}/${fields.protocol ?? 'tcp'}`;
  }
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(v.includes(':') ? v.slice(v.lastIndexOf(':') + 1) : v);
  if (!m) throw new Error(`invalid publish-rm value ${v}: want TARGET[/PROTOCOL]`);
  return `${m[1]}/${m[2] ?? 'tcp'}`;
}

function removeKeys(map: Record<string, string> | undefined, keys: unknown): Record<string, string> | undefined {
  if (!keys) return map;
  const out = { ...map };
  for (const k of keys as string[]) delete out[k];
  return out;
}

/**
 * Applies `service update` flags to a copy of `spec` and returns it. `resolveNetwork`
 * maps a network name or ID prefix to the ID the spec stores (for `--network-rm`).
 * Removals run before additions, as in docker's CLI.
 */
export function applyUpdateFlags(spec: ServiceSpec, f: SpecFlagValues, resolveNetwork: (ref: string) => string = (r) => r): ServiceSpec {
  const s = structuredClone(spec);
  const t = s.TaskTemplate;
  const c = t.ContainerSpec;
  const arr = (k: string) => (f[k] as string[] | undefined) ?? [];

  if (f.image !== undefined) c.Image = f.image as string;
  if (f.args !== undefined) c.Args = splitCommandLine(f.args as string);
  if (f['env-rm'] || f['env-add']) {
    const drop = new Set([...arr('env-rm'), ...arr('env-add').map(envKey)]);
    c.Env = [...(c.Env ?? []).filter((e) => !drop.has(envKey(e))), ...arr('env-add')];
  }
  if (f['label-rm'] || f['label-add']) s.Labels = { ...removeKeys(s.Labels, f['label-rm']), ...labelsToMap(arr('label-add')) };
  if (f['container-label-rm'] || f['container-label-add']) c.Labels = { ...removeKeys(c.Labels, f['container-label-rm']), ...labelsToMap(arr('container-label-add')) };
  if (f['mount-rm'] || f['mount-add']) {
    const added = arr('mount-add').map(parseMount);
    const drop = new Set([...arr('mount-rm'), ...added.map((m) => m.Target)]);
    c.Mounts = [...(c.Mounts ?? []).filter((m) => !drop.has(m.Target)), ...added];
  }
  if (f['publish-rm'] || f['publish-add']) {
    const added = parsePublishList(arr('publish-add'));
    const drop = new Set([...arr('publish-rm').map(publishRmKey), ...added.map(portKey)]);
    const ep = (s.EndpointSpec ??= {});
    ep.Ports = [...(ep.Ports ?? []).filter((p) => !drop.has(portKey(p))), ...added];
  }
  if (f['network-rm'] || f['network-add']) {
    // Attachments may sit in the deprecated Spec.Networks; docker's CLI moves them over.
    const cur = [...(t.Networks ?? []), ...(s.Networks ?? [])];
    delete s.Networks;
    const drop = new Set(arr('network-rm').map(resolveNetwork));
    const added = arr('network-add').map(parseNetworkAttachment);
    for (const a of added) {
      const id = resolveNetwork(a.Target);
      if (cur.some((n) => n.Target === id) && !drop.has(id)) throw new Error(`service is already attached to network ${a.Target}`);
    }
    t.Networks = [...cur.filter((n) => !drop.has(n.Target)), ...added];
  }
  const pl = (t.Placement ??= {});
  if (f['constraint-rm'] || f['constraint-add']) {
    const drop = new Set(arr('constraint-rm'));
    const kept = (pl.Constraints ?? []).filter((x) => !drop.has(x));
    pl.Constraints = [...kept, ...arr('constraint-add').filter((x) => !kept.includes(x))];
  }
  if (f['placement-pref-rm'] || f['placement-pref-add']) {
    const drop = new Set(arr('placement-pref-rm').map(spreadDescriptor));
    pl.Preferences = [...(pl.Preferences ?? []).filter((p) => !drop.has(p.Spread.SpreadDescriptor)), ...arr('placement-pref-add').map((p) => ({ Spread: { SpreadDescriptor: spreadDescriptor(p) } }))];
  }
  if (f['replicas-max-per-node'] !== undefined) pl.MaxReplicas = f['replicas-max-per-node'] as number;
  if (f.replicas !== undefined) {
    if (s.Mode?.Replicated) s.Mode.Replicated.Replicas = f.replicas as number;
    else if (s.Mode?.ReplicatedJob) s.Mode.ReplicatedJob.TotalCompletions = f.replicas as number;
    else throw new Error('replicas can only be used with replicated or replicated-job mode');
  }
  const res = (t.Resources ??= {});
  if (f['limit-cpu'] !== undefined) res.Limits = { ...res.Limits, NanoCPUs: parseCpus(f['limit-cpu'] as string) };
  if (f['limit-memory'] !== undefined) res.Limits = { ...res.Limits, MemoryBytes: parseBytes(f['limit-memory'] as string) };
  if (f['limit-pids'] !== undefined) res.Limits = { ...res.Limits, Pids: f['limit-pids'] as number };
  if (f['reserve-cpu'] !== undefined) res.Reservations = { ...res.Reservations, NanoCPUs: parseCpus(f['reserve-cpu'] as string) };
  if (f['reserve-memory'] !== undefined) res.Reservations = { ...res.Reservations, MemoryBytes: parseBytes(f['reserve-memory'] as string) };
  const health = applyHealthFlags(c.Healthcheck, f);
  if (health) c.Healthcheck = health;
  const rp = (t.RestartPolicy ??= {});
  if (f['restart-condition'] !== undefined) rp.Condition = f['restart-condition'] as 'none' | 'on-failure' | 'any';
  if (f['restart-delay'] !== undefined) rp.Delay = f['restart-delay'] as number;
  if (f['restart-max-attempts'] !== undefined) rp.MaxAttempts = f['restart-max-attempts'] as number;
  if (f['restart-window'] !== undefined) rp.Window = f['restart-window'] as number;
  if (f['stop-grace-period'] !== undefined) c.StopGracePeriod = f['stop-grace-period'] as number;
  if (f['stop-signal'] !== undefined) c.StopSignal = f['stop-signal'] as string;
  if (f.user !== undefined) c.User = f.user as string;
  if (f.workdir !== undefined) c.Dir = f.workdir as string;
  if (f.hostname !== undefined) c.Hostname = f.hostname as string;
  const uc = applyUpdateConfigFlags(s.UpdateConfig, f, 'update');
  if (uc) s.UpdateConfig = uc;
  const rc = applyUpdateConfigFlags(s.RollbackConfig, f, 'rollback');
  if (rc) s.RollbackConfig = rc;
  if (f.force) t.ForceUpdate = (t.ForceUpdate ?? 0) + 1;
  return s;
}
