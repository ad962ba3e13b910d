// The allocator controller over a MemoryStore without Raft (LocalProposer), with the
// other leader controllers: networks, VIPs, ports, node and task addresses are written
// through the store, tasks move new → pending → assigned, and a new leader (a fresh
// controller rebuilding its state from the store) never hands out an address twice.
// Passes run on setImmediate; the test drains them by yielding (no timers, no sleeping).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StateRole } from 'raft-ts';
import { MemoryStore } from '../../store/index.ts';
import { aNode, aService } from '../../store/testing.ts';
import { nullLogger } from '../../common/logger.ts';
import type { NetworkSpec } from '../../api/types/network.ts';
import type { Task } from '../../api/types/task.ts';
import { withState } from '../../common/task-state.ts';
import { ingressNetworkSpec } from '../allocator/index.ts';
import { AllocatorController, LeaderControllers, SchedulerController } from './index.ts';

type Listener = (e: { kind: 'role'; role: StateRole; term: number }) => void;

function fakeRaft(): { on(l: Listener): () => void } {
  const ls = new Set<Listener>();
  return { on: (l) => (ls.add(l), () => ls.delete(l)) };
}

async function settle(until: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !until(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(until(), 'condition reached');
}

function netSpec(name: string, subnet?: string): NetworkSpec {
  return {
    Name: name, Labels: {}, Driver: 'overlay', Options: {}, IPAM: { Driver: 'default', Config: subnet ? [{ Subnet: subnet }] : [] },
    Attachable: false, Ingress: false, Internal: false, EnableIPv6: false, Scope: 'swarm',
  };
}

async function setup(front?: string) {
  const store = new MemoryStore();
  const { value: ids } = await store.update((tx) => {
    for (const h of ['a', 'b']) tx.create('node', aNode(h));
    const ing = tx.create('network', { Spec: ingressNetworkSpec() });
    const net = tx.create('network', { Spec: netSpec('front', front) });
    return { ingress: ing.ID, front: net.ID };
  });
  const leaders = () => new LeaderControllers({ store, raft: fakeRaft() as never, isLeader: true }, nullLogger);
  return { store, ids, leaders };
}

const tasks = (store: MemoryStore): Task[] => store.view((tx) => tx.list('task'));

/** Every address held (VIPs, node and live task attachments); asserts none is held twice. */
function held(store: MemoryStore): string[] {
  const all: string[] = [];
  store.view((tx) => {
    for (const s of tx.list('service')) for (const v of s.Endpoint?.VirtualIPs ?? []) all.push(`${v.NetworkID}:${v.Addr}`);
    for (const n of tx.list('node')) for (const a of n.Attachments ?? []) all.push(`${a.Network.ID}:${a.Addresses[0]}`);
    for (const t of tx.list('task')) {
      if (['complete', 'failed', 'shutdown', 'rejected', 'remove', 'orphaned'].includes(t.Status.State)) continue;
      for (const a of t.NetworksAttachments ?? []) all.push(`${a.Network.ID}:${a.Addresses[0]}`);
    }
  });
  assert.is(new Set(all).size, all.length, `no address held twice: ${all.join(' ')}`);
  return all;
}

test('networks, VIPs, ports, node and task addresses are written; tasks go new → pending → assigned', async () => {
  const { store, ids, leaders } = await setup();
  const c = leaders();
  try {
    const spec = aService('web', 3);
    spec.Spec.TaskTemplate.Networks = [{ Target: ids.front, Aliases: ['www'] }];
    spec.Spec.EndpointSpec = { Ports: [{ TargetPort: 80 }] };
    await store.update((tx) => tx.create('service', spec));
    await settle(() => tasks(store).filter((t) => t.Status.State === 'assigned').length === 3);
    const [ing, front] = store.view((tx) => [tx.get('network', ids.ingress)!, tx.get('network', ids.front)!]);
    assert.equal(ing.Allocation, { Subnet: '10.0.0.0/24', Gateway: '10.0.0.1', IPRange: '10.0.0.0/24', VNI: 4096, MTU: 1450 });
    assert.is(front.Allocation!.Subnet, '10.0.1.0/24');
    const svc = store.view((tx) => tx.getByName('service', 'web'))!;
    assert.equal(svc.Endpoint!.Ports, [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30000, PublishMode: 'ingress' }]);
    assert.equal(svc.Endpoint!.VirtualIPs!.map((v) => v.NetworkID), [ids.ingress, ids.front]);
    for (const t of tasks(store)) {
      assert.equal(t.NetworksAttachments!.map((a) => a.Network.Spec.Name), ['ingress', 'front']);
      assert.equal(t.NetworksAttachments![1]!.Aliases, ['www']);
      assert.equal(t.Endpoint, svc.Endpoint);
    }
    for (const n of store.view((tx) => tx.list('node'))) assert.equal(n.Attachments!.map((a) => a.Network.ID), [ids.ingress]);
    assert.is(held(store).length, 2 + 2 + 6);
  } finally {
    c.close();
  }
});

test('a new leader rebuilds the state from the store and never hands out an address twice', async () => {
  const { store, ids, leaders } = await setup();
  let c = leaders();
  try {
    const spec = aService('web', 4);
    spec.Spec.TaskTemplate.Networks = [{ Target: ids.front }];
    const { value: svc } = await store.update((tx) => tx.create('service', spec));
    await settle(() => tasks(store).filter((t) => t.Status.State === 'assigned').length === 4);
    // Two tasks end (their addresses are free again), then leadership moves.
    await store.update((tx) => {
      for (const t of tx.list('task').slice(0, 2)) tx.update('task', withState(t, 'failed', { now: Date.now() }));
    });
    c.close();
    c = leaders();
    const next = structuredClone(store.view((tx) => tx.get('service', svc.ID))!);
    next.Spec.Mode = { Replicated: { Replicas: 8 } };
    await store.update((tx) => tx.update('service', next));
    await settle(() => tasks(store).filter((t) => t.Status.State === 'assigned').length === 8);
    const front = held(store).filter((a) => a.startsWith(`${ids.front}:`));
    assert.is(front.length, 1 + 8, 'VIP + 8 live tasks');
  } finally {
    c.close();
  }
});

test('an exhausted network leaves tasks new with a clear error, allocated once addresses free up', async () => {
  const { store, ids, leaders } = await setup('10.9.0.0/29'); // hosts .2-.6
  const c = leaders();
  try {
    // "other" takes one VIP; web takes a VIP and 3 task addresses; its 4th task waits.
    const other = aService('other', 0);
    other.Spec.TaskTemplate.Networks = [{ Target: ids.front }];
    const { value: o } = await store.update((tx) => tx.create('service', other));
    await settle(() => !!store.view((tx) => tx.get('service', o.ID))!.Endpoint);
    const spec = aService('web', 4);
    spec.Spec.TaskTemplate.Networks = [{ Target: ids.front }];
    await store.update((tx) => tx.create('service', spec));
    await settle(() => tasks(store).filter((t) => t.Status.State === 'assigned').length === 3 && tasks(store).some((t) => !!t.Status.Err));
    const stuck = tasks(store).find((t) => t.Status.State === 'new')!;
    assert.match(stuck.Status.Err!, /pool exhausted: no free address in "10.9.0.0\/29" of network "front"/);
    // Deleting "other" frees its VIP: the waiting task gets it.
    await store.update((tx) => tx.delete('service', o.ID));
    await settle(() => store.view((tx) => tx.get('task', stuck.ID))!.Status.State === 'assigned');
    const t = store.view((tx) => tx.get('task', stuck.ID))!;
    assert.is(t.Status.Err, undefined);
    assert.equal(t.NetworksAttachments![0]!.Addresses, ['10.9.0.2/29']);
    held(store);
  } finally {
    c.close();
  }
});

test('the scheduler alone leaves new tasks alone; the allocator moves them to pending', async () => {
  const { store } = await setup();
  const sched = new SchedulerController(store, nullLogger);
  const alloc = new AllocatorController(store, nullLogger);
  try {
    sched.start();
    const { value: svc } = await store.update((tx) => tx.create('service', aService('solo', 1)));
    const draft = {
      Labels: {}, Spec: { ContainerSpec: { Image: 'busybox' } }, ServiceID: svc.ID, Slot: 1,
      Status: { Timestamp: new Date(0).toISOString(), State: 'new' as const, Message: 'created' }, DesiredState: 'running' as const,
    };
    await store.update((tx) => tx.create('task', draft));
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.is(tasks(store)[0]!.Status.State, 'new');
    alloc.start();
    await settle(() => tasks(store)[0]!.Status.State === 'assigned');
    assert.ok(alloc.allocatorState);
  } finally {
    sched.stop();
    alloc.stop();
  }
});

test.run();
