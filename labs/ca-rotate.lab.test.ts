// Root CA rotation on one shared 3-host lab (root; three managers, real runc containers,
// issue 16 items 7 and 8): `shoal swarm ca --rotate` under a web service answering
// through the routing mesh, with a steady client the whole time — every request answered,
// every node ends on the new root alone (its files and what the managers know of it); a
// certificate the old root signed, good before, is refused on 2377 once the rotation is
// over; a node down during a rotation holds it and renews when it returns; then the
// stock docker CLI's `swarm ca --rotate` rotates again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Node } from '../src/api/types/node.ts';
import type { ServiceSpec } from '../src/api/types/service.ts';
import type { Swarm } from '../src/api/types/swarm.ts';
import { splitPemCerts, tokenMatchesCA, verifyChain } from '../src/manager/ca/index.ts';
import { Lab } from './lib/lab.ts';
import { run } from './lib/procs.ts';
import { loadArgv, type LoadResult } from './lib/steady-load.ts';
import { probeUpgrade } from './lib/swarm-probe.ts';
import { client, formSwarm, HOSTS, IMAGE, waitFor, waitRunning } from './lib/swarm-services.ts';
import { docker } from './test/docker-cli.ts';
import type { DaemonProcess } from './test/daemon-process.ts';

const PORT = 8080;
/** New connections per second of the client through the mesh. */
const RATE = 20;
let lab: Lab;

const api = () => client(lab, 'h1');
const swarm = () => api().get<Swarm>('/swarm');
const certDir = (host: string) => join(lab.host(host).hostDir, 'data', 'swarm', 'certificates');
const summary = (r: LoadResult) => `${r.ok}/${r.sent} ok, first failures ${JSON.stringify(r.failures.slice(0, 3))}`;

/** A steady client from the lab switch to `host`:PORT through the routing mesh, until `stopFile` exists. */
async function load(host: string, stopFile: string): Promise<LoadResult> {
  const [cmd, ...rest] = loadArgv(['nsenter', `--net=/run/netns/${lab.names.switchNetns}`], [lab.address(host), PORT, RATE, 1_000_000, '/', 3000, stopFile, 0]);
  const r = await run(cmd, rest, { timeoutMs: 600_000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as LoadResult;
  } catch {
    throw new Error(`load client: no result (code ${r.code}): ${r.stderr.slice(-400)}`);
  }
}

test.before(async () => {
  lab = await Lab.up({ hosts: 3, prefix: 'shoalca', replace: true });
  await formSwarm(lab, { managers: true });
  await api().post('/services/create', {
    Name: 'caweb', Labels: {}, Mode: { Replicated: { Replicas: 3 } },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'exec httpd -f -p 80 -h /www'], StopGracePeriod: 1e9 } },
    EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: PORT, PublishMode: 'ingress' }] },
  } satisfies ServiceSpec);
  await waitRunning(lab, 'caweb', 3);
});

test.after(async () => {
  await lab?.down();
});

test('shoal swarm ca --rotate under traffic: no request fails, every node ends on the new root alone', async () => {
  const before = await swarm();
  // h3's identity as the old root issued it, kept to try once the rotation is over.
  const oldDir = join(lab.host('h2').hostDir, 'old-h3-certs');
  await cp(certDir('h3'), oldDir, { recursive: true });
  const url = `wss://${lab.address('h1')}:2377/dispatcher`;
  assert.equal(await probeUpgrade(lab, 'h2', { url, certDir: oldDir }), { upgraded: true }, 'the old certificate works before');
  const stopFile = join(lab.baseDir, 'stop-caweb');
  await rm(stopFile, { force: true });
  const client = load('h2', stopFile);
  let out = '';
  let span = { from: 0, to: 0 };
  try {
    await new Promise((r) => setTimeout(r, 3000)); // the client runs at its steady rate first (checked below)
    const t0 = Date.now();
    const r = await lab.cli('h1', ['swarm', 'ca', '--rotate'], { timeoutMs: 240_000 });
    out = r.stdout;
    assert.is(r.code, 0, `shoal swarm ca --rotate: ${r.stdout}\n${r.stderr}`);
    span = { from: t0, to: Date.now() };
    console.log(`  rotation converged in ${span.to - span.from} ms`);
    await new Promise((res) => setTimeout(res, 2000)); // and goes on a little after it
  } finally {
    await writeFile(stopFile, '');
  }
  const result = await client;
  assert.ok(result.startedAt < span.from && result.endedAt > span.to, 'the client covered the whole rotation');
  console.log(`  mesh during the rotation: ${summary(result)}`);
  assert.ok(result.sent >= RATE * 5, `the client ran through the rotation (${result.sent} requests)`);
  assert.is(result.errors, 0, `no request failed: ${summary(result)}`);
  assert.match(out, /rotated TLS certificates: 3\/3 nodes/);
  assert.match(out, /rotated CA certificates: 3\/3 nodes/);

  const after = await swarm();
  const root = after.TLSInfo.TrustRoot;
  assert.is.not(root, before.TLSInfo.TrustRoot);
  assert.is(after.RootRotationInProgress, false);
  assert.ok(out.trim().endsWith(root.trim()), 'the command ends with the new root');
  assert.ok(tokenMatchesCA(after.JoinTokens.Worker, root) && tokenMatchesCA(after.JoinTokens.Manager, root), 'join tokens carry the new root digest');
  // Each node's own files: its root is the new one, and its certificate verifies against it alone.
  for (const h of HOSTS) {
    const [cert, ca] = await Promise.all(['swarm-node.crt', 'swarm-root-ca.crt'].map((f) => readFile(join(certDir(h), f), 'utf8')));
    assert.is(ca, root, `${h} trusts the new root`);
    verifyChain(cert, root);
    assert.throws(() => verifyChain(splitPemCerts(cert)[0], before.TLSInfo.TrustRoot), /not signed by the cluster root/, `${h}: the old root did not sign its leaf`);
  }
  const nodes = await api().get<Node[]>('/nodes');
  assert.ok(nodes.every((n) => n.Description.TLSInfo?.TrustRoot === root && n.Description.TLSInfo.CertIssuerPublicKey === after.TLSInfo.CertIssuerPublicKey), 'the managers know every node is on the new root');
  await waitRunning(lab, 'caweb', 3);

  // The old root's certificate is refused now, though it has not expired.
  const refused = await probeUpgrade(lab, 'h2', { url, certDir: oldDir });
  assert.is(refused.status, 401, `old-root certificate refused: ${JSON.stringify(refused)}`);
  await rm(oldDir, { recursive: true, force: true });
});

test('a node down during a rotation holds it; back, it renews with its old certificate and the rotation ends', async () => {
  const before = await swarm();
  await lab.killDaemon('h3');
  try {
    const r = await lab.cli('h1', ['swarm', 'ca', '--rotate', '--detach'], { timeoutMs: 60_000 });
    assert.is(r.code, 0, `shoal swarm ca --rotate --detach: ${r.stderr}`);
    const during = await swarm();
    assert.is(during.RootRotationInProgress, true);
    const h3 = (await api().get<Node[]>('/nodes')).find((n) => n.Description.Hostname === 'h3')!;
    // The two nodes that are up renew; h3 is the one the rotation waits for.
    await waitFor('h1 and h2 on the new key', async () => {
      const nodes = await api().get<Node[]>('/nodes');
      return nodes.filter((n) => n.Description.TLSInfo?.CertIssuerPublicKey === during.TLSInfo.CertIssuerPublicKey).length === 2;
    }, 60_000);
    const still = await swarm();
    assert.is(still.RootRotationInProgress, true, 'the node that is down holds the rotation');
    assert.is(still.TLSInfo.TrustRoot, before.TLSInfo.TrustRoot, 'nodes still trust the old root');
    await lab.startDaemon('h3');
    await waitFor('the rotation to end once h3 is back', async () => !(await swarm()).RootRotationInProgress, 120_000);
    const after = await swarm();
    await waitFor('h3 to trust the new root', async () => (await api().get<Node>(`/nodes/${h3.ID}`)).Description.TLSInfo?.TrustRoot === after.TLSInfo.TrustRoot, 60_000);
    const [cert, ca] = await Promise.all(['swarm-node.crt', 'swarm-root-ca.crt'].map((f) => readFile(join(certDir('h3'), f), 'utf8')));
    assert.is(ca, after.TLSInfo.TrustRoot);
    assert.is(verifyChain(cert, after.TLSInfo.TrustRoot).nodeId, h3.ID);
  } finally {
    if (!lab.daemonPid('h3')) await lab.startDaemon('h3').catch(() => undefined);
  }
  await waitRunning(lab, 'caweb', 3, 'h1', 120_000);
});

test('the stock docker CLI rotates the root with swarm ca --rotate', async () => {
  const before = await swarm();
  const d = { host: lab.dockerHost('h1') } as DaemonProcess;
  const r = await docker(d, 'swarm', 'ca', '--rotate');
  assert.is(r.code, 0, `docker swarm ca --rotate: ${r.err}`);
  const after = await swarm();
  assert.is.not(after.TLSInfo.TrustRoot, before.TLSInfo.TrustRoot);
  assert.is(after.RootRotationInProgress, false);
  assert.ok(r.out.includes(after.TLSInfo.TrustRoot.trim()), 'docker prints the new root');
  const nodes = await api().get<Node[]>('/nodes');
  assert.ok(nodes.every((n) => n.Description.TLSInfo?.TrustRoot === after.TLSInfo.TrustRoot));
  await waitRunning(lab, 'caweb', 3);
});

test.run();
