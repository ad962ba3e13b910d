// What the chaos checks read from a healed lab: each manager's tables over its own API
// (its local store, behind the read barrier), and the containers runc runs on each host
// (from inside the host's namespaces, not through the API).
import { ApiClient } from '../../src/api/client.ts';
import type { Node } from '../../src/api/types/node.ts';
import type { Service } from '../../src/api/types/service.ts';
import type { Task } from '../../src/api/types/task.ts';
import type { Lab } from '../lib/lab.ts';
import { tableDigest, type Row, type RuncContainer, type StoreObjects } from './checks.ts';
import { serviceValue } from './history.ts';

/** The daemons' runc state root inside a host (see labs/lib/swarm-services.ts). */
export const RUNTIME_ROOT = '/run/shoal/exec/runtime';

const TABLES = ['services', 'networks', 'secrets', 'configs', 'nodes'] as const;

interface NetworkRow {
  Id: string;
  Name: string;
  Scope?: string;
  Driver?: string;
  Labels?: unknown;
  IPAM?: unknown;
  Options?: unknown;
}

/** One manager's tables as read through its API. */
export interface ManagerTables {
  host: string;
  rows: Record<(typeof TABLES)[number], Row[]>;
}

/** Reads every compared table from one manager. */
export async function readTables(lab: Lab, host: string, timeoutMs = 5000): Promise<ManagerTables> {
  const api = new ApiClient(lab.dockerHost(host));
  const rows = {} as ManagerTables['rows'];
  for (const t of TABLES) rows[t] = await api.get<Row[]>(`/${t}`, { timeoutMs });
  // Docker's network list has `Id` and no Spec/Version: compare what the store holds.
  rows.networks = (rows.networks as unknown as NetworkRow[]).filter((n) => n.Scope === 'swarm').map((n) => ({
    ID: n.Id, Name: n.Name, Spec: { Name: n.Name, Driver: n.Driver, Labels: n.Labels, IPAM: n.IPAM, Options: n.Options },
  }));
  return { host, rows };
}

/** A digest per table (nodes without their status, which heartbeats change: ID, Spec, Version). */
export function digests(t: ManagerTables): Record<string, string> {
  return Object.fromEntries(TABLES.map((k) => [k, tableDigest(t.rows[k])]));
}

/** The workload's objects (names `c<N>-…`) in one manager's tables. */
export function storeObjects(t: ManagerTables): StoreObjects {
  const out: StoreObjects = { service: new Map(), network: new Map(), secret: new Map(), config: new Map(), node: new Map() };
  for (const s of t.rows.services as unknown as Service[]) {
    if (!/^c\d+-/.test(s.Spec.Name)) continue;
    out.service.set(s.Spec.Name, [...(out.service.get(s.Spec.Name) ?? []), serviceValue(s.Spec)]);
  }
  for (const n of t.rows.nodes as unknown as Node[]) {
    const host = n.Description?.Hostname ?? n.ID;
    out.node.set(host, [...(out.node.get(host) ?? []), { label: n.Spec.Labels?.chaos ?? '' }]);
  }
  for (const [table, kind] of [['networks', 'network'], ['secrets', 'secret'], ['configs', 'config']] as const) {
    for (const r of t.rows[table]) {
      const name = (r as { Name?: string }).Name ?? (r.Spec as { Name?: string } | undefined)?.Name ?? '';
      if (/^c\d+-/.test(name)) out[kind].set(name, (out[kind].get(name) ?? 0) + 1);
    }
  }
  return out;
}

/** Running containers on one host, per runc, with the service and task their annotations name. */
export async function runcContainers(lab: Lab, host: string): Promise<RuncContainer[]> {
  const r = await lab.exec(host, ['runc', '--root', RUNTIME_ROOT, 'list', '--format', 'json'], { timeoutMs: 20_000 });
  if (r.code !== 0) {
    if (/no such file|does not exist/i.test(r.stderr)) return [];
    throw new Error(`chaos: runc list on ${host}: ${r.stderr.trim()}`);
  }
  const list = JSON.parse(r.stdout || 'null') as { id: string; status: string; annotations?: Record<string, string> }[] | null;
  return (list ?? []).filter((c) => c.status === 'running').map((c) => ({
    host, id: c.id, service: c.annotations?.['com.docker.swarm.service.name'], taskId: c.annotations?.['com.docker.swarm.task.id'] ?? c.annotations?.['io.shoal.task.id'],
  }));
}

/** Task ID → slot, for every task a manager knows. */
export async function slots(lab: Lab, host: string): Promise<Map<string, number>> {
  const tasks = await new ApiClient(lab.dockerHost(host)).get<Task[]>('/tasks', { timeoutMs: 10_000 });
  return new Map(tasks.filter((t) => t.Slot !== undefined).map((t) => [t.ID, t.Slot!]));
}
