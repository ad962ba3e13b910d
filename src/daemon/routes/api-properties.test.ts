// Property tests (fast-check) of the request checks, in two layers:
//  1. the spec checks the routes run, pure: 10,000 generated bodies per body kind never
//     throw anything but an API error (no TypeError deep down = no 500);
//  2. the routes of a real single-node swarm (store, Raft, router over a unix socket):
//     generated bodies for services create/update, swarm init/update, nodes update and
//     networks create (SHOAL_PROPERTY_RUNS each, default 500) never get a 5xx, and a refused request changes nothing stored.
// Bodies are valid specs with a few fields set to arbitrary JSON (so the checks deep in
// a body are reached), or arbitrary JSON. A failing case prints its seed to replay it.
// SHOAL_PROPERTY_RUNS overrides the route layer's run count per endpoint.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type http from 'node:http';
import { SwarmNode } from '../../swarm/swarm-node.ts';
import { freePort, loopbackContext } from '../../swarm/test-node.ts';
import { Router } from '../../common/router.ts';
import { closeServer, listenUnix } from '../http/unix-server.ts';
import { ApiClient } from '../../api/client.ts';
import { ApiError } from '../../api/errors.ts';
import type { Service } from '../../api/types/service.ts';
import type { Node } from '../../api/types/node.ts';
import type { Swarm } from '../../api/types/swarm.ts';
import { SHAPES, type Shape } from '../../api/spec/shape.ts';
import { type BodyKind, UNSUPPORTED } from '../../api/spec/unsupported.ts';
import { serviceSpecOfBody, validateServiceSpec, withServiceDefaults } from '../../api/spec/service-spec.ts';
import { checkSwarmBody } from '../../api/spec/swarm-spec.ts';
import { addServiceRoutes } from './services.ts';
import { addSwarmRoutes } from './swarm.ts';
import { addNetworkRoutes } from './networks.ts';

const PURE_RUNS = 10_000;
// Measured on the 2-core test machine under load: 6,000 requests (1,000 per endpoint) in
// 32 s, about 5 ms each with Raft commits for the accepted ones; 10,000 per endpoint would
// be 5 minutes of the suite. 500 per endpoint run by default; SHOAL_PROPERTY_RUNS=10000
// runs the full count. The pure layer above runs 10,000 per body kind in about 5 s.
const ROUTE_RUNS = Number(process.env.SHOAL_PROPERTY_RUNS ?? 500);

/** Every path of a shape (`a.b[].c`), and the table's rows, as places to put a value. */
function pathsOf(shape: Shape, prefix: string, out: string[]): string[] {
  if (typeof shape === 'string') return out;
  if (Array.isArray(shape)) return pathsOf((shape as readonly [Shape])[0], `${prefix}[]`, out);
  if ('$map' in shape) return pathsOf((shape as { $map: Shape }).$map, `${prefix}.k`, out);
  for (const [k, v] of Object.entries(shape)) {
    const p = prefix ? `${prefix}.${k}` : k;
    out.push(p);
    pathsOf(v as Shape, p, out);
  }
  return out;
}

/** Places in a network create body (its checks are network-spec.ts's, not the shape table's). */
const NETWORK_PLACES = ['Name', 'CheckDuplicate', 'Driver', 'Scope', 'Internal', 'Attachable', 'Ingress', 'ConfigOnly', 'ConfigFrom', 'ConfigFrom.Network', 'EnableIPv6',
  'IPAM', 'IPAM.Driver', 'IPAM.Config', 'IPAM.Config[]', 'IPAM.Config[].Subnet', 'IPAM.Config[].IPRange', 'IPAM.Config[].Gateway', 'IPAM.Config[].AuxiliaryAddresses', 'IPAM.Options', 'Options', 'Options.k', 'Labels', 'Labels.k'];

function placesOf(kind: BodyKind | 'NetworkCreateRequest'): string[] {
  if (kind === 'NetworkCreateRequest') return NETWORK_PLACES;
  return [...pathsOf(SHAPES[kind], '', []), ...UNSUPPORTED[kind].map((r) => r.path), 'NotAField', 'TaskTemplate.ContainerSpec.NewerField'];
}

/** Sets `value` at a generic path of `body`, making one-element arrays for `[]`. */
function setAt(body: Record<string, unknown>, path: string, value: unknown): void {
  const toks = path.match(/[^.[\]]+|\[\]/g)!;
  let cur: unknown = body;
  for (let i = 0; i < toks.length; i++) {
    if (cur === null || typeof cur !== 'object') return; // an earlier mutation made it a scalar
    const last = i === toks.length - 1;
    const key: string | number = toks[i] === '[]' ? 0 : toks[i];
    const holder = cur as Record<string | number, unknown>;
    if (last) holder[key] = value;
    else {
      if (holder[key] === undefined) holder[key] = toks[i + 1] === '[]' ? [] : {};
      cur = holder[key];
    }
  }
}

const edgy = fc.constantFrom<unknown>(null, '', 0, -1, 1, 1.5, true, false, [], {}, '%', 'a'.repeat(300), 2 ** 31, 2 ** 53, 1e300, -1e300, 'rprivate', 'default', ['x'], { x: 'y' }, [null], { Name: 'x' });
const anyValue = fc.oneof(edgy, fc.jsonValue({ maxDepth: 2 }), fc.integer({ min: -5, max: 5 }), fc.string({ maxLength: 12 }));

/** A body: a valid base with 0–4 places set to arbitrary values, or (1 in 8) arbitrary JSON. */
function bodies(kind: BodyKind | 'NetworkCreateRequest', base: () => Record<string, unknown>): fc.Arbitrary<unknown> {
  const places = placesOf(kind);
  const mutated = fc.array(fc.tuple(fc.constantFrom(...places), anyValue), { maxLength: 4 }).map((muts) => {
    const b = base();
    for (const [p, v] of muts) setAt(b, p, structuredClone(v));
    return b;
  });
  return fc.oneof({ arbitrary: mutated, weight: 7 }, { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 1 });
}

const serviceBase = () => ({ Name: 'fuzz', Labels: {}, TaskTemplate: { ContainerSpec: { Image: 'busybox' } }, Mode: { Replicated: { Replicas: 1 } } });
const BASES: Record<BodyKind, () => Record<string, unknown>> = {
  ServiceSpec: serviceBase,
  SwarmSpec: () => ({ Name: 'default', Labels: {}, Dispatcher: { HeartbeatPeriod: 1e9 } }),
  SwarmInitRequest: () => ({ ListenAddr: '0.0.0.0:2377' }),
  SwarmJoinRequest: () => ({ ListenAddr: '0.0.0.0:2377', RemoteAddrs: ['10.0.0.1:2377'], JoinToken: 'x' }),
  NodeSpec: () => ({ Role: 'manager', Availability: 'active', Labels: {} }),
};

/** Only API errors may come out of a check: anything else would be a 500. */
function onlyApiErrors(fn: () => void): boolean {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err.status < 500 || err.status === 501;
    throw err;
  }
  return true;
}

for (const kind of Object.keys(BASES) as BodyKind[]) {
  test(`${kind}: ${PURE_RUNS} generated bodies get a value or an API error (4xx/501), never a crash`, () => {
    fc.assert(
      fc.property(bodies(kind, BASES[kind]), (body) =>
        onlyApiErrors(() => {
          if (kind === 'ServiceSpec') validateServiceSpec(withServiceDefaults(serviceSpecOfBody(body)));
          else checkSwarmBody(kind, body, kind === 'SwarmSpec' ? BASES.SwarmSpec() : undefined);
        }),
      ),
      { numRuns: PURE_RUNS },
    );
  });
}

// ---- the routes of a real single-node swarm ------------------------------------------

let dir = '';
let node: SwarmNode | undefined;
let server: http.Server | undefined;
let api: ApiClient;
const inits: unknown[] = [];

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-props-'));
  const port = await freePort();
  const ctx = loopbackContext(join(dir, 'data'), port, 'prophost');
  node = await SwarmNode.init(ctx, { ListenAddr: ctx.listenAddr, AdvertiseAddr: ctx.advertiseAddr, Availability: 'drain' });
  const router = new Router();
  // init/join only record what passed the checks: the node is in a swarm already.
  addSwarmRoutes(router, {
    swarm: () => node,
    init: async (req) => (inits.push(req), node!),
    join: async (req) => void inits.push(req) as never,
    leave: async () => {},
  });
  addServiceRoutes(router, () => node);
  addNetworkRoutes(router, () => node, { endpoints: () => [] }, { allocationWaitMs: 2000 });
  server = await listenUnix(router.listener, join(dir, 'api.sock'));
  api = new ApiClient(`unix://${join(dir, 'api.sock')}`);
  const res = await api.request('POST', '/services/create', { body: { ...serviceBase(), Name: 'target', Mode: { Replicated: { Replicas: 0 } } } });
  assert.is(res.status, 201, res.body.toString());
});

test.after(async () => {
  try {
    if (server) await closeServer(server, join(dir, 'api.sock'));
    // Resolves once nothing of the node writes under `dir` (a renewal in flight ends first).
    await node?.stop();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * Everything stored that these requests write: the objects' specs, and the cluster's root
 * CA, join tokens and unlock key. (Not the objects' versions: the leader's controllers
 * update objects in the background — the allocator fills in a service's endpoint,
 * heartbeats a node's status — and never a spec.) One background writer does change the
 * CA part: the root rotation controller, once every node holds a certificate of the new
 * root (a rotation an accepted `ForceRotate` began), makes that root the only one and
 * renews the join tokens. `rotated` is the CA part as it would leave it.
 */
interface Stored {
  specs: string;
  ca: string;
  tokens: string;
  rotated?: string;
}

function stored(): Stored {
  const m = node!.requireManager();
  return m.store.view((tx) => {
    const cluster = tx.list('cluster')[0];
    const root = cluster.RootCA;
    const next = root?.RootRotation;
    return {
      specs: JSON.stringify([
        tx.list('service').map((s) => [s.ID, s.Spec]),
        tx.list('network').map((n) => [n.ID, n.Spec]),
        tx.list('node').map((n) => [n.ID, n.Spec]),
        [cluster.Spec],
      ]),
      ca: JSON.stringify([root?.CACert, root?.CAKey, next ?? null, root?.LastForcedRotation ?? 0, cluster.UnlockKey ?? null]),
      tokens: JSON.stringify(cluster.JoinTokens),
      rotated: next && JSON.stringify([next.CACert, next.CAKey, null, root!.LastForcedRotation ?? 0, cluster.UnlockKey ?? null]),
    };
  });
}

/** What a refused request changed in the store (undefined: nothing but the rotation controller's finishing step). */
function changedByRefusal(before: Stored, after: Stored): string | undefined {
  if (after.specs !== before.specs) return `specs\nbefore: ${before.specs}\nafter:  ${after.specs}`;
  if (after.ca === before.ca) return after.tokens === before.tokens ? undefined : `join tokens (the root CA did not change)\nbefore: ${before.tokens}\nafter:  ${after.tokens}`;
  // The root changed: only as the rotation in progress finishing (new tokens with it).
  return after.ca === before.rotated ? undefined : 'the root CA (not as the rotation in progress finishing)';
}

/** fast-check keeps the failing assertion in `cause`, which uvu does not print: put it in the message. */
async function withCause(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new Error(`${(err as Error).message}\ncause: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

interface Endpoint {
  name: string;
  kind: BodyKind | 'NetworkCreateRequest';
  base: () => Record<string, unknown>;
  send: (body: unknown) => Promise<{ status: number; text: string }>;
  /** Puts things back after an accepted request. */
  undo: (res: { status: number; text: string }) => Promise<void>;
}

const raw = async (method: string, path: string, body: unknown, query?: Record<string, string | number>) => {
  const res = await api.request(method, path, { body: JSON.stringify(body) ?? 'null', query, headers: { 'Content-Type': 'application/json' } });
  return { status: res.status, text: res.body.toString() };
};
const swarmNow = () => node!.requireManager().cluster() as unknown as Swarm;
const target = () => node!.requireManager().store.view((tx) => tx.list('service')).find((s) => s.Spec.Name === 'target') as Service;
const self = () => node!.requireManager().store.view((tx) => tx.list('node'))[0] as Node;

const ENDPOINTS: Endpoint[] = [
  {
    name: 'POST /services/create',
    kind: 'ServiceSpec',
    base: serviceBase,
    send: (b) => raw('POST', '/services/create', b),
    undo: async (res) => {
      const id = JSON.parse(res.text).ID as string;
      const del = await api.request('DELETE', `/services/${id}`);
      assert.ok(del.status < 300, `delete ${id}: ${del.status} ${del.body.toString()}`);
    },
  },
  {
    name: 'POST /services/{id}/update',
    kind: 'ServiceSpec',
    base: () => ({ ...serviceBase(), Name: 'target' }),
    send: (b) => raw('POST', `/services/${target().ID}/update`, b, { version: target().Version.Index }),
    undo: async () => {
      // The updater may write the service (UpdateStatus) after it is read: read again then.
      let res = { status: 0, text: '' };
      for (let i = 0; i < 5 && res.status !== 200; i++) {
        res = await raw('POST', `/services/${target().ID}/update`, { ...serviceBase(), Name: 'target', Mode: { Replicated: { Replicas: 0 } } }, { version: target().Version.Index });
        if (res.status !== 409) break;
      }
      assert.is(res.status, 200, res.text);
    },
  },
  {
    name: 'POST /swarm/init',
    kind: 'SwarmInitRequest',
    base: BASES.SwarmInitRequest,
    send: (b) => raw('POST', '/swarm/init', b),
    undo: async () => {},
  },
  {
    name: 'POST /swarm/update',
    kind: 'SwarmSpec',
    base: () => structuredClone(swarmNow().Spec) as unknown as Record<string, unknown>,
    send: (b) => raw('POST', '/swarm/update', b, { version: swarmNow().Version.Index }),
    undo: async () => {},
  },
  {
    name: 'POST /nodes/{id}/update',
    kind: 'NodeSpec',
    base: () => ({ Role: 'manager', Availability: 'drain', Labels: {} }),
    send: (b) => raw('POST', `/nodes/${self().ID}/update`, b, { version: self().Version.Index }),
    undo: async () => {},
  },
  {
    name: 'POST /networks/create',
    kind: 'NetworkCreateRequest',
    base: () => ({ Name: 'fz', Driver: 'overlay', Labels: {}, IPAM: { Driver: 'default', Config: [] } }),
    send: (b) => raw('POST', '/networks/create', b),
    undo: async (res) => {
      const id = JSON.parse(res.text).Id as string;
      const del = await api.request('DELETE', `/networks/${id}`);
      assert.ok(del.status < 300, `delete network ${id}: ${del.status} ${del.body.toString()}`);
    },
  },
];

test('the routes: generated bodies never get a 5xx, and a refusal changes nothing stored', async () => {
  const original = structuredClone(swarmNow().Spec);
  const started = Date.now();
  const counts: Record<string, { ok: number; refused: number }> = {};
  for (const ep of ENDPOINTS) {
    const c = (counts[ep.name] = { ok: 0, refused: 0 });
    await withCause(fc.assert(
      fc.asyncProperty(bodies(ep.kind, ep.base), async (body) => {
        const before = stored();
        const res = await ep.send(body);
        assert.ok(res.status < 500 || res.status === 501, `${ep.name} ${JSON.stringify(body).slice(0, 400)} → ${res.status} ${res.text}`);
        if (res.status >= 400) {
          c.refused++;
          assert.ok(typeof JSON.parse(res.text).message === 'string', `Docker's error shape: ${res.text}`);
          const changed = changedByRefusal(before, stored());
          assert.ok(changed === undefined, `${ep.name}: a refused request changed the store: ${changed}`);
        } else {
          c.ok++;
          await ep.undo(res);
        }
      }),
      { numRuns: ROUTE_RUNS },
    ));
  }
  // Put the cluster spec back (an accepted update may have changed the heartbeat).
  const back = await raw('POST', '/swarm/update', original, { version: swarmNow().Version.Index });
  assert.is(back.status, 200, back.text);
  // The figures, so a slow run shows where the time goes (no assertion on time).
  console.log(`[props] ${ROUTE_RUNS} bodies per endpoint in ${Date.now() - started} ms: ${JSON.stringify(counts)}`);
  for (const [name, c] of Object.entries(counts)) assert.ok(c.refused > 0, `${name}: some bodies were refused`);
});

test.run();
