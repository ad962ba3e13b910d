/**
 * The calls the `shoal swarm …` and `shoal node …` commands make, over `ApiClient`.
 * Every response's `Warning` header (a manager without quorum answering from its own,
 * possibly stale, copy) is written to stderr as `WARNING: …` before anything else;
 * error responses throw `ApiError` as `ApiClient.json` does.
 */
import type { ApiClient, RequestOptions } from '../src/api/client.ts';
import { errorFromResponse } from '../src/api/client.ts';
import { ApiError } from '../src/api/errors.ts';
import type { Node, NodeSpec } from '../src/api/types/node.ts';
import type { InitRequest, JoinRequest, Swarm, SwarmSpec } from '../src/api/types/swarm.ts';
import type { InfoResponse } from '../src/api/types/system.ts';

/** The text of a `Warning` header (`199 agent "text"` → `text`). */
export function warningText(header: string): string {
  const m = /^\d{3}\s+\S+\s+"(.*)"/.exec(header.trim());
  return m ? m[1] : header.trim();
}

/** How a failed call reads on stderr, as the base command prints it. */
export function describeError(err: unknown): string {
  return err instanceof ApiError ? `Error response from daemon: ${err.message}` : (err as Error).message;
}

export class SwarmApi {
  /** `warn` receives each warning line; stderr by default. */
  constructor(
    private readonly client: ApiClient,
    private readonly warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  /** One request; prints its warning, throws `ApiError` on a status ≥ 400, parses a JSON body. */
  async call<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.client.request(method, path, options);
    const warning = res.headers.warning;
    for (const w of Array.isArray(warning) ? warning : warning ? [warning] : []) this.warn(`WARNING: ${warningText(w)}`);
    if (res.status >= 400) throw errorFromResponse(res);
    if (res.body.length === 0) return undefined as T;
    return JSON.parse(res.body.toString('utf8')) as T;
  }

  info(): Promise<InfoResponse> {
    return this.call('GET', '/info');
  }

  /** `POST /swarm/init`; resolves with the new node's ID. */
  init(req: InitRequest): Promise<string> {
    return this.call('POST', '/swarm/init', { body: req });
  }

  join(req: JoinRequest): Promise<void> {
    return this.call('POST', '/swarm/join', { body: req });
  }

  leave(force: boolean): Promise<void> {
    return this.call('POST', '/swarm/leave', { query: { force: force || undefined } });
  }

  swarm(): Promise<Swarm> {
    return this.call('GET', '/swarm');
  }

  /** `POST /swarm/update` with the whole spec and the version it was read at. */
  updateSwarm(version: number, spec: SwarmSpec, rotate: { worker?: boolean; manager?: boolean } = {}): Promise<void> {
    return this.call('POST', '/swarm/update', {
      body: spec,
      query: { version, rotateWorkerToken: rotate.worker || undefined, rotateManagerToken: rotate.manager || undefined },
    });
  }

  /** `GET /nodes`; `filters` is the JSON the API takes (see `nodeFilters`). */
  nodes(filters?: string): Promise<Node[]> {
    return this.call('GET', '/nodes', { query: { filters } });
  }

  /** A node by ID, ID prefix or host name; a 404 becomes docker's `Error: No such node: REF`. */
  async node(ref: string): Promise<Node> {
    try {
      return await this.call<Node>('GET', `/nodes/${encodeURIComponent(ref)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) throw new Error(`Error: No such node: ${ref}`, { cause: err });
      throw err;
    }
  }

  /** `POST /nodes/{id}/update?version=N` with the whole node spec. */
  updateNode(node: Node, spec: NodeSpec): Promise<void> {
    return this.call('POST', `/nodes/${encodeURIComponent(node.ID)}/update`, { body: spec, query: { version: node.Version.Index } });
  }

  removeNode(ref: string, force: boolean): Promise<void> {
    return this.call('DELETE', `/nodes/${encodeURIComponent(ref)}`, { query: { force: force || undefined } });
  }

  /**
   * The join instructions docker prints after `swarm init` and for `swarm join-token`:
   * the token of each role asked for and this manager's address (its Raft address, as
   * listed in `GET /info`'s RemoteManagers). Empty when this node is no manager.
   */
  async joinCommand(roles: { worker?: boolean; manager?: boolean }): Promise<string> {
    const [info, sw] = await Promise.all([this.info(), this.swarm()]);
    const self = info.Swarm.RemoteManagers?.find((m) => m.NodeID === info.Swarm.NodeID);
    if (!info.Swarm.ControlAvailable) return '';
    const addr = self?.Addr ?? `${info.Swarm.NodeAddr}:2377`;
    let out = '';
    if (roles.worker) out += `To add a worker to this swarm, run the following command:\n\n    shoal swarm join --token ${sw.JoinTokens.Worker} ${addr}\n\n`;
    if (roles.manager) out += `To add a manager to this swarm, run the following command:\n\n    shoal swarm join --token ${sw.JoinTokens.Manager} ${addr}\n\n`;
    return out;
  }
}
