// The agent's task state machine over a fake executor and image store: no kernel, no
// containers. Waits poll the event loop until a condition holds (no timing assertions).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TASK_STATES, type Task, type TaskState } from '../api/types/task.ts';
import { nullLogger } from '../common/logger.ts';
import type { TaskStatusUpdate } from '../wire/types.ts';
import { FakeExecutor } from './exec/testing.ts';
import { Agent, type AgentNetworking } from './agent.ts';
import type { OutOfRotation } from './network/rotation.ts';

function task(id: string, desired: TaskState = 'running', image = 'bb:v1'): Task {
  return {
    ID: id, Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: { ContainerSpec: { Image: image, Command: ['sleep', '1'] } },
    ServiceID: 's', Slot: 1, NodeID: 'n1', Status: { Timestamp: '', State: 'assigned', Message: '' }, DesiredState: desired, ServiceAnnotations: { Name: 'web', Labels: {} },
  };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 0));
  assert.ok(cond(), 'condition reached');
}

async function withAgent(fn: (a: { agent: Agent; ex: FakeExecutor; reports: TaskStatusUpdate[]; pulls: string[]; dataRoot: string; reopen: () => Promise<Agent>; asked: () => number }) => Promise<void>, networking?: AgentNetworking, drainMs = 0) {
  const dataRoot = mkdtempSync(join(tmpdir(), 'shoal-agent-'));
  const ex = new FakeExecutor();
  const present = new Set<string>();
  const pulls: string[] = [];
  const reports: TaskStatusUpdate[] = [];
  let asked = 0;
  const images = {
    resolveForRun: async (ref: string) => { if (!present.has(ref)) throw new Error(`no such image ${ref}`); },
    pull: async (ref: string) => { if (ref.startsWith('missing')) throw new Error('manifest unknown'); pulls.push(ref); present.add(ref); },
  };
  const open = async () => {
    const a = await Agent.open({ nodeId: 'n1', dataRoot, executor: async () => (asked++, ex as never), images, description: () => ({ Hostname: 'h1' }) as never, logger: nullLogger, reportDelayMs: 0, networking, drainMs });
    a.setReporter((u) => (reports.push(...u), true));
    return a;
  };
  const agent = await open();
  try {
    await fn({ agent, ex, reports, pulls, dataRoot, reopen: open, asked: () => asked });
  } finally {
    agent.close();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

const last = (reports: TaskStatusUpdate[], id: string) => reports.filter((r) => r.taskId === id).at(-1)?.status;
const states = (reports: TaskStatusUpdate[], id: string) => reports.filter((r) => r.taskId === id).map((r) => r.status.State);

test('an assigned task is pulled, prepared and started, and its states reported in order', async () => {
  await withAgent(async ({ agent, ex, reports, pulls }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [task('t1')], removed: [] });
    await until(() => last(reports, 't1')?.State === 'running');
    assert.equal(pulls, ['bb:v1']);
    assert.is(ex.controllers.get('t1')?.state, 'running');
    // Reports coalesce (a batch carries each task's latest state), so states may be skipped, never reordered.
    const ranks = states(reports, 't1').map((s) => TASK_STATES.indexOf(s));
    assert.equal(ranks, [...ranks].sort((x, y) => x - y));
    assert.equal(last(reports, 't1')?.ContainerStatus, { ContainerID: 't1', PID: 42, ExitCode: 0 });
  });
});

test('an exit is reported as failed with its code, or complete for 0', async () => {
  await withAgent(async ({ agent, ex, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [task('a'), task('b')], removed: [] });
    await until(() => last(reports, 'a')?.State === 'running' && last(reports, 'b')?.State === 'running');
    ex.controllers.get('a')!.exit(3);
    ex.controllers.get('b')!.exit(0);
    await until(() => last(reports, 'a')?.State === 'failed' && last(reports, 'b')?.State === 'complete');
    assert.is(last(reports, 'a')?.Err, 'task: non-zero exit (3)');
  });
});

test('a desired state past running stops the container; leaving the set removes it', async () => {
  await withAgent(async ({ agent, ex, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [task('t1')], removed: [] });
    await until(() => last(reports, 't1')?.State === 'running');
    agent.assign({ type: 'assignments', full: false, tasks: [task('t1', 'shutdown')], removed: [] });
    await until(() => last(reports, 't1')?.State === 'shutdown');
    assert.is(ex.controllers.get('t1')?.state, 'exited', 'stopped, kept');
    agent.assign({ type: 'assignments', full: false, tasks: [], removed: ['t1'] });
    await until(() => !ex.controllers.has('t1'));
    assert.equal(agent.list(), []);
  });
});

test('a full set without a task removes it', async () => {
  await withAgent(async ({ agent, ex, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [task('t1'), task('t2')], removed: [] });
    await until(() => last(reports, 't1')?.State === 'running' && last(reports, 't2')?.State === 'running');
    agent.assign({ type: 'assignments', full: true, tasks: [task('t2')], removed: [] });
    await until(() => !ex.controllers.has('t1'));
    assert.is(ex.controllers.get('t2')?.state, 'running');
  });
});

test('an image that cannot be pulled rejects the task', async () => {
  await withAgent(async ({ agent, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [task('t1', 'running', 'missing:v1')], removed: [] });
    await until(() => last(reports, 't1')?.State === 'rejected');
    assert.is(last(reports, 't1')?.Err, 'manifest unknown');
  });
});

test('a reopened agent carries on with its saved tasks without starting them again', async () => {
  await withAgent(async ({ agent, ex, reports, reopen }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [task('t1')], removed: [] });
    await until(() => last(reports, 't1')?.State === 'running');
    await new Promise((r) => setImmediate(r));
    agent.close();
    reports.length = 0;
    const again = await reopen();
    try {
      again.assign({ type: 'assignments', full: true, tasks: [task('t1')], removed: [] });
      await until(() => last(reports, 't1')?.State === 'running');
      assert.is(ex.starts, 1, 'started once');
      ex.controllers.get('t1')!.exit(1);
      await until(() => last(reports, 't1')?.State === 'failed');
    } finally {
      again.close();
    }
  });
});

/** A data plane that records what the agent asked of it. */
class FakeNetworking implements AgentNetworking {
  readonly calls: string[] = [];
  failAttach = false;
  setView() { this.calls.push('view'); }
  async attach(t: Task) {
    this.calls.push(`attach ${t.ID}`);
    if (this.failAttach) throw new Error('no address left on network "front"');
    if (t.Endpoint?.Ports?.length) return { netnsPath: `/run/netns/t-${t.ID}`, resolvConf: '', hostPorts: [{ protocol: 'tcp' as const, published: 30001, target: 80 }] };
    return t.NetworksAttachments?.length ? { netnsPath: `/run/netns/t-${t.ID}`, resolvConf: 'nameserver 127.0.0.11\n' } : undefined;
  }
  async detach(id: string) { this.calls.push(`detach ${id}`); }
  /** Set: `outOfRotation` waits for the test to call it (a view without the task applied). */
  holdRotation?: Promise<void>;
  /** What `outOfRotation` answers: only this node is known to be done, unless a test says every node is. */
  rotationResult: OutOfRotation = 'local';
  async outOfRotation(t: Task) {
    this.calls.push(`outOfRotation ${t.ID}`);
    if (this.holdRotation) await this.holdRotation;
    return this.rotationResult;
  }
  async close() { this.calls.push('close'); }
  async removeAll() { this.calls.push('removeAll'); }
}

function attachedTask(id: string): Task {
  return { ...task(id), NetworksAttachments: [{ Network: { ID: 'front', Spec: { Name: 'front' } }, Addresses: ['10.0.1.3/24'] }] };
}

test('a task on a network joins the netns its data plane made, and leaves it when it ends', async () => {
  const net = new FakeNetworking();
  await withAgent(async ({ agent, ex, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [attachedTask('a')], removed: [] });
    await until(() => reports.some((r) => r.status.State === 'running'));
    const spec = ex.controllers.get('a')!.spec;
    assert.is(spec.netnsPath, '/run/netns/t-a');
    assert.is(spec.resolvConf, 'nameserver 127.0.0.11\n');
    assert.equal(net.calls, ['attach a']);
    agent.assign({ type: 'assignments', full: false, tasks: [{ ...attachedTask('a'), DesiredState: 'shutdown' }], removed: [] });
    await until(() => net.calls.includes('detach a'));
    assert.is(ex.controllers.get('a')!.state, 'exited', 'stopped before its endpoints went');
  }, net);
});

test('a network attachment task gets its netns and no container; waiters get it; shutdown detaches it', async () => {
  const net = new FakeNetworking();
  await withAgent(async ({ agent, ex, reports }) => {
    const t: Task = { ...attachedTask('att'), ServiceID: '', Spec: { ContainerSpec: { Image: 'bb:v1' }, NetworkAttachmentSpec: { ContainerID: 'c1' } } };
    const waiting = agent.attachment('att', 60_000);
    agent.assign({ type: 'assignments', full: true, tasks: [t], removed: [] });
    const got = await waiting;
    assert.is(got.netnsPath, '/run/netns/t-att');
    assert.is(got.task.ID, 'att');
    await until(() => last(reports, 'att')?.State === 'running');
    assert.is(ex.controllers.size, 0, 'no container for an attachment');
    assert.is((await agent.attachment('att', 10)).netnsPath, '/run/netns/t-att', 'a late caller gets it too');
    agent.assign({ type: 'assignments', full: false, tasks: [{ ...t, DesiredState: 'shutdown' }], removed: [] });
    await until(() => last(reports, 'att')?.State === 'shutdown');
    assert.equal(net.calls, ['attach att', 'detach att']);
    assert.match(await failure(agent.attachment('att', 10)), /not made within 10 ms/, 'an ended attachment is not handed out again');
  }, net);
});

/** The message `p` rejects with; fails the test when it resolves. */
async function failure(p: Promise<unknown>): Promise<string> {
  const keep = setInterval(() => {}, 1000); // the agent's own timers do not hold the process
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  } finally {
    clearInterval(keep);
  }
  assert.unreachable('expected a rejection');
  return '';
}

test('a caller still waiting for an attachment is told when the agent closes', async () => {
  await withAgent(async ({ agent }) => {
    const waiting = agent.attachment('never', 60_000);
    agent.close();
    assert.match(await failure(waiting), /closed before the network attachment was made/);
  }, new FakeNetworking());
});

test('a task out of rotation on every node stops without the fixed margin', async () => {
  // drainMs of an hour: only the "every node applied it" answer lets the stop through.
  const net = new FakeNetworking();
  net.rotationResult = 'cluster';
  await withAgent(async ({ agent, ex, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [attachedTask('a')], removed: [] });
    await until(() => reports.some((r) => r.status.State === 'running'));
    agent.assign({ type: 'assignments', full: false, tasks: [{ ...attachedTask('a'), DesiredState: 'shutdown' }], removed: [] });
    await until(() => ex.controllers.get('a')!.state === 'exited');
    assert.ok(net.calls.includes('outOfRotation a'));
  }, net, 3_600_000);
});

/** A data plane that makes a task's netns when the test lets it (`release`), and says nothing beforehand. */
class GatedNetworking extends FakeNetworking {
  private open!: () => void;
  private readonly gate = new Promise<void>((r) => (this.open = r));
  release(): void { this.open(); }
  override async attach(t: Task) {
    this.calls.push(`attach ${t.ID}`);
    await this.gate;
    if (this.failAttach) throw new Error('no address left on network "front"');
    return { netnsPath: `/run/netns/t-${t.ID}`, resolvConf: 'nameserver 127.0.0.11\n' };
  }
}

/** As GatedNetworking, and says where a task's netns will be. */
class PlannedNetworking extends GatedNetworking {
  async plan(t: Task) { return t.NetworksAttachments?.length ? { netnsPath: `/run/netns/t-${t.ID}`, resolvConf: 'nameserver 127.0.0.11\n' } : undefined; }
}

test('without a plan the executor still opens while the netns is made; the container is prepared after', async () => {
  const net = new GatedNetworking();
  await withAgent(async ({ agent, ex, reports, asked }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [attachedTask('a')], removed: [] });
    await until(() => net.calls.includes('attach a'));
    assert.ok(asked() > 0, 'the executor was asked for before the attach ended');
    assert.not.ok(ex.controllers.has('a'), 'no container before the netns is made');
    net.release();
    await until(() => last(reports, 'a')?.State === 'running');
    assert.is(ex.controllers.get('a')!.spec.netnsPath, '/run/netns/t-a');
  }, net);
});

test('the executor opens and the container is prepared while the netns is made; it starts once attached', async () => {
  const net = new PlannedNetworking();
  await withAgent(async ({ agent, ex, reports, asked }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [attachedTask('a')], removed: [] });
    await until(() => ex.controllers.get('a')?.state === 'prepared');
    assert.ok(asked() > 0, 'the executor was asked for before the attach ended');
    assert.equal(net.calls, ['attach a'], 'the attach is still in flight');
    assert.is(ex.controllers.get('a')!.spec.netnsPath, '/run/netns/t-a', 'prepared for the planned netns');
    assert.is(ex.starts, 0, 'no start before the netns is made');
    assert.not.ok(reports.some((r) => r.status.State === 'ready'), 'not ready before attached');
    net.release();
    await until(() => last(reports, 'a')?.State === 'running');
    assert.is(ex.starts, 1);
  }, net);
});

test('a container prepared beside an attach that fails is removed, and the task rejected', async () => {
  const net = new PlannedNetworking();
  net.failAttach = true;
  await withAgent(async ({ agent, ex, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [attachedTask('a')], removed: [] });
    await until(() => ex.controllers.get('a')?.state === 'prepared');
    net.release();
    await until(() => last(reports, 'a')?.State === 'rejected');
    assert.match(last(reports, 'a')?.Err ?? '', /no address left/);
    assert.not.ok(ex.controllers.has('a'), 'the prepared container was removed');
    assert.ok(net.calls.includes('detach a'), 'whatever was made is released');
  }, net);
});

test('a container prepared for a netns the attach did not make is removed, and the task rejected', async () => {
  class Elsewhere extends PlannedNetworking {
    override async plan(t: Task) { return { netnsPath: `/run/netns/planned-${t.ID}`, resolvConf: '' }; }
  }
  const net = new Elsewhere();
  net.release();
  await withAgent(async ({ agent, ex, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [attachedTask('a')], removed: [] });
    await until(() => last(reports, 'a')?.State === 'rejected');
    assert.match(last(reports, 'a')?.Err ?? '', /not the planned \/run\/netns\/planned-a/);
    assert.not.ok(ex.controllers.has('a'), 'the prepared container was removed');
    assert.ok(net.calls.includes('detach a'), 'whatever was made is released');
  }, net);
});

test('a task whose networks cannot be attached is rejected with the reason', async () => {
  const net = new FakeNetworking();
  net.failAttach = true;
  await withAgent(async ({ agent, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [attachedTask('a')], removed: [] });
    await until(() => reports.some((r) => r.status.State === 'rejected'));
    const r = reports.find((x) => x.status.State === 'rejected')!;
    assert.match(r.status.Err ?? '', /no address left/);
    assert.ok(net.calls.includes('detach a'), 'whatever was made is released');
  }, net);
});

test('host-mode ports as published on the node are reported in the task status', async () => {
  const net = new FakeNetworking();
  await withAgent(async ({ agent, reports }) => {
    const t = { ...task('h'), Endpoint: { Spec: {}, Ports: [{ TargetPort: 80, PublishMode: 'host' as const }] } };
    agent.assign({ type: 'assignments', full: true, tasks: [t], removed: [] });
    await until(() => reports.some((r) => r.status.State === 'running'));
    const r = reports.find((x) => x.status.State === 'running')!;
    assert.equal(r.status.PortStatus, { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30001, PublishMode: 'host' }] });
  }, net);
});

test('network views reach the data plane', async () => {
  const net = new FakeNetworking();
  await withAgent(async ({ agent }) => {
    agent.setNetworkView({ vtep: '192.168.100.11', networks: [] });
    assert.equal(net.calls, ['view']);
  }, net);
});

const HEALTHCHECK = { Test: ['CMD', 'true'], Interval: 1e9 };

function checkedTask(id: string, desired: TaskState = 'running'): Task {
  const t = attachedTask(id);
  return { ...t, DesiredState: desired, Spec: { ContainerSpec: { ...t.Spec.ContainerSpec, Healthcheck: HEALTHCHECK } } };
}

test('a task with a health check stays starting until its first success, then runs healthy', async () => {
  const net = new FakeNetworking();
  await withAgent(async ({ agent, ex, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [checkedTask('h')], removed: [] });
    await until(() => !!last(reports, 'h')?.ContainerStatus);
    assert.is(last(reports, 'h')?.State, 'starting', 'started, not yet healthy');
    assert.equal(last(reports, 'h')?.Health, { Status: 'starting', FailingStreak: 0 });
    assert.is(ex.controllers.get('h')?.state, 'running');
    ex.controllers.get('h')!.setHealth('healthy');
    await until(() => last(reports, 'h')?.State === 'running');
    assert.equal(last(reports, 'h')?.Health, { Status: 'healthy', FailingStreak: 0 });
  }, net);
});

test('unhealthy: reported first (out of rotation), drained, then stopped and failed with docker\'s error', async () => {
  const net = new FakeNetworking();
  let release!: () => void;
  net.holdRotation = new Promise<void>((r) => (release = r));
  await withAgent(async ({ agent, ex, reports }) => {
    ex.reportedState = (id) => `${last(reports, id)?.State}/${last(reports, id)?.Health?.Status}`;
    agent.assign({ type: 'assignments', full: true, tasks: [checkedTask('u')], removed: [] });
    await until(() => !!ex.controllers.get('u')?.healthStatus);
    ex.controllers.get('u')!.setHealth('healthy');
    await until(() => last(reports, 'u')?.State === 'running');
    ex.controllers.get('u')!.setHealth('unhealthy');
    await until(() => net.calls.includes('outOfRotation u') && last(reports, 'u')?.Health?.Status === 'unhealthy');
    assert.is(last(reports, 'u')?.State, 'running', 'still running, reported unhealthy');
    assert.is(ex.controllers.get('u')!.state, 'running', 'no stop signal before the view without it is applied');
    release();
    await until(() => last(reports, 'u')?.State === 'failed');
    assert.is(ex.controllers.get('u')!.stoppedWhile, 'running/unhealthy');
    assert.is(last(reports, 'u')?.Err, 'task: non-zero exit (137): dockerexec: unhealthy container');
  }, net);
});

test('a check that never succeeds fails the starting task', async () => {
  await withAgent(async ({ agent, ex, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [checkedTask('s')], removed: [] });
    await until(() => !!ex.controllers.get('s')?.healthStatus);
    ex.controllers.get('s')!.setHealth('unhealthy');
    await until(() => last(reports, 's')?.State === 'failed');
    assert.not.ok(states(reports, 's').includes('running'), 'never running');
    assert.match(last(reports, 's')?.Err ?? '', /unhealthy container/);
  }, new FakeNetworking());
});

test('a task in rotation told to stop gets its stop signal only after its node applied a view without it', async () => {
  const net = new FakeNetworking();
  let release!: () => void;
  net.holdRotation = new Promise<void>((r) => (release = r));
  await withAgent(async ({ agent, ex, reports }) => {
    agent.assign({ type: 'assignments', full: true, tasks: [attachedTask('d')], removed: [] });
    await until(() => last(reports, 'd')?.State === 'running');
    agent.assign({ type: 'assignments', full: false, tasks: [{ ...attachedTask('d'), DesiredState: 'shutdown' }], removed: [] });
    await until(() => net.calls.includes('outOfRotation d'));
    assert.is(ex.controllers.get('d')!.state, 'running');
    release();
    await until(() => last(reports, 'd')?.State === 'shutdown');
    assert.is(ex.controllers.get('d')!.state, 'exited');
  }, net);
});

test.run();
