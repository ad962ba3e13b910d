/**
 * The API calls the `shoal stack …` commands make: every object of a stack is found by
 * its `com.docker.stack.namespace` label, as the docker CLI finds them.
 */
import type { ApiClient } from '../../../src/api/client.ts';
import { ApiError } from '../../../src/api/errors.ts';
import type { Service, ServiceSpec } from '../../../src/api/types/service.ts';
import type { Task } from '../../../src/api/types/task.ts';
import type { Config, Secret } from '../../../src/api/types/secret-config.ts';
import { SwarmApi } from '../../swarm-api.ts';
import type { NetworkResource } from '../../network-api.ts';
import type { PlannedNetwork } from '../../compose/convert.ts';
import { LABEL_NAMESPACE } from '../../compose/convert-service.ts';

/** `{"label":["com.docker.stack.namespace=NAME"]}` plus any other filters. */
export function stackFilters(stack: string, extra: Record<string, string[]> = {}): Record<string, string[]> {
  return { ...extra, label: [...(extra.label ?? []), `${LABEL_NAMESPACE}=${stack}`] };
}

const q = (filters: Record<string, string[]>) => ({ filters: JSON.stringify(filters) });

export class StackApi extends SwarmApi {
  constructor(client: ApiClient) {
    super(client);
  }

  services(filters: Record<string, string[]>, status = false): Promise<Service[]> {
    return this.call('GET', '/services', { query: { ...q(filters), status: status || undefined } });
  }

  tasks(filters: Record<string, string[]>): Promise<Task[]> {
    return this.call('GET', '/tasks', { query: q(filters) });
  }

  networks(filters: Record<string, string[]>): Promise<NetworkResource[]> {
    return this.call('GET', '/networks', { query: q(filters) });
  }

  secrets(filters: Record<string, string[]>): Promise<Secret[]> {
    return this.call('GET', '/secrets', { query: q(filters) });
  }

  configs(filters: Record<string, string[]>): Promise<Config[]> {
    return this.call('GET', '/configs', { query: q(filters) });
  }

  /** A secret or config by exact name, or undefined. */
  async payload(kind: 'secret' | 'config', name: string): Promise<Secret | Config | undefined> {
    const all = await this.call<(Secret | Config)[]>('GET', `/${kind}s`, { query: q({ name: [name] }) });
    return all.find((o) => o.Spec.Name === name);
  }

  /** A network by exact name, or undefined. */
  async network(name: string): Promise<NetworkResource | undefined> {
    try {
      const n = await this.call<NetworkResource>('GET', `/networks/${encodeURIComponent(name)}`);
      return n.Name === name ? n : undefined;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  createNetwork(body: NonNullable<PlannedNetwork['body']>): Promise<{ Id: string }> {
    return this.call('POST', '/networks/create', { body });
  }

  async createPayload(kind: 'secret' | 'config', spec: Record<string, unknown>): Promise<string> {
    return (await this.call<{ ID: string }>('POST', `/${kind}s/create`, { body: spec })).ID;
  }

  updatePayload(kind: 'secret' | 'config', o: Secret | Config, spec: Record<string, unknown>): Promise<void> {
    return this.call('POST', `/${kind}s/${encodeURIComponent(o.ID)}/update`, { body: spec, query: { version: o.Version.Index } });
  }

  async createService(spec: ServiceSpec): Promise<string> {
    return (await this.call<{ ID: string }>('POST', '/services/create', { body: spec })).ID;
  }

  /** `POST /services/{id}/update` at the version read: the orchestrator's rolling update does the rest. */
  updateService(s: Service, spec: ServiceSpec): Promise<void> {
    return this.call('POST', `/services/${encodeURIComponent(s.ID)}/update`, { body: spec, query: { version: s.Version.Index } });
  }

  remove(kind: 'service' | 'secret' | 'config' | 'network', id: string): Promise<void> {
    return this.call('DELETE', `/${kind}s/${encodeURIComponent(id)}`);
  }
}
