import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../api/types/task.ts';
import { nullLogger } from '../common/logger.ts';
import { LazyNetworking, needsNetworking, type OpenableNetworking } from './lazy-networking.ts';

function task(over: Partial<Task> = {}): Task {
  return {
    ID: 't1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: { ContainerSpec: { Image: 'bb' } },
    ServiceID: 's', Status: { Timestamp: '', State: 'assigned', Message: '' }, DesiredState: 'running', ...over,
  };
}

function fake(calls: string[]): () => Promise<OpenableNetworking> {
  return async () => {
    calls.push('open');
    return {
      setView: (v) => calls.push(`view ${v.networks.length}`),
      attach: async (t) => (calls.push(`attach ${t.ID}`), { netnsPath: '/run/netns/x', resolvConf: '' }),
      detach: async (id) => void calls.push(`detach ${id}`),
      close: async () => void calls.push('close'),
      removeAll: async () => void calls.push('removeAll'),
      endpoints: () => [{ taskId: 't1', name: 'web.1.t1', ip: '10.0.1.3', mac: '02:42:0a:00:01:03' }],
    };
  };
}

const flush = () => new Promise((r) => setImmediate(r));
const dir = mkdtempSync(join(tmpdir(), 'shoal-lazy-'));
const noState = join(dir, 'none.json');

test('a task without networks or host ports never opens the data plane', async () => {
  const calls: string[] = [];
  const n = new LazyNetworking(fake(calls), noState, nullLogger);
  assert.is(await n.attach(task()), undefined);
  n.setView({ vtep: '192.168.100.11', networks: [] });
  await n.detach('t1');
  await n.close();
  assert.equal(calls, []);
  assert.equal(n.endpoints('net'), []);
});

test('plan: nothing without networks (the data plane stays shut), the opened plane\'s answer otherwise', async () => {
  const calls: string[] = [];
  const open = fake(calls);
  const n = new LazyNetworking(async () => ({ ...(await open()), plan: async (t: Task) => (calls.push(`plan ${t.ID}`), { netnsPath: '/run/netns/t-t1', resolvConf: 'r' }) }), noState, nullLogger);
  assert.is(await n.plan(task()), undefined);
  assert.equal(calls, []);
  const t = task({ NetworksAttachments: [{ Network: { ID: 'n', Spec: { Name: 'n' } }, Addresses: ['10.0.1.3/24'] }] });
  assert.equal(await n.plan(t), { netnsPath: '/run/netns/t-t1', resolvConf: 'r' });
  assert.equal(calls, ['open', 'plan t1']);
});

test('the first task on a network opens it once, and later views go straight through', async () => {
  const calls: string[] = [];
  const n = new LazyNetworking(fake(calls), noState, nullLogger);
  n.setView({ vtep: '192.168.100.11', networks: [] });
  const t = task({ NetworksAttachments: [{ Network: { ID: 'n', Spec: { Name: 'n' } }, Addresses: ['10.0.1.3/24'] }] });
  await Promise.all([n.attach(t), n.attach({ ...t, ID: 't2' })]);
  assert.equal(calls, ['open', 'view 0', 'attach t1', 'attach t2']);
  assert.is(n.endpoints('n').length, 1);
  await n.detach('t1');
  assert.is(calls.at(-1), 'detach t1');
});

test('a view naming networks opens it; host-mode ports count as needing it', async () => {
  const calls: string[] = [];
  const n = new LazyNetworking(fake(calls), noState, nullLogger);
  n.setView({ vtep: 'x', networks: [{ id: 'n', name: 'n', ingress: false, subnet: '10.0.1.0/24', gateway: '10.0.1.1', vni: 4097, mtu: 1450, peers: [], services: [] }] });
  await flush();
  assert.equal(calls, ['open', 'view 1']);
  assert.ok(needsNetworking(task({ Endpoint: { Spec: {}, Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] } })));
  assert.not.ok(needsNetworking(task({ Endpoint: { Spec: {}, Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] } })));
});

test('state left by a previous daemon opens it at once, to re-adopt', async () => {
  const calls: string[] = [];
  const file = join(dir, 'state.json');
  writeFileSync(file, '{}');
  new LazyNetworking(fake(calls), file, nullLogger);
  await flush();
  assert.equal(calls, ['open']);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
