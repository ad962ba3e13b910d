// A node is only what the store says it is now (issue 14, items 2, 7 and 9), on a loopback
// swarm of real SwarmNodes (no namespaces, no containers): three managers and two workers.
// In order, on one swarm: join answers once the node is ready; the token is checked before
// any Raft round trip and a joining node's description is checked; a Raft connection speaks
// only for the node its certificate names; a heartbeat's address never becomes a tunnel
// endpoint; a demotion that would lose quorum is refused with Docker's error; two managers
// demoted one right after the other and leaving with --force leave the last one leading;
// removed and demoted nodes' old certificates are refused on every 2377 endpoint, and a
// removal notice from a former manager changes nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type http from 'node:http';
import type { ConnectionOptions } from 'node:tls';
import { WebSocket } from 'ws';
import { encodeFrame, MessageType } from 'raft-ts';
import { SwarmNode, type SwarmContext } from './swarm-node.ts';
import { freePort, loopbackContext } from './test-node.ts';
import { httpsJson } from './https-json.ts';
import { Router } from '../common/router.ts';
import { listenUnix, closeServer } from '../daemon/http/unix-server.ts';
import { ApiClient } from '../api/client.ts';
import { ApiError } from '../api/errors.ts';
import { addSwarmRoutes } from '../daemon/routes/swarm.ts';
import { MANAGER_ROLE, newNodeKeyAndCSR } from '../manager/ca/index.ts';
import type { Node } from '../api/types/node.ts';
import type { JoinNodeRequest } from '../wire/types.ts';

interface Member { name: string; ctx: SwarmContext; node?: SwarmNode }
interface Creds { cert: string; key: string; ca: string }

const test = suite('node identity on a loopback swarm');
const members = new Map<string, Member>();
let dir = '';
let server: http.Server | undefined;
let api: ApiClient;
let h1Addr = '';

const m = (name: string) => members.get(name)!;
const h1 = () => m('h1').node!;
const store = () => h1().manager!.store;
/** Node IDs by member name (they outlive a member's SwarmNode). */
const ids = new Map<string, string>();
const nodeRec = (name: string): Node | undefined => store().view((tx) => tx.get('node', ids.get(name)!));

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `p`, or `fallback` when it has not settled within `ms` (a deadline, so a failure fails rather than hangs). */
function within<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return Promise.race([p, new Promise<T>((resolve) => setTimeout(() => resolve(fallback), ms).unref())]);
}

async function creds(name: string): Promise<Creds> {
  const d = join(m(name).ctx.dataRoot, 'swarm', 'certificates');
  const [cert, key, ca] = await Promise.all(['swarm-node.crt', 'swarm-node.key', 'swarm-root-ca.crt'].map((f) => readFile(join(d, f), 'utf8')));
  return { cert, key, ca };
}

const tlsOf = (c: Creds): ConnectionOptions => ({ ...c, servername: MANAGER_ROLE, rejectUnauthorized: true });

/** Upgrades `path` on h1 with `c`; resolves the open socket, or the HTTP status of the refusal. */
function upgrade(path: string, c: Creds): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`wss://${h1Addr}${path}`, { ...tlsOf(c), perMessageDeflate: false });
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      ws.terminate();
    });
    ws.on('error', () => resolve({ status: 0 }));
  });
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    return err instanceof ApiError ? err.status : 0;
  }
}

/** Statuses of every 2377 endpoint on h1 for credentials `c`. */
async function endpoints(c: Creds): Promise<Record<string, number>> {
  const csrPem = (await newNodeKeyAndCSR()).csrPem;
  const raft = await upgrade('/raft', c);
  raft.ws?.terminate();
  const dispatcher = await upgrade('/dispatcher', c);
  dispatcher.ws?.terminate();
  return {
    raft: raft.status ?? 101,
    dispatcher: dispatcher.status ?? 101,
    renew: await status(httpsJson(h1Addr, 'POST', '/renew', { tls: tlsOf(c), body: { csrPem } })),
    epoch: await status(httpsJson(h1Addr, 'GET', '/raft-epoch', { tls: tlsOf(c) })),
    ca: await status(httpsJson(h1Addr, 'GET', '/ca', { tls: tlsOf(c) })),
    removed: await status(httpsJson(h1Addr, 'POST', '/raft-removed', { tls: tlsOf(c), body: { epoch: 'x', replaces: ['initial'] } })),
  };
}

async function add(name: string): Promise<Member> {
  const port = await freePort();
  const member: Member = { name, ctx: { ...loopbackContext(join(dir, name), port, name), heartbeatMs: 300 } };
  members.set(name, member);
  return member;
}

/** `swarm join` through the control API route's own wait (`waitJoined`). */
async function joinAs(name: string, role: 'worker' | 'manager'): Promise<SwarmNode> {
  const member = await add(name);
  const tokens = h1().manager!.cluster().JoinTokens;
  member.node = await SwarmNode.join(member.ctx, {
    ListenAddr: member.ctx.listenAddr, AdvertiseAddr: member.ctx.advertiseAddr, RemoteAddrs: [h1Addr],
    JoinToken: role === 'manager' ? tokens.Manager : tokens.Worker,
  } as never);
  ids.set(name, member.node.nodeId);
  await member.node.waitJoined();
  return member.node;
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-identity-'));
  const first = await add('h1');
  first.node = await SwarmNode.init(first.ctx, { ListenAddr: first.ctx.listenAddr, AdvertiseAddr: first.ctx.advertiseAddr } as never);
  h1Addr = first.ctx.advertiseAddr!;
  ids.set('h1', first.node.nodeId);
  const router = new Router();
  addSwarmRoutes(router, {
    swarm: () => members.get('h1')?.node,
    init: () => Promise.reject(new Error('not here')),
    join: () => Promise.reject(new Error('not here')),
    leave: () => Promise.reject(new Error('not here')),
  });
  server = await listenUnix(router.listener, join(dir, 'api.sock'));
  api = new ApiClient(`unix://${join(dir, 'api.sock')}`);
});

test.after(async () => {
  if (server) await closeServer(server, join(dir, 'api.sock'));
  for (const mem of [...members.values()].reverse()) await mem.node?.stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

test('join returns once the managers see the node ready, and a manager once it is a Raft voter', async () => {
  for (const [name, role] of [['h2', 'manager'], ['h3', 'manager'], ['w1', 'worker'], ['w2', 'worker']] as const) {
    const node = await joinAs(name, role);
    // No waiting here: joined means the leader's store has it ready already.
    assert.is(nodeRec(name)?.Status.State, 'ready', `${name} ready in the leader's store when join returns`);
    if (role === 'manager') assert.ok(h1().manager!.raft.status().confState.voters.includes(node.nodeId), `${name} a voter`);
  }
});

test('the join token is checked before any Raft barrier; a bad description is refused and stores nothing', async () => {
  const manager = h1().manager!;
  const barrier = manager.barrier.bind(manager);
  let barriers = 0;
  manager.barrier = (ms?: number) => { barriers++; return barrier(ms); };
  const { rootPem } = await httpsJson<{ rootPem: string }>(h1Addr, 'GET', '/ca', { tls: { rejectUnauthorized: false } });
  const tls = { ca: rootPem, servername: 'swarm-ca', rejectUnauthorized: true };
  const good = manager.cluster().JoinTokens.Worker;
  const wrong = good.slice(0, -5) + (good.endsWith('aaaaa') ? 'bbbbb' : 'aaaaa');
  const body = (over: Partial<JoinNodeRequest>): JoinNodeRequest => ({
    token: good, csrPem: 'x', advertiseAddr: '127.0.0.1:2377', availability: 'active',
    description: { Hostname: 'evil', Platform: { Architecture: 'x', OS: 'linux' }, Resources: { NanoCPUs: 1, MemoryBytes: 1 }, Engine: { EngineVersion: 't', Labels: {}, Plugins: [] } },
    ...over,
  });
  const nodesBefore = store().view((tx) => tx.list('node')).length;
  try {
    const err = await httpsJson(h1Addr, 'POST', '/join', { tls, body: body({ token: wrong }) }).catch((e) => e as ApiError);
    assert.instance(err, ApiError);
    assert.match((err as ApiError).message, /valid join token/);
    assert.is(barriers, 0, 'no barrier for a wrong token');
    for (const bad of [
      { advertiseAddr: '224.0.0.1:2377' },
      { advertiseAddr: '10.0.0.1' },
      { description: { Hostname: 'h'.repeat(300) } },
      { description: { ...body({}).description, Hostname: 'a b' } },
      { description: { ...body({}).description, Resources: { NanoCPUs: -1, MemoryBytes: 1 } } },
      { description: { ...body({}).description, Engine: { EngineVersion: 't', Labels: { x: 'y'.repeat(10_000) }, Plugins: [] } } },
      { description: undefined },
    ] as Partial<JoinNodeRequest>[]) {
      const e = await httpsJson(h1Addr, 'POST', '/join', { tls, body: body(bad) }).catch((x) => x as ApiError);
      assert.instance(e, ApiError, JSON.stringify(bad).slice(0, 80));
      assert.is((e as ApiError).status, 400, JSON.stringify(bad).slice(0, 80));
      assert.match((e as ApiError).message, /invalid join request/);
    }
    assert.is(store().view((tx) => tx.list('node')).length, nodesBefore, 'nothing stored');
  } finally {
    manager.barrier = barrier;
  }
});

test('a Raft connection claiming another sender than its certificate names is closed, the manager carries on', async () => {
  const c = await creds('h2');
  const { ws, status: st } = await upgrade('/raft', c);
  assert.ok(ws, `h2 may open /raft (got ${st})`);
  const closed = new Promise<number>((resolve) => ws!.on('close', (code) => resolve(code)));
  const forged = { type: MessageType.Heartbeat, from: ids.get('h3')!, to: h1().nodeId, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
  ws!.send(encodeFrame([forged]));
  assert.is(await within(closed, 10_000, -1), 1008, 'closed with 1008 (policy violation)');
  assert.ok(h1().manager!.isLeader, 'h1 still leads');
});

test('a heartbeat\'s address is not the node\'s tunnel endpoint: the connection\'s source is', async () => {
  // w2 stops its own session; a forged one with its certificate claims a multicast address.
  const w2 = m('w2');
  const c = await creds('w2');
  await w2.node!.stop();
  const { ws } = await upgrade('/dispatcher', c);
  assert.ok(ws, 'w2 may open a session');
  const acked = new Promise<void>((resolve) => ws!.on('message', (d) => { if (JSON.parse(String(d)).type === 'ack') resolve(); }));
  ws!.send(JSON.stringify({ type: 'heartbeat', addr: '224.0.0.1:4789' }));
  await within(acked, 10_000, undefined);
  ws!.terminate();
  assert.match(h1().manager!.heartbeatAddr(ids.get('w2')!) ?? '', /^127\.0\.0\.1:4789$/);
  await waitFor('w2 down', () => nodeRec('w2')?.Status.State === 'down');
  assert.is(nodeRec('w2')?.Status.Addr, '127.0.0.1');
});

test('a session states the node\'s release; a frame of an unknown type is ignored, a malformed known one closes the session', async () => {
  // w2's own session is stopped (previous test); this one plays w2 restarted on a newer release.
  const c = await creds('w2');
  const { ws } = await upgrade('/dispatcher', c);
  assert.ok(ws, 'w2 may open a session');
  const closed = new Promise<number>((resolve) => ws!.on('close', (code) => resolve(code)));
  const acks: unknown[] = [];
  ws!.on('message', (d) => { const f = JSON.parse(String(d)); if (f.type === 'ack') acks.push(f); });
  ws!.send(JSON.stringify({ type: 'from.a.newer.release', anything: [1, 2, 3] }));
  const description = structuredClone(nodeRec('w2')!.Description);
  delete description.TLSInfo;
  description.Engine.EngineVersion = '9.9.9-next';
  description.ShoalStoreSchema = 2;
  ws!.send(JSON.stringify({ type: 'heartbeat', addr: '127.0.0.1:2377', description }));
  await waitFor('the heartbeat after the unknown frame answered', () => acks.length > 0, 10_000);
  // Seen ready first, so that "down again" below is this session's end, not the last test's.
  await waitFor('w2 ready on this session', () => nodeRec('w2')?.Status.State === 'ready');
  await waitFor('w2\'s stated release stored', () => nodeRec('w2')?.Description.Engine.EngineVersion === '9.9.9-next');
  assert.is(nodeRec('w2')?.Description.ShoalStoreSchema, 2);
  ws!.send(JSON.stringify({ type: 'status' }));
  assert.is(await within(closed, 10_000, -1), 1007, 'a status frame without updates is malformed');
  await waitFor('w2 down again', () => nodeRec('w2')?.Status.State === 'down');
});

test('a removed node\'s certificate is refused on every 2377 endpoint', async () => {
  const c = await creds('w2');
  const before = await endpoints(c);
  assert.is(before.dispatcher, 101, 'w2 may still open a session before its removal');
  assert.is(before.renew, 200);
  await api.delete(`/nodes/${ids.get('w2')!}`);
  assert.ok(h1().manager!.cluster().RemovedNodes?.[ids.get('w2')!], 'a tombstone in the store');
  const swarm = await api.get<Record<string, unknown>>('/swarm');
  assert.not.ok('RemovedNodes' in swarm, 'GET /swarm does not show tombstones');
  const after = await endpoints(c);
  assert.equal(after, { raft: 403, dispatcher: 403, renew: 403, epoch: 403, ca: 403, removed: 403 });
});

test('a demotion that would lose quorum is refused with Docker\'s error', async () => {
  const h3 = m('h3');
  await h3.node!.stop();
  await waitFor('h1 to see h3 inactive', () => h1().manager!.reachability(h3.node!.nodeId) === 'unreachable');
  const n = nodeRec('h2')!;
  const err = await api.post(`/nodes/${n.ID}/update`, { ...n.Spec, Role: 'worker' }, { query: { version: n.Version.Index } }).catch((e) => e as ApiError);
  assert.instance(err, ApiError);
  assert.match((err as ApiError).message, /can't remove member from the raft: this would result in a loss of quorum/);
  assert.is(nodeRec('h2')!.Spec.Role, 'manager', 'nothing changed');
  h3.node = await SwarmNode.restore(h3.ctx);
  await h3.node!.waitJoined();
  await waitFor('h1 to see h3 again', () => h1().manager!.reachability(h3.node!.nodeId) === 'reachable');
});

test('demoting two managers one right after the other, both leaving with --force, leaves the last manager leading', async () => {
  const oldH3 = await creds('h3');
  for (const name of ['h2', 'h3']) {
    const n = nodeRec(name)!;
    await api.post(`/nodes/${n.ID}/update`, { ...n.Spec, Role: 'worker' }, { query: { version: n.Version.Index } });
  }
  await Promise.all(['h2', 'h3'].map(async (name) => {
    await m(name).node!.leave(true);
    m(name).node = undefined;
  }));
  const manager = h1().manager!;
  await waitFor('h1 to lead alone', () => manager.isLeader && manager.raft.status().confState.voters.length === 1, 30_000);
  await manager.store.update((tx) => {
    const me = structuredClone(tx.get('node', h1().nodeId)!);
    me.Spec.Labels = { ...me.Spec.Labels, alone: 'yes' };
    tx.update('node', me);
  });
  // h3's old manager certificate: refused for Raft and for a removal notice (a former
  // manager cannot make h1 drop its Raft state), though h3 is still a node of the swarm.
  const demoted = await endpoints(oldH3);
  assert.is(demoted.raft, 403);
  assert.is(demoted.removed, 403);
  assert.is(h1().role, 'manager');
  await waitFor('h3 down', () => nodeRec('h3')?.Status.State === 'down');
  await api.delete(`/nodes/${nodeRec('h3')!.ID}`);
  assert.equal(await endpoints(oldH3), { raft: 403, dispatcher: 403, renew: 403, epoch: 403, ca: 403, removed: 403 });
  assert.ok(manager.isLeader, 'h1 still leads');
});

test.run();
