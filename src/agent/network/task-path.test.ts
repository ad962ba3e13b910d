import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_TASK_PATH, checkTaskPath, recordedTaskPath, sandboxTaskPath } from './task-path.ts';
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

test.run();
