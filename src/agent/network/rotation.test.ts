import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task } from '../../api/types/task.ts';
import type { NodeNetworkView } from '../../wire/network-view-types.ts';
import { RotationWaiters, inViewRotation } from './rotation.ts';

const task = {
  ID: 'abc', ServiceID: 's', Slot: 1,
  NetworksAttachments: [
    { Network: { ID: 'front' }, Addresses: ['10.0.1.5/24'] },
    { Network: { ID: 'ing' }, Addresses: ['10.255.0.7/16'] },
  ],
} as unknown as Task;

function view(o: { member?: boolean; backend?: boolean }): NodeNetworkView {
  return {
    vtep: '192.168.100.11',
    networks: [
      { id: 'front', name: 'front', ingress: false, subnet: '10.0.1.0/24', gateway: '10.0.1.1', vni: 4097, mtu: 1450, peers: [], services: [
        { id: 's', name: 'web', endpointMode: 'vip', vip: '10.0.1.2', aliases: [], tasks: o.member ? [{ name: 'web.1.abc', ip: '10.0.1.5' }] : [{ name: 'web.2.def', ip: '10.0.1.6' }] },
      ] },
      { id: 'ing', name: 'ingress', ingress: true, subnet: '10.255.0.0/16', gateway: '10.255.0.1', vni: 4096, mtu: 1450, peers: [], services: [] },
    ],
    ingress: { networkId: 'ing', address: '10.255.0.2/16', ports: [{ service: 'web', protocol: 'tcp', published: 8080, target: 80, backends: o.backend ? ['10.255.0.7', '10.255.0.8'] : ['10.255.0.8'] }] },
  };
}

test('a task is in a view while it is a service member or a mesh backend', () => {
  assert.ok(inViewRotation(view({ member: true, backend: true }), task));
  assert.ok(inViewRotation(view({ member: true }), task), 'DNS and VIP member');
  assert.ok(inViewRotation(view({ backend: true }), task), 'mesh backend');
  assert.not.ok(inViewRotation(view({}), task));
});

test('waiters resolve at the first applied view without the task, and at once when the last one already left it out', async () => {
  const w = new RotationWaiters();
  w.applied(view({ member: true, backend: true }));
  let done: unknown;
  const p = w.wait(task, 60_000).then((ok) => (done = ok));
  w.applied(view({ backend: true }));
  await Promise.resolve();
  assert.is(done, undefined, 'still a mesh backend');
  w.applied(view({}));
  await p;
  assert.is(done, 'local', 'a view without a generation: only this node is known to be done');
  assert.is(await w.wait(task, 60_000), 'local');
});

test('with generations, a waiter resolves once the leader says every node applied the view that left the task out', async () => {
  const w = new RotationWaiters();
  w.applied({ ...view({ member: true }), generation: 10 });
  w.watermark(10);
  let done: unknown;
  const p = w.wait(task, 60_000).then((r) => (done = r));
  w.applied({ ...view({}), generation: 14 });
  await Promise.resolve();
  assert.is(done, undefined, 'out here at 14, the others have applied only 10');
  w.watermark(13);
  await Promise.resolve();
  assert.is(done, undefined);
  w.watermark(15);
  await p;
  assert.is(done, 'cluster');
  assert.is(await w.wait(task, 60_000), 'cluster', 'already out everywhere');
});

test('a waiter that saw the task leave here but no watermark in time reports local', async () => {
  const w = new RotationWaiters();
  w.applied({ ...view({}), generation: 3 });
  const keep = setInterval(() => {}, 1000);
  try {
    assert.is(await w.wait(task, 1), 'local');
  } finally {
    clearInterval(keep);
  }
});

test('a waiter gives up after its timeout', async () => {
  const w = new RotationWaiters();
  w.applied(view({ member: true }));
  const keep = setInterval(() => {}, 1000); // the waiter's own timer does not hold the process
  try {
    assert.is(await w.wait(task, 1), false);
  } finally {
    clearInterval(keep);
  }
});

test.run();
