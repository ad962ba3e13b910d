// The node side of network attachments over fakes of the session and the agent: the
// leader's refusals keep their status, a granted task is waited for, and a wait that
// fails tells the leader to end the task.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task } from '../api/types/task.ts';
import { CreateConfigError } from '../agent/engine/standalone/errors.ts';
import { NodeAttachments } from './node-attachments.ts';
import type { AttachmentRequest, AttachmentResult } from './session.ts';

const granted: Task = {
  ID: 'att1', Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, ServiceID: '', NodeID: 'n1', DesiredState: 'running',
  Spec: { ContainerSpec: { Image: 'bb' }, NetworkAttachmentSpec: { ContainerID: 'c1' } },
  Status: { Timestamp: '', State: 'assigned', Message: '' },
  NetworksAttachments: [{ Network: { ID: 'net1', Spec: { Name: 'app' }, Allocation: { Subnet: '10.0.5.0/24', Gateway: '10.0.5.1', IPRange: '10.0.5.0/24', VNI: 4200, MTU: 1450 } }, Addresses: ['10.0.5.7/24'] }],
} as Task;

function fake(answer: (req: AttachmentRequest) => AttachmentResult, attached: 'ok' | 'fail' = 'ok') {
  const sent: AttachmentRequest[] = [];
  const a = new NodeAttachments({
    request: async (req) => { sent.push(req); return answer(req); },
    attachment: async () => { if (attached === 'fail') throw new Error('cannot attach'); return { task: granted, netnsPath: '/run/netns/t-att1', resolvConf: 'nameserver 127.0.0.11\n' }; },
  });
  return { a, sent };
}
const req = { containerId: 'c1', name: 'probe', network: 'app', image: 'bb' };

test('a granted attachment answers the netns and address the container joins', async () => {
  const { a, sent } = fake(() => ({ type: 'attachment.result', id: 'x', taskId: 'att1', networkId: 'net1' }));
  const ep = await a.attach(req);
  assert.equal(ep, { taskId: 'att1', networkId: 'net1', address: '10.0.5.7', prefixLen: 24, gateway: '10.0.5.1', netnsPath: '/run/netns/t-att1', resolvConf: 'nameserver 127.0.0.11\n' });
  assert.equal(sent, [{ type: 'attachment.create', containerId: 'c1', name: 'probe', network: 'app' }]);
});

test('the leader\'s refusal keeps its message and status', async () => {
  const msg = 'Could not attach to network svc: rpc error: code = PermissionDenied desc = network svc not manually attachable';
  const { a } = fake(() => ({ type: 'attachment.result', id: 'x', error: msg, status: 403 }));
  const err = await a.attach(req).then(() => undefined, (e: unknown) => e as CreateConfigError) as CreateConfigError;
  assert.instance(err, CreateConfigError);
  assert.is(err.message, msg);
  assert.is(err.status, 403);
});

test('an attachment the node cannot make is ended at the leader and refused', async () => {
  const { a, sent } = fake((r) => (r.type === 'attachment.create' ? { type: 'attachment.result', id: 'x', taskId: 'att1' } : { type: 'attachment.result', id: 'y' }), 'fail');
  const err = await a.attach(req).then(() => undefined, (e: unknown) => e as CreateConfigError) as CreateConfigError;
  assert.is(err.status, 503);
  assert.match(err.message, /cannot attach/);
  assert.equal(sent.map((s) => s.type), ['attachment.create', 'attachment.remove']);
});

test('a removal the leader could not be told of is told again once the session is back', async () => {
  let up = false;
  const sent: AttachmentRequest[] = [];
  const a = new NodeAttachments({
    request: async (req) => { if (!up) throw new Error('no session to the leader'); sent.push(req); return { type: 'attachment.result', id: 'x' }; },
    attachment: async () => { throw new Error('unused'); },
    retryMs: 5,
  });
  await a.detach('c9').then(() => assert.unreachable('the first try fails'), (e: Error) => assert.match(e.message, /no session/));
  up = true;
  for (let i = 0; i < 400 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(sent, [{ type: 'attachment.remove', containerId: 'c9' }]);
});

test('a new session\'s set: attachment tasks of containers gone from the node are ended, young ones kept', async () => {
  const sent: AttachmentRequest[] = [];
  const a = new NodeAttachments({
    request: async (req) => { sent.push(req); return { type: 'attachment.result', id: 'x' }; },
    attachment: async () => { throw new Error('unused'); },
    containerExists: (cid) => cid === 'here',
    now: () => Date.parse('2026-01-01T01:00:00.000Z'),
  });
  const mk = (cid: string, created: string, desired: Task['DesiredState'] = 'running'): Task =>
    ({ ...granted, ID: `t-${cid}`, CreatedAt: created, DesiredState: desired, Spec: { ...granted.Spec, NetworkAttachmentSpec: { ContainerID: cid } } });
  const old = '2026-01-01T00:00:00.000Z';
  const asked = a.reconcile([mk('here', old), mk('gone', old), mk('young', '2026-01-01T00:59:30.000Z'), mk('ending', old, 'shutdown'),
    { ...granted, ID: 'svc-task', CreatedAt: old, Spec: { ContainerSpec: { Image: 'bb' } } } as Task]);
  assert.equal(asked, ['gone']);
  for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
  assert.equal(sent, [{ type: 'attachment.remove', containerId: 'gone' }]);
});

test.run();
