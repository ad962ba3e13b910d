/**
 * The calls the `shoal network …` commands make, over the swarm commands' request
 * helper (warnings to stderr, `ApiError` on failure).
 */
import type { ApiClient } from '../src/api/client.ts';
import { ApiError } from '../src/api/errors.ts';
import type { IPAMConfig } from '../src/api/types/network.ts';
import { SwarmApi } from './swarm-api.ts';

/** Docker's NetworkResource, as the API answers. */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IPAMConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  Peers?: { Name: string; IP: string }[];
}

/** Docker's NetworkCreateRequest, as `network create` sends it. */
export interface NetworkCreateBody {
  Name: string;
  CheckDuplicate: boolean;
  Driver: string;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  IPAM: { Driver: string; Config: IPAMConfig[]; Options: Record<string, string> };
  EnableIPv6: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export class NetworkApi extends SwarmApi {
  constructor(client: ApiClient) {
    super(client);
  }

  /** `POST /networks/create`; resolves with the new network's ID. */
  async create(body: NetworkCreateBody): Promise<string> {
    const r = await this.call<{ Id: string }>('POST', '/networks/create', { body });
    return r.Id;
  }

  /** `GET /networks`; `filters` as `{"key":["value"]}`. */
  list(filters?: Record<string, string[]>): Promise<NetworkResource[]> {
    return this.call('GET', '/networks', { query: { filters: filters && Object.keys(filters).length ? JSON.stringify(filters) : undefined } });
  }

  /** A network by ID, name or ID prefix; a 404 becomes docker's `network REF not found`. */
  async network(ref: string): Promise<NetworkResource> {
    try {
      return await this.call<NetworkResource>('GET', `/networks/${encodeURIComponent(ref)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) throw new Error(`network ${ref} not found`, { cause: err });
      throw err;
    }
  }

  remove(ref: string): Promise<void> {
    return this.call('DELETE', `/networks/${encodeURIComponent(ref)}`);
  }
}
