/**
 * The host-access flags of `service create` and `service update`: `--device`
 * (Shoal's; docker services have none), `--sysctl`, `--ulimit`, `--shm-size` (Shoal's),
 * `--init` and `--generic-resource`, mapped onto `ContainerSpec.Devices/Sysctls/Ulimits/
 * ShmSize/Init` and `Resources.Reservations.GenericResources`. Update takes docker's
 * `-add`/`-rm` pairs. Also Shoal's `--rebalance=true|false` (the `com.shoal.rebalance`
 * service label). Pure: a bad value throws a plain Error naming the flag.
 */
import { Flags } from '@oclif/core';
import type { ContainerSpec, GenericResource, ServiceSpec, Ulimit } from '../../../src/api/types/service.ts';
import { parseDevice, parseGenericResource } from '../../../src/api/spec/host-access.ts';
import { withRebalanceFlag } from '../../../src/api/spec/rebalance-policy.ts';
import { parseBytes } from '../../service-api.ts';

const many = { multiple: true, multipleNonGreedy: true } as const;

/** `service create` flags. */
export const hostCreateFlags = {
  device: Flags.string({ summary: 'Give the tasks a host device: HOST[:CONTAINER[:rwm]] (Shoal extension); repeatable.', ...many }),
  sysctl: Flags.string({ summary: 'Namespaced kernel parameter NAME=VALUE (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*); repeatable.', ...many }),
  ulimit: Flags.string({ summary: 'Ulimit NAME=SOFT[:HARD] (nofile=1024:2048); repeatable.', ...many }),
  'shm-size': Flags.string({ summary: 'Size of /dev/shm (e.g. 128m; default 64m) (Shoal extension).' }),
  init: Flags.boolean({ summary: 'Run an init (tini) inside each task that forwards signals and reaps processes.' }),
  'generic-resource': Flags.string({ summary: 'Reserve a node-advertised resource KIND=N (gpu=1); repeatable.', ...many }),
  rebalance: Flags.string({ summary: 'Whether tasks move to nodes that join or come back (Shoal; default true).', options: ['true', 'false'] }),
};

/** `service update` flags. */
export const hostUpdateFlags = {
  'device-add': Flags.string({ summary: 'Add a host device: HOST[:CONTAINER[:rwm]] (Shoal extension); repeatable.', ...many }),
  'device-rm': Flags.string({ summary: 'Remove a device by its container path; repeatable.', ...many }),
  'sysctl-add': Flags.string({ summary: 'Add or update a sysctl NAME=VALUE; repeatable.', ...many }),
  'sysctl-rm': Flags.string({ summary: 'Remove a sysctl by name; repeatable.', ...many }),
  'ulimit-add': Flags.string({ summary: 'Add or update a ulimit NAME=SOFT[:HARD]; repeatable.', ...many }),
  'ulimit-rm': Flags.string({ summary: 'Remove a ulimit by name; repeatable.', ...many }),
  'shm-size': Flags.string({ summary: 'Size of /dev/shm (e.g. 128m; 0 for the default) (Shoal extension).' }),
  init: Flags.boolean({ summary: 'Run an init inside each task (--no-init: none).', allowNo: true }),
  'generic-resource-add': Flags.string({ summary: 'Reserve a node-advertised resource KIND=N; repeatable.', ...many }),
  'generic-resource-rm': Flags.string({ summary: 'Drop the reservation of a resource kind; repeatable.', ...many }),
  rebalance: Flags.string({ summary: 'Whether tasks move to nodes that join or come back (Shoal; default true).', options: ['true', 'false'] }),
};

/** Parses `NAME=SOFT[:HARD]` (HARD defaults to SOFT). */
export function parseUlimit(v: string): Ulimit {
  const m = /^([a-z]+)=(\d+)(?::(\d+))?$/.exec(v.trim());
  if (!m) throw new Error(`invalid --ulimit "${v}": expected NAME=SOFT[:HARD] with numbers (nofile=1024:2048)`);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (soft > hard) throw new Error(`invalid --ulimit "${v}": soft limit above hard limit`);
  return { Name: m[1], Soft: soft, Hard: hard };
}

function parseSysctl(v: string): [string, string] {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new Error(`invalid --sysctl "${v}": expected NAME=VALUE`);
  return [v.slice(0, eq).trim(), v.slice(eq + 1)];
}

const list = (flags: Record<string, unknown>, k: string): string[] => (flags[k] as string[] | undefined) ?? [];

/** Sets the host-access fields of a new service's spec from the create flags. */
export function applyHostCreateFlags(spec: ServiceSpec, flags: Record<string, unknown>): void {
  const c = spec.TaskTemplate.ContainerSpec;
  const devices = list(flags, 'device').map(parseDevice);
  if (devices.length) c.Devices = devices;
  const sysctls = list(flags, 'sysctl').map(parseSysctl);
  if (sysctls.length) c.Sysctls = { ...c.Sysctls, ...Object.fromEntries(sysctls) };
  const ulimits = list(flags, 'ulimit').map(parseUlimit);
  if (ulimits.length) c.Ulimits = ulimits;
  if (flags['shm-size'] !== undefined) c.ShmSize = parseBytes(flags['shm-size'] as string);
  if (flags.init) c.Init = true;
  const generic = list(flags, 'generic-resource').map((g) => parseGenericResource(g));
  if (generic.length) setGeneric(spec, generic);
  if (flags.rebalance !== undefined) spec.Labels = withRebalanceFlag(spec.Labels, flags.rebalance as string);
}

function setGeneric(spec: ServiceSpec, generic: GenericResource[]): void {
  const res = { ...spec.TaskTemplate.Resources };
  res.Reservations = { ...res.Reservations, GenericResources: generic };
  if (!generic.length) delete res.Reservations.GenericResources;
  spec.TaskTemplate.Resources = res;
}

/** Applies the update flags to `spec` in place (`-rm` before `-add`, as docker does). */
export function applyHostUpdateFlags(spec: ServiceSpec, flags: Record<string, unknown>): void {
  const c: ContainerSpec = spec.TaskTemplate.ContainerSpec;
  if (flags['device-rm'] !== undefined || flags['device-add'] !== undefined) {
    const rm = new Set(list(flags, 'device-rm'));
    const add = list(flags, 'device-add').map(parseDevice);
    const kept = (c.Devices ?? []).filter((d) => !rm.has(d.PathInContainer || d.PathOnHost) && !add.some((a) => a.PathInContainer === (d.PathInContainer || d.PathOnHost)));
    c.Devices = [...kept, ...add];
    if (!c.Devices.length) delete c.Devices;
  }
  if (flags['sysctl-rm'] !== undefined || flags['sysctl-add'] !== undefined) {
    const s = { ...c.Sysctls };
    for (const k of list(flags, 'sysctl-rm')) delete s[k];
    Object.assign(s, Object.fromEntries(list(flags, 'sysctl-add').map(parseSysctl)));
    c.Sysctls = s;
  }
  if (flags['ulimit-rm'] !== undefined || flags['ulimit-add'] !== undefined) {
    const add = list(flags, 'ulimit-add').map(parseUlimit);
    const rm = new Set([...list(flags, 'ulimit-rm'), ...add.map((u) => u.Name)]);
    c.Ulimits = [...(c.Ulimits ?? []).filter((u) => !rm.has(u.Name)), ...add];
  }
  if (flags['shm-size'] !== undefined) {
    const n = parseBytes(flags['shm-size'] as string);
    if (n) c.ShmSize = n;
    else delete c.ShmSize;
  }
  if (flags.init !== undefined) c.Init = !!flags.init;
  if (flags['generic-resource-rm'] !== undefined || flags['generic-resource-add'] !== undefined) {
    const add = list(flags, 'generic-resource-add').map((g) => parseGenericResource(g));
    const rm = new Set([...list(flags, 'generic-resource-rm').map((k) => k.split('=')[0]), ...add.map((g) => g.DiscreteResourceSpec!.Kind)]);
    const cur = spec.TaskTemplate.Resources?.Reservations?.GenericResources ?? [];
    setGeneric(spec, [...cur.filter((g) => !rm.has(g.DiscreteResourceSpec?.Kind ?? g.NamedResourceSpec?.Kind ?? '')), ...add]);
  }
  if (flags.rebalance !== undefined) spec.Labels = withRebalanceFlag(spec.Labels, flags.rebalance as string);
}
