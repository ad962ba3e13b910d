import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_TASK_PATH, attachmentLines, checkTaskPath, recordedTaskPath, sandboxTaskPath } from './task-path.ts';
import { OverlaySpecError } from '../../../net/overlay/index.ts';
import { NetworkAgentError } from './plan.ts';

test('overlay sandboxes get the macvlan path by default; the ingress sandbox keeps its bridge', () => {
  assert.is(DEFAULT_TASK_PATH, 'macvlan');
  assert.is(sandboxTaskPath({ ingress: false }), 'macvlan');
  assert.is(sandboxTaskPath({ ingress: true }), 'bridge');
  assert.is(sandboxTaskPath({ ingress: true }, 'macvlan'), 'bridge');
});

test('the agent may ask for the bridge path everywhere (A/B, a fallback)', () => {
  assert.is(sandboxTaskPath({ ingress: false }, 'bridge'), 'bridge');
});

test('an unknown task path is refused, naming it', () => {
  for (const p of ['ipvlan', '', undefined]) {
    assert.throws(() => checkTaskPath(p), (e: unknown) => e instanceof NetworkAgentError && /taskPath/.test((e as Error).message) && (e as Error).cause instanceof OverlaySpecError, String(p));
  }
  assert.throws(() => sandboxTaskPath({ ingress: false }, 'veth' as never), (e: unknown) => e instanceof NetworkAgentError);
});

test('a sandbox recorded without a path was made by an older agent: bridge', () => {
  assert.is(recordedTaskPath({}), 'bridge');
  assert.is(recordedTaskPath({ taskPath: 'macvlan' }), 'macvlan');
  assert.is(recordedTaskPath({ taskPath: 'bridge' }), 'bridge');
});

test('an attachment joins its sandbox on the path the sandbox was made with, leaving lo to the netns maker', () => {
  const at = { netns: 't-1', index: 1, ip: '10.0.0.5', bits: 24 };
  const mv = attachmentLines({ mtu: 1450, taskPath: 'macvlan' }, at);
  assert.equal(mv.sandbox, ['link add link vxlan0 name eth1 netns t-1 mtu 1450 type macvlan mode bridge']);
  assert.equal(mv.task, ['link set eth1 address 02:42:0a:00:00:05', 'addr add 10.0.0.5/24 dev eth1', 'link set eth1 up']);
  // A record without a path (an older agent's sandbox): a veth on its bridge.
  const old = attachmentLines({ mtu: 1450 }, at);
  assert.ok(old.sandbox[0].startsWith('link add v0a000005 mtu 1450 type veth peer name eth1'), old.sandbox[0]);
  assert.equal(old.task, mv.task);
});

test.run();
