/**
 * The embedded DNS's record logic, free of I/O: which addresses a name resolves to for
 * a task, scoped to the networks that task is on. The server (`server.ts`) wraps it.
 */

/** A service's records on one network. */
export interface DnsService {
  /** Service name, e.g. `web` (matched case-insensitively). */
  readonly name: string;
  /** `vip`: the name answers the VIP; `dnsrr`: it answers the task addresses. */
  readonly endpointMode: 'vip' | 'dnsrr';
  /** The service's VIP on this network (mode `vip`). */
  readonly vip?: string;
  /** Network aliases of the service on this network; they answer as the name does. */
  readonly aliases?: readonly string[];
  /** The running tasks attached to this network: task name (`web.1.<id>`) and address. */
  readonly tasks: readonly { readonly name: string; readonly ip: string }[];
}

/** Network id → the services attached to it. */
export type DnsTable = Readonly<Record<string, readonly DnsService[]>>;

/** The answer to one A question. */
export type DnsAnswer =
  /** Swarm name: these addresses (possibly none, e.g. a service with no running task). */
  | { readonly kind: 'answer'; readonly ips: readonly string[] }
  /** A swarm-looking name nobody has: answer NXDOMAIN. */
  | { readonly kind: 'nxdomain' }
  /** Not a swarm name: ask the upstream resolvers. */
  | { readonly kind: 'forward' };

/** The prefix that asks for a service's task addresses. */
export const TASKS_PREFIX = 'tasks.';

/** Lower-case, without the trailing dot. */
export function normalizeName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/**
 * Resolves `name` for a task on `networks` (in the task's attachment order; the first
 * network that knows the name answers, as Docker does). Order of lookup on each network:
 * service names and aliases (VIP, or task addresses for dnsrr), `tasks.NAME` (task
 * addresses), task names. A single-label name, or `tasks.` + a single label, that no
 * network knows is NXDOMAIN; any other unknown name is forwarded. Looks names up in an
 * index built once per table object (see {@link tableIndex}); the addresses answered are
 * the index's own arrays: callers must not change them.
 */
export function resolve(table: DnsTable, name: string, networks: readonly string[]): DnsAnswer {
  const q = normalizeName(name);
  if (q === '') return { kind: 'forward' };
  const index = tableIndex(table);
  for (const id of networks) {
    const hit = index.get(id)?.get(q);
    if (hit) return { kind: 'answer', ips: hit };
  }
  const label = q.startsWith(TASKS_PREFIX) ? q.slice(TASKS_PREFIX.length) : q;
  return label.includes('.') ? { kind: 'forward' } : { kind: 'nxdomain' };
}

/** Network id → lower-case name → the addresses it answers. */
export type TableIndex = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

const indexes = new WeakMap<DnsTable, TableIndex>();

/**
 * The index of `table`, built on first use and kept while the table object lives (a new
 * table is a new object: the daemon replaces it whole). Each query is then one map lookup
 * per network, with nothing allocated, instead of lower-casing every service and task name
 * of the table; lookups of task names and unknown names cost the same as a service name's.
 * The first entry for a name wins, entered in {@link resolve}'s order of lookup.
 */
export function tableIndex(table: DnsTable): TableIndex {
  let index = indexes.get(table);
  if (!index) {
    index = new Map(Object.entries(table).map(([id, services]) => [id, indexNetwork(services)]));
    indexes.set(table, index);
  }
  return index;
}

function indexNetwork(services: readonly DnsService[]): Map<string, readonly string[]> {
  const names = new Map<string, readonly string[]>();
  const add = (name: string, ips: readonly string[]) => { if (!names.has(name)) names.set(name, ips); };
  const labels = (s: DnsService) => [s.name, ...(s.aliases ?? [])].map((n) => n.toLowerCase());
  const taskIps = services.map((s) => Object.freeze(s.tasks.map((t) => t.ip)));
  services.forEach((s, i) => {
    const ips = s.endpointMode === 'dnsrr' ? taskIps[i] : Object.freeze(s.vip ? [s.vip] : []);
    for (const n of labels(s)) add(n, ips);
  });
  services.forEach((s, i) => { for (const n of labels(s)) add(TASKS_PREFIX + n, taskIps[i]); });
  for (const s of services) for (const t of s.tasks) add(t.name.toLowerCase(), Object.freeze([t.ip]));
  return names;
}
