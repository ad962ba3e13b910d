// Network attachment tasks (standalone containers on attachable overlays): the pure parts
// across the manager: the session frame's shape, the network check, the allocator's pass,
// the network views (who answers the container's name) and the task reaper.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Network, NetworkSpec } from '../api/types/network.ts';
import type { Node } from '../api/types/node.ts';
import type { Task, TaskState } from '../api/types/task.ts';
import { allocatePass } from '../manager/allocator/allocate.ts';
import { rebuildState } from '../manager/allocator/state.ts';
import { tasksToDelete } from '../manager/orchestrator/task-reaper.ts';
import { attachableNetwork, attachmentTask, findNetwork, isAttachmentRequest, isAttachmentTask, AttachmentError } from './attachment-tasks.ts';
import { computeNetworkViews } from './network-view.ts';

const meta = { Version: { Index: 1 }, CreatedAt: '1970-01-01T00:00:00.000Z', UpdatedAt: '1970-01-01T00:00:00.000Z' };

function netSpec(name: string, over: Partial<NetworkSpec> = {}): NetworkSpec {
  return {
    Name: name, Labels: {}, Driver: 'overlay', Options: {}, IPAM: { Driver: 'default', Config: [] },
    Attachable: false, Ingress: false, Internal: false, EnableIPv6: false, Scope: 'swarm', ...over,
  };
}
function network(id: string, spec: NetworkSpec, allocated = false): Network {
  return { ID: id, ...meta, Spec: spec, ...(allocated ? { Allocation: { Subnet: '10.0.5.0/24', Gateway: '10.0.5.1', IPRange: '10.0.5.0/24', VNI: 4200, MTU: 1450 } } : {}) };
}
function node(id: string, addr: string): Node {
  return { ID: id, ...meta, Spec: { Role: 'worker', Availability: 'active', Labels: {} }, Description: { Hostname: id }, Status: { State: 'ready', Addr: addr } } as Node;
}
function withId(t: Task, id: string, state: TaskState = t.Status.State, desired: TaskState = t.DesiredState): Task {
  return { ...t, ID: id, Status: { ...t.Status, State: state }, DesiredState: desired };
}

const attachable = network('netattach0000000000000000a', netSpec('app', { Attachable: true }));
const closed = network('netclosed0000000000000000b', netSpec('svc-only'));
const ingress = network('netingress000000000000000c', netSpec('ingress', { Ingress: true, Attachable: true }));

test('frame shape: both requests need their string fields; anything else is not one', () => {
  assert.ok(isAttachmentRequest({ type: 'attachment.create', id: '1', containerId: 'c', name: 'web', network: 'app' }));
  assert.ok(isAttachmentRequest({ type: 'attachment.remove', id: '1', containerId: 'c' }));
  assert.not.ok(isAttachmentRequest({ type: 'attachment.create', id: '1', containerId: 'c', name: 'web' }));
  assert.not.ok(isAttachmentRequest({ type: 'attachment.create', id: 1, containerId: 'c', name: 'web', network: 'app' }));
  assert.not.ok(isAttachmentRequest({ type: 'attachment.remove', id: '1', containerId: '' }));
  assert.not.ok(isAttachmentRequest({ type: 'attachment.remove', id: '1', containerId: 'x'.repeat(500) }));
  assert.not.ok(isAttachmentRequest({ type: 'status', id: '1', containerId: 'c' }));
});

test('networks: found by ID, name or unique prefix; only attachable overlays, with Docker\'s refusal', () => {
  const nets = [attachable, closed, ingress];
  assert.is(findNetwork(nets, 'app')?.ID, attachable.ID);
  assert.is(findNetwork(nets, 'netattach')?.ID, attachable.ID);
  assert.is(findNetwork(nets, 'net'), undefined);
  assert.is(attachableNetwork(nets, 'app').ID, attachable.ID);
  const refusal = (ref: string) => { try { attachableNetwork(nets, ref); return undefined; } catch (e) { return e as AttachmentError; } };
  assert.is(refusal('svc-only')?.message, 'Could not attach to network svc-only: rpc error: code = PermissionDenied desc = network svc-only not manually attachable');
  assert.is(refusal('svc-only')?.status, 403);
  assert.match(refusal('ingress')!.message, /network ingress not manually attachable/);
  assert.is(refusal('nope')?.status, 404);
});

test('allocator: an attachment task gets an address on its network and goes to assigned; no service needed', () => {
  const net = network(attachable.ID, attachable.Spec);
  const t = withId(attachmentTask(net, { containerId: 'c0ffee', name: 'probe' }, 'n1', meta.CreatedAt), 'task00000000000000000000a');
  assert.ok(isAttachmentTask(t));
  assert.is(t.Name, 'probe');
  const input = { cluster: { DefaultAddrPool: ['10.0.0.0/8'], SubnetSize: 24 }, networks: [net], services: [], nodes: [], tasks: [t] };
  const first = allocatePass(rebuildState(input).state, input, { now: 0 });
  assert.is(first.networks.length, 1);
  const input2 = { ...input, networks: first.networks };
  const r = allocatePass(first.state, input2, { now: 1000 });
  assert.equal(r.warnings, []);
  assert.is(r.tasks.length, 1);
  const out = r.tasks[0];
  assert.is(out.Status.State, 'assigned');
  assert.is(out.NodeID, 'n1');
  assert.is(out.Endpoint, undefined);
  assert.is(out.NetworksAttachments?.length, 1);
  assert.equal(out.NetworksAttachments![0].Aliases, ['probe']);
  assert.match(out.NetworksAttachments![0].Addresses[0], /^10\.\d+\.\d+\.\d+\/24$/);
  // Once it ended, the next pass's reconcile frees the address.
  const ended = { ...out, Version: { Index: 3 }, Status: { ...out.Status, State: 'shutdown' as const }, DesiredState: 'shutdown' as const };
  const held = (s: typeof r.state) => JSON.stringify(s.ipam).includes(`task:${t.ID}`);
  assert.ok(held(r.state));
  const after = allocatePass(r.state, { ...input2, tasks: [ended] }, { now: 2000 });
  assert.not.ok(held(after.state));
});

test('allocator: an attachment task on a network that is not attachable is refused, keeping state new', () => {
  const net = network(closed.ID, closed.Spec, true);
  const t = withId(attachmentTask(net, { containerId: 'c', name: 'x' }, 'n1', meta.CreatedAt), 'task00000000000000000000b');
  const input = { cluster: { DefaultAddrPool: ['10.0.0.0/8'], SubnetSize: 24 }, networks: [net], services: [], nodes: [], tasks: [t] };
  const r = allocatePass(rebuildState(input).state, input, { now: 0 });
  assert.is(r.tasks[0].Status.State, 'new');
  assert.match(r.tasks[0].Status.Err ?? '', /not manually attachable/);
});

test('views: a running attachment task is a peer and answers its container name on its network only while running', () => {
  const net = network(attachable.ID, attachable.Spec, true);
  const base = withId(attachmentTask(net, { containerId: 'c', name: 'probe' }, 'n2', meta.CreatedAt), 'task00000000000000000000c', 'running');
  const t: Task = { ...base, NetworksAttachments: [{ Network: { ID: net.ID, Spec: net.Spec }, Addresses: ['10.0.5.9/24'], Aliases: ['probe'] } as Task['NetworksAttachments'] extends (infer A)[] | undefined ? A : never] };
  const nodes = [node('n1', '192.168.100.11'), node('n2', '192.168.100.12')];
  const views = computeNetworkViews({ networks: [net], services: [], tasks: [t], nodes });
  const v2 = views.get('n2')!;
  assert.equal(v2.networks.map((n) => n.id), [net.ID]);
  assert.equal(v2.networks[0].peers.map((p) => p.ip), ['10.0.5.9']);
  assert.equal(v2.networks[0].services, [{ id: t.ID, name: 'probe', endpointMode: 'dnsrr', aliases: [], tasks: [{ name: 'probe', ip: '10.0.5.9' }] }]);
  // Assigned, not yet attached: a peer already, no name yet.
  const assigned = computeNetworkViews({ networks: [net], services: [], tasks: [{ ...t, Status: { ...t.Status, State: 'assigned' } }], nodes }).get('n2')!;
  assert.equal(assigned.networks[0].services, []);
  assert.is(assigned.networks[0].peers.length, 1);
  // Being removed (desired shutdown): the name goes at once.
  const leaving = computeNetworkViews({ networks: [net], services: [], tasks: [{ ...t, DesiredState: 'shutdown' }], nodes }).get('n2')!;
  assert.equal(leaving.networks[0].services, []);
});

test('reaper: an attachment task stays while wanted, goes once ended or removed before it reached its node', () => {
  const net = network(attachable.ID, attachable.Spec, true);
  const mk = (id: string, state: TaskState, desired: TaskState) => withId(attachmentTask(net, { containerId: id, name: id }, 'n1', meta.CreatedAt), id, state, desired);
  const tasks = [mk('new-wanted', 'new', 'running'), mk('running', 'running', 'running'), mk('ended', 'shutdown', 'shutdown'),
    mk('new-dropped', 'new', 'shutdown'), mk('stopping', 'running', 'shutdown')];
  assert.equal(tasksToDelete(tasks, { services: new Map() }).sort(), ['ended', 'new-dropped']);
});

test.run();
