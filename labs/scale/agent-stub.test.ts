import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Task, TaskState } from '../../src/api/types/task.ts';
import { AgentStub } from './agent-stub.ts';
import { simAddress } from './sim-node.ts';

const NOW = Date.UTC(2026, 11, 6);

function task(id: string, state: TaskState, desired: TaskState = 'running'): Task {
  return { ID: id, DesiredState: desired, Status: { State: state, Message: '', Timestamp: '' } } as unknown as Task;
}

const states = (a: AgentStub) => a.step(NOW).map((u) => `${u.taskId}:${u.status.State}`);

test('an assigned task is reported preparing, then running, then nothing more', () => {
  const a = new AgentStub();
  a.assign({ type: 'assignments', full: true, tasks: [task('t1', 'assigned')], removed: [] });
  assert.equal(states(a), ['t1:preparing']);
  assert.ok(a.busy);
  assert.equal(states(a), ['t1:running']);
  assert.is(a.running, 1);
  assert.not.ok(a.busy);
  assert.equal(states(a), []);
});

test('a task whose desired state went to shutdown is reported shutdown once', () => {
  const a = new AgentStub();
  a.assign({ type: 'assignments', full: true, tasks: [task('t1', 'running')], removed: [] });
  assert.equal(states(a), []);
  a.assign({ type: 'assignments', full: false, tasks: [task('t1', 'running', 'shutdown')], removed: [] });
  assert.equal(states(a), ['t1:shutdown']);
  assert.equal(states(a), []);
  assert.is(a.running, 0);
});

test('a change frame never moves a reported state back; a full set restarts from the stored state', () => {
  const a = new AgentStub();
  a.assign({ type: 'assignments', full: true, tasks: [task('t1', 'assigned')], removed: [] });
  a.step(NOW);
  a.step(NOW);
  a.assign({ type: 'assignments', full: false, tasks: [task('t1', 'assigned')], removed: [] });
  assert.equal(states(a), []);
  // A new session: the leader stored only preparing (the running report was lost with the old connection).
  a.assign({ type: 'assignments', full: true, tasks: [task('t1', 'preparing')], removed: [] });
  assert.equal(states(a), ['t1:running']);
});

test('withdrawn tasks and tasks missing from a full set are forgotten', () => {
  const a = new AgentStub();
  a.assign({ type: 'assignments', full: true, tasks: [task('t1', 'assigned'), task('t2', 'assigned'), task('t3', 'assigned')], removed: [] });
  a.assign({ type: 'assignments', full: false, tasks: [], removed: ['t1'] });
  assert.is(a.size, 2);
  a.assign({ type: 'assignments', full: true, tasks: [task('t3', 'assigned')], removed: [] });
  assert.equal(states(a), ['t3:preparing']);
});

test('simulated nodes get distinct loopback addresses, never .0 or .255', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const ip = simAddress(i);
    assert.match(ip, /^127\.\d+\.\d+\.\d+$/);
    const last = Number(ip.split('.')[3]);
    assert.ok(last > 0 && last < 255, ip);
    seen.add(ip);
  }
  assert.is(seen.size, 5000);
});

test.run();
