// Root CA rotation on a loopback swarm of real SwarmNodes (two managers, two workers),
// driven through the control API as `docker swarm ca --rotate` drives it: every node
// renews onto the new root's key (the old root still trusted meanwhile), a node that was
// down holds the rotation until it returns and renews with its old certificate, then the
// new root is the only one: tokens carry its digest and an old-root certificate is refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type http from 'node:http';
import { WebSocket } from 'ws';
import { SwarmNode, type SwarmContext } from './swarm-node.ts';
import { freePort, loopbackContext } from './test-node.ts';
import { httpsJson } from './https-json.ts';
import { Router } from '../common/router.ts';
import { createLogger } from '../common/logger.ts';
import { listenUnix, closeServer } from '../daemon/http/unix-server.ts';
import { ApiClient } from '../api/client.ts';
import { ApiError } from '../api/errors.ts';
import type { Swarm } from '../api/types/swarm.ts';
import { addSwarmRoutes } from '../daemon/routes/swarm.ts';
import {
  CASigner, MANAGER_ROLE, issuerInfoOf, newNodeKeyAndCSR, splitPemCerts, tokenMatchesCA, verifyChain,
} from '../manager/ca/index.ts';

const test = suite('root CA rotation on a loopback swarm');
const ctxs = new Map<string, SwarmContext>();
const nodes = new Map<string, SwarmNode>();
let dir = '';
let server: http.Server | undefined;
let api: ApiClient;
let oldRoot = { certPem: '', keyPem: '' };
let newRootPem = '';

const h1 = () => nodes.get('h1')!;
const store = () => h1().manager!.store;

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 40_000): Promise<void> {
  const deadline = Date.now() + ms;
  // A manager restarting onto a new certificate has no store for a moment: not yet.
  while (!(await Promise.resolve().then(cond).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function context(name: string): Promise<SwarmContext> {
  const ctx = { ...loopbackContext(join(dir, name), await freePort(), name), heartbeatMs: 300, ...(process.env.CAROT_LOG ? { logger: createLogger(name) } : {}) };
  ctxs.set(name, ctx);
  return ctx;
}

/** `GET /swarm`, waiting out the moments h1 restarts its manager onto a new certificate. */
async function swarm(): Promise<Swarm & { Version: { Index: number } }> {
  for (let i = 0; ; i++) {
    try {
      return await api.json<Swarm & { Version: { Index: number } }>('GET', '/swarm');
    } catch (err) {
      if (i > 100 || (err as ApiError).status !== 503) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
/** Node issuers as the leader's store has them, by node ID. */
const issuers = () => store().view((tx) => tx.list('node')).map((n) => n.Description.TLSInfo?.CertIssuerPublicKey);

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-carot-'));
  const c1 = await context('h1');
  nodes.set('h1', await SwarmNode.init(c1, { ListenAddr: c1.listenAddr, AdvertiseAddr: c1.advertiseAddr } as never));
  const router = new Router();
  addSwarmRoutes(router, {
    swarm: () => nodes.get('h1'),
    init: () => Promise.reject(new Error('not here')),
    join: () => Promise.reject(new Error('not here')),
    leave: () => Promise.reject(new Error('not here')),
  });
  server = await listenUnix(router.listener, join(dir, 'api.sock'));
  api = new ApiClient(`unix://${join(dir, 'api.sock')}`);
  const tokens = store().view((tx) => tx.list('cluster')[0].JoinTokens);
  for (const [name, token] of [['h2', tokens.Manager], ['w1', tokens.Worker], ['w2', tokens.Worker]] as const) {
    const c = await context(name);
    const n = await SwarmNode.join(c, { ListenAddr: c.listenAddr, AdvertiseAddr: c.advertiseAddr, RemoteAddrs: [ctxs.get('h1')!.advertiseAddr!], JoinToken: token } as never);
    nodes.set(name, n);
    await n.waitJoined();
  }
  const root = store().view((tx) => tx.list('cluster')[0].RootCA!);
  oldRoot = { certPem: root.CACert, keyPem: root.CAKey };
});

test.after(async () => {
  if (server) await closeServer(server, join(dir, 'api.sock'));
  for (const n of [...nodes.values()].reverse()) await n.stop().catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

test('every node reports its TLS state; the swarm shows the root it trusts and the issuer', async () => {
  const want = issuerInfoOf(oldRoot.certPem).publicKey;
  await waitFor('4 nodes reporting the old issuer', () => issuers().filter((i) => i === want).length === 4);
  const s = await swarm();
  assert.is(s.TLSInfo.TrustRoot, oldRoot.certPem);
  assert.is(s.TLSInfo.CertIssuerPublicKey, want);
  assert.is(s.RootRotationInProgress, false);
});

test('a rotation waits for a node that is down, which renews with its old certificate when it returns', async () => {
  await nodes.get('w2')!.stop();
  nodes.delete('w2');
  const before = await swarm();
  await api.request('POST', `/swarm/update?version=${before.Version.Index}`, { body: { ...before.Spec, CAConfig: { ...before.Spec.CAConfig, ForceRotate: 1 } } }).then((r) => {
    assert.is(r.status, 200, r.body.toString());
  });
  const during = await swarm();
  assert.is(during.RootRotationInProgress, true);
  assert.is(during.TLSInfo.TrustRoot, oldRoot.certPem, 'nodes keep trusting the old root during the rotation');
  assert.is.not(during.TLSInfo.CertIssuerPublicKey, before.TLSInfo.CertIssuerPublicKey);
  assert.not.ok('SigningCACert' in during.Spec.CAConfig || 'SigningCAKey' in during.Spec.CAConfig);
  const target = during.TLSInfo.CertIssuerPublicKey;
  await waitFor('the three running nodes to renew onto the new key', () => issuers().filter((i) => i === target).length === 3);
  for (const name of ['h1', 'h2', 'w1']) {
    const chain = splitPemCerts(nodes.get(name)!.certificatePem);
    assert.is(chain.length, 2, `${name}: leaf and the cross-signed new root`);
    verifyChain(chain.join(''), oldRoot.certPem);
  }
  await new Promise((r) => setTimeout(r, 1500));
  assert.is((await swarm()).RootRotationInProgress, true, 'the node that is down holds the rotation');
  const w2 = await SwarmNode.restore(ctxs.get('w2')!);
  assert.ok(w2);
  nodes.set('w2', w2);
  await waitFor('the rotation to complete', async () => !(await swarm()).RootRotationInProgress);
  newRootPem = (await swarm()).TLSInfo.TrustRoot;
  assert.is.not(newRootPem, oldRoot.certPem);
});

test('after the rotation every node trusts the new root alone and the join tokens carry its digest', async () => {
  await waitFor('every node to trust the new root', () => store().view((tx) => tx.list('node')).every((n) => n.Description.TLSInfo?.TrustRoot === newRootPem));
  for (const [name, n] of nodes) {
    assert.is(verifyChain(n.certificatePem, newRootPem).nodeId, n.nodeId, `${name} verifies against the new root`);
  }
  const tokens = store().view((tx) => tx.list('cluster')[0].JoinTokens);
  assert.ok(tokenMatchesCA(tokens.Worker, newRootPem));
  assert.ok(tokenMatchesCA(tokens.Manager, newRootPem));
  assert.not.ok(tokenMatchesCA(tokens.Worker, oldRoot.certPem));
  // The cluster still takes writes through Raft with both managers.
  await waitFor('a leader', () => h1().manager?.isLeader === true || nodes.get('h2')!.manager?.isLeader === true);
  const leader = h1().manager!.isLeader ? h1() : nodes.get('h2')!;
  await leader.manager!.store.update((tx) => {
    const c = structuredClone(tx.list('cluster')[0]);
    c.Spec.Labels = { rotated: 'yes' };
    tx.update('cluster', c);
  });
});

test('a certificate signed only by the old root is refused on 2377', async () => {
  const signer = await CASigner.load(oldRoot);
  const { keyPem, csrPem } = await newNodeKeyAndCSR();
  const cert = await signer.issue({ csrPem, nodeId: nodes.get('w1')!.nodeId, role: 'worker', clusterId: h1().clusterId, now: Date.now() });
  const addr = ctxs.get('h1')!.advertiseAddr!;
  // A stale node still trusting the old root reaches the manager (its chain verifies) but is not let in.
  const tls = { cert, key: keyPem, ca: oldRoot.certPem, servername: MANAGER_ROLE, rejectUnauthorized: true };
  try {
    await httpsJson(addr, 'POST', '/renew', { tls, body: { csrPem } });
    assert.unreachable('an old-root certificate renewed');
  } catch (err) {
    assert.instance(err, ApiError);
    assert.is((err as ApiError).status, 401);
  }
  const status = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`wss://${addr}/dispatcher`, { ...tls, perMessageDeflate: false });
    ws.on('open', () => { resolve(101); ws.terminate(); });
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.on('error', () => resolve(0));
  });
  assert.is(status, 401);
});

test.run();
