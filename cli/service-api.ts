/**
 * The calls the `shoal service …` and `shoal node ps` commands make, over the same
 * request helper as the swarm commands (warnings to stderr, `ApiError` on failure).
 */
import type { ApiClient } from '../src/api/client.ts';
import { ApiError } from '../src/api/errors.ts';
import type { Node } from '../src/api/types/node.ts';
import type { Service, ServiceSpec } from '../src/api/types/service.ts';
import type { Task } from '../src/api/types/task.ts';
import { SwarmApi } from './swarm-api.ts';

export class ServiceApi extends SwarmApi {
  constructor(client: ApiClient) {
    super(client);
  }

  /** `POST /services/create`; resolves with the new service's ID. */
  async create(spec: ServiceSpec): Promise<string> {
    const r = await this.call<{ ID: string }>('POST', '/services/create', { body: spec });
    return r.ID;
  }

  services(filters?: Record<string, string[]>, status = false): Promise<Service[]> {
    return this.call('GET', '/services', { query: { filters: filters ? JSON.stringify(filters) : undefined, status: status || undefined } });
  }

  /** A service by ID, name or ID prefix; a 404 becomes docker's `no such service: REF`. */
  async service(ref: string): Promise<Service> {
    try {
      return await this.call<Service>('GET', `/services/${encodeURIComponent(ref)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) throw new Error(`no such service: ${ref}`, { cause: err });
      throw err;
    }
  }

  update(service: Service, spec: ServiceSpec): Promise<void> {
    return this.call('POST', `/services/${encodeURIComponent(service.ID)}/update`, { body: spec, query: { version: service.Version.Index } });
  }

  remove(id: string): Promise<void> {
    return this.call('DELETE', `/services/${encodeURIComponent(id)}`);
  }

  tasks(filters: Record<string, string[]>): Promise<Task[]> {
    return this.call('GET', '/tasks', { query: { filters: JSON.stringify(filters) } });
  }

  async nodeMap(): Promise<Map<string, Node>> {
    return new Map((await this.nodes()).map((n) => [n.ID, n]));
  }
}

/** `--filter k=v` values as the filters object (`{"k":["v"]}`); throws on a value without `=`. */
export function filterArgs(values: string[] | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of values ?? []) {
    const i = f.indexOf('=');
    if (i <= 0) throw new Error(`bad format of filter (expected name=value): ${f}`);
    (out[f.slice(0, i)] ??= []).push(f.slice(i + 1));
  }
  return out;
}

/** Docker's memory sizes (`64m`, `1g`, `512k`, plain bytes) in bytes. */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`invalid size: '${s}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.round(Number(m[1]) * mult);
}
