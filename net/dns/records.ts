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
 * network knows is NXDOMAIN; any other unknown name is forwarded.
 */
export function resolve(table: DnsTable, name: string, networks: readonly string[]): DnsAnswer {
  const q = normalizeName(name);
  if (q === '') return { kind: 'forward' };
  for (const id of networks) {
    const services = table[id];
    if (!services) continue;
    const hit = lookupOn(services, q);
    if (hit) return { kind: 'answer', ips: hit };
  }
  const label = q.startsWith(TASKS_PREFIX) ? q.slice(TASKS_PREFIX.length) : q;
  return label.includes('.') ? { kind: 'forward' } : { kind: 'nxdomain' };
}

function lookupOn(services: readonly DnsService[], q: string): readonly string[] | undefined {
  for (const s of services) {
    if (named(s, q)) {
      if (s.endpointMode === 'dnsrr') return s.tasks.map((t) => t.ip);
      return s.vip ? [s.vip] : [];
    }
  }
  if (q.startsWith(TASKS_PREFIX)) {
    const rest = q.slice(TASKS_PREFIX.length);
    for (const s of services) if (named(s, rest)) return s.tasks.map((t) => t.ip);
  }
  for (const s of services) {
    for (const t of s.tasks) if (t.name.toLowerCase() === q) return [t.ip];
  }
  return undefined;
}

function named(s: DnsService, q: string): boolean {
  return s.name.toLowerCase() === q || (s.aliases ?? []).some((a) => a.toLowerCase() === q);
}
