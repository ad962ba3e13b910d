// A rolling upgrade of Shoal itself (issue 21, item 5), on a 3-manager lab (root; real
// runc containers, the lab registry's bb:v1 httpd). Version N is this commit; N+1 is this
// commit started with SHOAL_TEST_UPGRADE=1 (common/release.ts): a bumped version and a
// store schema 2 whose migration only marks the cluster. One manager at a time is stopped
// (SIGTERM, as `systemctl restart` does) and started as N+1 while a client outside the
// hosts opens connections at a steady rate to a published port through the routing mesh:
// - `node ls` shows each node's version as it is upgraded (a restarted node states it);
// - the store stays at schema 1 while any manager runs N, and the leader migrates it to 2
//   once every manager runs N+1;
// - the service answers every request throughout.
// Everything waits by polling with deadlines; the client is our own process (steady-load.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from '../src/api/types/node.ts';
import type { ServiceSpec } from '../src/api/types/service.ts';
import { Lab } from './lib/lab.ts';
import { daemonPid, defaultDaemonCommand } from './lib/daemon.ts';
import { isAlive, run } from './lib/procs.ts';
import { client, IMAGE, tasksOf, waitFor } from './lib/swarm-services.ts';
import { loadArgv, type LoadResult } from './lib/steady-load.ts';

const PREFIX = 'shoalupg';
const HOSTS = ['h1', 'h2', 'h3'];
const PORT = 8090;
const RATE = 50;
const S = 1e9;
/** Hosts whose daemon starts as release N+1. */
const upgraded = new Set<string>();
let lab: Lab;

const api = (h = 'h1') => client(lab, h);

/** The versions `node ls` would show, by host name, asked through `via`. */
async function versions(via: string): Promise<Record<string, string>> {
  const nodes = await api(via).get<Node[]>('/nodes');
  return Object.fromEntries(nodes.map((n) => [n.Description.Hostname, n.Description.Engine.EngineVersion]));
}

/** The store schema the cluster records (1 when it records none), asked through `via`. */
async function storeSchema(via: string): Promise<number> {
  const swarm = await api(via).get<{ ShoalStoreSchema?: number }>('/swarm');
  return swarm.ShoalStoreSchema ?? 1;
}

/** Stops a host's daemon as a service manager would (SIGTERM, wait for it to exit), then starts it as release N+1. */
async function upgrade(host: string): Promise<void> {
  const pid = daemonPid(lab.names, host);
  assert.ok(pid, `${host} has a running daemon`);
  process.kill(pid, 'SIGTERM');
  await waitFor(`${host}'s daemon exited`, async () => !isAlive(pid), 60_000);
  upgraded.add(host);
  await lab.startDaemon(host);
}

test.before(async () => {
  lab = await Lab.up({
    hosts: 3, prefix: PREFIX, replace: true,
    daemons: { command: (ctx) => [...(upgraded.has(ctx.host) ? ['/usr/bin/env', 'SHOAL_TEST_UPGRADE=1'] : []), ...defaultDaemonCommand(ctx)] },
  });
  const h1 = api('h1');
  await h1.post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
  const { JoinTokens } = await h1.get<{ JoinTokens: { Manager: string } }>('/swarm');
  for (const h of ['h2', 'h3']) {
    await api(h).post('/swarm/join', { ListenAddr: `${lab.address(h)}:2377`, AdvertiseAddr: lab.address(h), RemoteAddrs: [`${lab.address('h1')}:2377`], JoinToken: JoinTokens.Manager }, { timeoutMs: 60_000 });
  }
  await waitFor('three ready managers', async () => {
    const nodes = await h1.get<Node[]>('/nodes').catch(() => [] as Node[]);
    return nodes.length === 3 && nodes.every((n) => n.Status.State === 'ready' && n.ManagerStatus?.Reachability === 'reachable');
  }, 60_000);
});

test.after(async () => {
  await lab?.down();
});

test('managers upgraded one at a time under load: versions shown, the store migrated at the end, no request lost', async () => {
  const before = await versions('h1');
  const n = before.h1;
  assert.ok(n && HOSTS.every((h) => before[h] === n), `every node runs N at first: ${JSON.stringify(before)}`);
  assert.is(await storeSchema('h1'), 1);

  const spec = {
    Name: 'web', Labels: {}, Mode: { Replicated: { Replicas: 3 } },
    TaskTemplate: {
      ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'exec httpd -f -p 80 -h /www'], StopGracePeriod: 5 * S },
      RestartPolicy: { Condition: 'any', Delay: 1 * S },
      Placement: { MaxReplicas: 1 },
    },
    EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: PORT, PublishMode: 'ingress' }] },
  } as unknown as ServiceSpec;
  await api('h1').post('/services/create', spec);
  await waitFor('3 web tasks running', async () => (await tasksOf(lab, 'web').catch(() => [])).filter((t) => t.Status.State === 'running').length === 3, 120_000);
  // The mesh answers before the load starts (the first view may still be going out).
  await waitFor('the mesh answers', async () => (await mesh(10, 1)).ok === 1, 60_000, 500);

  const stopFile = join(lab.baseDir, 'stop-upg');
  rmSync(stopFile, { force: true });
  const readyFile = join(lab.baseDir, 'ready-upg');
  rmSync(readyFile, { force: true });
  const load = mesh(RATE, 1_000_000, stopFile, readyFile);
  await waitFor('the load flowing', async () => existsSync(readyFile), 30_000, 100);
  const upgradeStarted = Date.now();
  let upgradeEnded = 0;
  try {
    for (const [i, host] of HOSTS.entries()) {
      await upgrade(host);
      const via = host;
      await waitFor(`${host} shows release N+1`, async () => (await versions(via).catch(() => ({} as Record<string, string>)))[host] === `${n}-next`, 60_000);
      const seen = await versions(via);
      for (const h of HOSTS) assert.is(seen[h], upgraded.has(h) ? `${n}-next` : n, `after ${i + 1} upgrade(s), ${h}'s version`);
      if (i < HOSTS.length - 1) assert.is(await storeSchema(via), 1, 'no migration while a manager still runs N');
      // The service keeps its three tasks running through every step.
      await waitFor('3 web tasks running', async () => (await tasksOf(lab, 'web').catch(() => [])).filter((t) => t.Status.State === 'running').length === 3, 60_000);
    }
    await waitFor('the store migrated to schema 2', async () => (await storeSchema('h1').catch(() => 0)) === 2, 30_000);
    for (const h of HOSTS) assert.is(await storeSchema(h), 2, `${h} sees the migrated store`);
    upgradeEnded = Date.now();
  } finally {
    writeFileSync(stopFile, '');
  }
  const r = await load;
  assert.ok(r.startedAt <= upgradeStarted && r.endedAt >= upgradeEnded, 'the client sent through the whole upgrade');
  assert.ok(r.sent >= RATE * (upgradeEnded - upgradeStarted) / 1000 * 0.8, `the client kept its rate: ${r.sent} requests in ${upgradeEnded - upgradeStarted} ms`);
  assert.is(r.errors, 0, `every request answered: ${r.ok}/${r.sent}, first failures ${JSON.stringify(r.failures.slice(0, 3))}`);
});

/** A steady client from the lab switch to h1's published port (through the routing mesh): `count` requests, or until `stopFile` exists. */
async function mesh(rate: number, count: number, stopFile?: string, readyFile?: string): Promise<LoadResult> {
  const [cmd, ...rest] = loadArgv(['nsenter', `--net=/run/netns/${lab.names.switchNetns}`], [lab.address('h1'), PORT, rate, count, '/VERSION', 3000, ...(stopFile ? [stopFile, 0] : []), ...(readyFile ? [readyFile] : [])]);
  const r = await run(cmd, rest, { timeoutMs: 900_000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as LoadResult;
  } catch {
    throw new Error(`load client: no result (code ${r.code}): ${r.stderr.slice(-400)}`);
  }
}

test.run();
