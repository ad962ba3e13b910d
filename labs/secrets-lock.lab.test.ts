// Secrets at rest and autolock on a 3-manager lab (root, real runc containers; issue 16,
// items 4, 5, 6, 8):
// - `secret rotate` rolls a health-checked start-first service onto the new version with
//   zero failed requests of a steady client through its VIP, and the old version is
//   removed once no task uses it;
// - no byte of any manager's data root (Raft WAL, snapshots, keys) holds a secret's
//   plaintext or its base64 form;
// - autolock: every manager seals its keys; one down during an unlock-key rotation comes
//   back locked (Docker's 503, no swarm port, no Raft), refuses the key it never saw,
//   unlocks with the old key, then follows the cluster to the new key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HealthConfig, Service, ServiceSpec } from '../src/api/types/service.ts';
import type { Swarm } from '../src/api/types/swarm.ts';
import { parseUnlockKey, unlockKeyId } from '../src/manager/keys/index.ts';
import { Lab } from './lib/lab.ts';
import { run } from './lib/procs.ts';
import { client, formSwarm, HOSTS, IMAGE, waitFor } from './lib/swarm-services.ts';
import { createNetwork, createService, placedTasks, taskNetns } from './lib/swarm-net.ts';
import { loadArgv, type LoadResult } from './lib/steady-load.ts';

const PREFIX = 'shoallk';
const S = 1e9;
const V1 = `shoallk-v1-${randomBytes(10).toString('hex')}`;
const V2 = `shoallk-v2-${randomBytes(10).toString('hex')}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const LOCKED = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';
let lab: Lab;
let hostOf: Map<string, string>;
const api = () => client(lab, 'h1');

test.before(async () => {
  lab = await Lab.up({ hosts: 3, prefix: PREFIX, replace: true });
  hostOf = await formSwarm(lab, { managers: true });
});

test.after(async () => {
  await lab?.down();
});

const dataRoot = (h: string) => join(lab.host(h).hostDir, 'data');

/** Files under a host's data root holding `needle` (grep over every byte). */
async function filesWith(h: string, needle: string): Promise<string[]> {
  const r = await lab.exec(h, ['grep', '-r', '-a', '-F', '-l', '-D', 'skip', '--', needle, dataRoot(h)], { timeoutMs: 120_000 });
  assert.ok(r.code === 0 || r.code === 1 || r.code === 2, `grep on ${h}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

async function keyFile(h: string): Promise<{ locked: boolean; unlockKeyId?: string }> {
  const r = await lab.exec(h, ['cat', join(dataRoot(h), 'swarm', 'certificates', 'swarm-node.kek')]);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const health = (): HealthConfig => ({ Test: ['CMD-SHELL', 'timeout 2 wget -q -O /dev/null http://127.0.0.1/ver'], Interval: 1 * S, Timeout: 3 * S, Retries: 2 });

test('secret rotate rolls a start-first service onto the new version with no failed request through its VIP', async () => {
  const net = await createNetwork(lab, 'lknet');
  const { ID: v1Id } = await api().post<{ ID: string }>('/secrets/create', { Name: 'ver', Labels: {}, Data: b64(V1) });
  // httpd serves the task's secrets tmpfs: the answer is the version the task mounts, and no byte reaches a disk.
  await createService(lab, {
    Name: 'lkweb', Labels: {}, Mode: { Replicated: { Replicas: 3 } },
    TaskTemplate: {
      ContainerSpec: {
        Image: IMAGE, Command: ['sh', '-c', 'exec httpd -f -p 80 -h /run/secrets'], StopGracePeriod: 5 * S, Healthcheck: health(),
        Secrets: [{ SecretID: '', SecretName: 'ver', File: { Name: 'ver', UID: '0', GID: '0', Mode: 0o444 } }],
      },
      RestartPolicy: { Condition: 'any', Delay: 1 * S },
      Networks: [{ Target: net }],
    },
    UpdateConfig: { Parallelism: 1, Delay: 0, Order: 'start-first', Monitor: 2 * S, FailureAction: 'rollback' },
    EndpointSpec: { Mode: 'vip' },
  } as ServiceSpec);
  await createService(lab, {
    Name: 'lkcli', Labels: {}, Mode: { Replicated: { Replicas: 1 } },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'] }, Networks: [{ Target: net }], Placement: { Constraints: ['node.hostname==h3'] } },
  } as ServiceSpec);
  await placedTasks(lab, 'lkweb', hostOf, 3, net, 120_000);
  const [c] = await placedTasks(lab, 'lkcli', hostOf, 1, net);
  const vip = (await api().get<Service>('/services/lkweb')).Endpoint?.VirtualIPs?.find((v) => v.NetworkID === net)?.Addr.split('/')[0];
  assert.ok(vip, 'a VIP');

  const stopFile = join(lab.baseDir, 'stop-lkweb');
  rmSync(stopFile, { force: true });
  const argv = loadArgv([...lab.enterCommand('h3'), 'nsenter', `--net=/run/netns/${taskNetns(c.id)}`], [vip!, 80, 50, 100_000, '/ver', 3000, stopFile, 1000]);
  const load = run(argv[0], argv.slice(1), { timeoutMs: 600_000 }).then((r) => JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as LoadResult);
  try {
    await new Promise((r) => setTimeout(r, 3000)); // steady first
    const rot = await lab.cli('h1', ['secret', 'rotate', 'ver', '-'], { input: V2, timeoutMs: 60_000 });
    assert.is(rot.code, 0, rot.stderr);
    assert.match(rot.stderr, /version 2; rolling lkweb onto it/);
    const done = await waitFor('the rotation rolled out', async () => {
      const s = await api().get<Service>('/services/lkweb');
      if (s.UpdateStatus?.State?.startsWith('rollback') || s.UpdateStatus?.State === 'paused') throw new Error(`update ${s.UpdateStatus.State}: ${s.UpdateStatus.Message}`);
      return s.UpdateStatus?.State === 'completed' && s;
    }, 240_000, 250);
    await new Promise((r) => setTimeout(r, 2000));
    writeFileSync(stopFile, '');
    const r = await load;
    const summary = `${r.ok}/${r.sent} ok, answers ${JSON.stringify(r.answers)}, failures ${JSON.stringify(r.failures.slice(0, 3))}`;
    console.log(`  rotation under load: ${summary}; update ${Date.parse(done.UpdateStatus!.CompletedAt!) - Date.parse(done.UpdateStatus!.StartedAt!)} ms`);
    assert.is(r.errors, 0, `no request failed: ${summary}`);
    assert.ok((r.answers[V1] ?? 0) > 0 && (r.answers[V2] ?? 0) > 0, `v1 answered, then v2: ${summary}`);
    assert.ok(r.sent >= 1000, summary);
  } finally {
    writeFileSync(stopFile, '');
    await load.catch(() => undefined);
    rmSync(stopFile, { force: true });
  }
  await waitFor('the retired version removed once no task uses it', async () => (await lab.request('h1', `/secrets/${v1Id}`)).status === 404, 60_000);
  const inspect = JSON.parse((await lab.request('h1', '/secrets/ver')).body);
  assert.equal(inspect.Versions.map((v: { Version: number }) => v.Version), [1, 2]);
});

test('no manager\'s data root (WAL, snapshots, keys) holds a secret\'s plaintext or base64', async () => {
  for (const h of HOSTS) {
    const raft = await lab.exec(h, ['ls', join(dataRoot(h), 'swarm', 'raft', 'wal')]);
    assert.is(raft.code, 0, `${h} is a manager with a WAL`);
    for (const needle of [V1, V2, b64(V1), b64(V2)]) assert.equal(await filesWith(h, needle), [], `${h}: ${needle}`);
  }
});

test('autolock: a manager down during a key rotation comes back locked, unlocks with the old key, then follows', async () => {
  const sw = await api().get<Swarm>('/swarm');
  await api().post('/swarm/update', { ...sw.Spec, EncryptionConfig: { AutoLockManagers: true } }, { query: { version: sw.Version.Index } });
  const k1 = (await api().get<{ UnlockKey: string }>('/swarm/unlockkey')).UnlockKey;
  const id1 = unlockKeyId(parseUnlockKey(k1));
  await waitFor('every manager sealed by the key', async () => (await Promise.all(HOSTS.map(keyFile))).every((f) => f.locked && f.unlockKeyId === id1), 30_000);

  await lab.killDaemon('h3');
  const sw2 = await api().get<Swarm>('/swarm');
  await api().post('/swarm/update', sw2.Spec, { query: { version: sw2.Version.Index, rotateManagerUnlockKey: true } });
  const k2 = (await api().get<{ UnlockKey: string }>('/swarm/unlockkey')).UnlockKey;
  assert.is.not(k2, k1);
  const id2 = unlockKeyId(parseUnlockKey(k2));
  await waitFor('h1 and h2 re-sealed by the new key', async () => (await Promise.all(['h1', 'h2'].map(keyFile))).every((f) => f.unlockKeyId === id2), 30_000);
  assert.is((await keyFile('h3')).unlockKeyId, id1, 'h3 was down: still sealed by the old key');

  await lab.startDaemon('h3');
  const info = JSON.parse((await lab.request('h3', '/info')).body);
  assert.is(info.Swarm.LocalNodeState, 'locked');
  const nodes = await lab.request('h3', '/nodes');
  assert.is(nodes.status, 503);
  assert.is(JSON.parse(nodes.body).message, LOCKED);
  const ss = await lab.exec('h3', ['ss', '-ltn']);
  assert.not.match(ss.stdout, /:2377\b/, 'a locked manager runs no swarm port (no Raft)');
  const wrong = await lab.request('h3', '/swarm/unlock', { method: 'POST', body: { UnlockKey: k2 } });
  assert.is(wrong.status, 401, wrong.body);
  assert.match(wrong.body, /invalid key provided/);
  assert.is(JSON.parse((await lab.request('h3', '/info')).body).Swarm.LocalNodeState, 'locked');

  const t0 = Date.now();
  const okr = await lab.cli('h3', ['swarm', 'unlock'], { input: `${k1}\n`, timeoutMs: 60_000 });
  assert.is(okr.code, 0, okr.stderr);
  await waitFor('h3 serves writes', async () => (await lab.request('h3', '/secrets/create', { method: 'POST', body: { Name: `after-${Date.now()}`, Labels: {}, Data: b64('x') } })).status === 201, 60_000, 100);
  console.log(`  unlock to first write on h3: ${Date.now() - t0} ms`);
  await waitFor('h3 caught up and re-sealed by the new key', async () => (await keyFile('h3')).unlockKeyId === id2, 60_000);

  await lab.killDaemon('h3');
  await lab.startDaemon('h3');
  const old = await lab.cli('h3', ['swarm', 'unlock'], { input: `${k1}\n` });
  assert.is.not(old.code, 0, 'the old key no longer opens h3');
  const now = await lab.cli('h3', ['swarm', 'unlock'], { input: `${k2}\n` });
  assert.is(now.code, 0, now.stderr);
  await waitFor('h3 reachable again', async () => JSON.parse((await lab.request('h1', '/nodes')).body).every((n: { ManagerStatus?: { Reachability: string } }) => n.ManagerStatus?.Reachability === 'reachable'), 60_000);
});

test.run();
