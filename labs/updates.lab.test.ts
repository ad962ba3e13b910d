// Rolling updates and rollbacks on one shared 3-host lab (root; three managers, real runc
// containers, the lab registry's bb:v1 and bb:v2): parallelism and delay, start-first,
// a failing update that pauses, continues or rolls back, manual rollback through the
// shoal CLI, the stock docker CLI's `service update --image` and `service rollback`, and
// the leader killed mid-update. Each test makes its own service and removes it; the
// leader test runs last (it kills h1). Everything waits by polling with deadlines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service, ServiceSpec } from '../src/api/types/service.ts';
import type { Task } from '../src/api/types/task.ts';
import { Lab } from './lib/lab.ts';
import { run } from './lib/procs.ts';
import { allRunningContainers, client, formSwarm, IMAGE, tasksOf, waitFor, waitRunning } from './lib/swarm-services.ts';
import { removeService, waitUpdateState } from './lib/service-updates.ts';

const V2 = IMAGE.replace(/:v1$/, ':v2');
const S = 1e9;
let lab: Lab;
let via = 'h1';

/** A service of `replicas` tasks running `sleep 3600` (as `sleep` + args, so `--args` can break it). */
function spec(name: string, replicas: number, extra: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    Name: name,
    Labels: {},
    Mode: { Replicated: { Replicas: replicas } },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep'], Args: ['3600'], StopGracePeriod: 1e9 }, RestartPolicy: { Condition: 'any', Delay: 1 * S } },
    UpdateConfig: { Parallelism: 1, Monitor: 1 * S },
    RollbackConfig: { Parallelism: 0, Monitor: 1 * S },
    ...extra,
  };
}

async function create(s: ServiceSpec): Promise<string> {
  const { ID } = await client(lab, via).post<{ ID: string }>('/services/create', s);
  await waitRunning(lab, s.Name, s.Mode!.Replicated!.Replicas!, via);
  return ID;
}

const inspect = (name: string) => client(lab, via).get<Service>(`/services/${name}`);

/** Updates through the API with a change of the current spec. */
async function update(name: string, change: (s: ServiceSpec) => void): Promise<void> {
  const svc = await inspect(name);
  const next = structuredClone(svc.Spec);
  change(next);
  await client(lab, via).post(`/services/${svc.ID}/update`, next, { query: { version: svc.Version.Index } });
}

const waitState = (name: string, state: string, timeoutMs?: number) => waitUpdateState(lab, name, state, via, timeoutMs);
const remove = (name: string) => removeService(lab, name, via);

/**
 * Samples the service's tasks every 100 ms while `during` runs; returns the samples.
 * A sample: tasks observed running, and the v2 tasks in creation order.
 */
async function sample<T>(name: string, during: () => Promise<T>): Promise<{ result: T; samples: Task[][] }> {
  const samples: Task[][] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      samples.push(await tasksOf(lab, name, via).catch(() => []));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return { result: await during(), samples };
  } finally {
    done = true;
    await poll;
  }
}

/** Tasks running that the manager still wants (a stop-first replacement's old task is not). */
const runningCount = (ts: Task[]) => ts.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').length;
const imageOf = (t: Task) => t.Spec.ContainerSpec.Image;
const shoal = async (args: string[], expectCode = 0) => {
  const r = await lab.cli(via, args, { timeoutMs: 180_000 });
  assert.is(r.code, expectCode, `shoal ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
};

test.before(async () => {
  lab = await Lab.up({ hosts: 3, prefix: 'shoalup', replace: true });
  await formSwarm(lab, { managers: true });
});

test.after(async () => {
  await lab?.down();
});

test('shoal service update: parallelism 2 with a delay replaces two at a time, in slot order, never more than two down', async () => {
  await create(spec('roll', 4));
  const { result: out, samples } = await sample('roll', () => shoal(['service', 'update', '--image', V2, '--update-parallelism', '2', '--update-delay', '2s', 'roll']));
  assert.match(out, /overall progress: 4 out of 4 tasks/);
  assert.match(out, /verify: Service converged/);
  const svc = await inspect('roll');
  assert.is(svc.UpdateStatus!.State, 'completed');
  assert.is(svc.UpdateStatus!.Message, 'update completed');
  assert.is(svc.PreviousSpec!.TaskTemplate.ContainerSpec.Image, IMAGE);
  const fresh = (await tasksOf(lab, 'roll', via)).filter((t) => imageOf(t) === V2).sort((a, b) => Date.parse(a.CreatedAt) - Date.parse(b.CreatedAt));
  assert.equal(fresh.map((t) => t.Slot).sort(), [1, 2, 3, 4], 'one v2 task per slot');
  assert.equal(fresh.slice(0, 2).map((t) => t.Slot).sort(), [1, 2], 'slots 1 and 2 first');
  const gap = Date.parse(fresh[2].CreatedAt) - Math.max(...fresh.slice(0, 2).map((t) => Date.parse(t.CreatedAt)));
  assert.ok(gap >= 2000, `second batch ${gap} ms after the first (delay 2 s)`);
  const leastUp = Math.min(...samples.filter((s) => s.length).map(runningCount));
  assert.ok(leastUp >= 2, `never more than 2 of 4 down (least running ${leastUp})`);
  assert.ok(leastUp < 4, 'stop-first: a slot was seen down (the samples caught a batch)');
  console.log(`  parallelism 2, delay 2s: least running ${leastUp} of 4; batches ${gap} ms apart`);
});

test('shoal service rollback and service update --rollback go back and forth', async () => {
  const back = await shoal(['service', 'rollback', 'roll']);
  assert.match(back, /rollback: manually requested rollback/);
  assert.match(back, /verify: Service converged/);
  let svc = await waitState('roll', 'rollback_completed');
  assert.is(svc.UpdateStatus!.Message, 'rollback completed');
  assert.is(svc.Spec.TaskTemplate.ContainerSpec.Image, IMAGE);
  assert.equal((await waitRunning(lab, 'roll', 4, via)).map(imageOf), Array(4).fill(IMAGE));
  await shoal(['service', 'update', '--rollback', 'roll']);
  svc = await waitState('roll', 'rollback_completed');
  assert.is(svc.Spec.TaskTemplate.ContainerSpec.Image, V2);
  assert.equal((await waitRunning(lab, 'roll', 4, via)).map(imageOf), Array(4).fill(V2));
  await remove('roll');
});

test('start-first keeps at least the replica count running', async () => {
  await create(spec('first', 3, { UpdateConfig: { Parallelism: 1, Order: 'start-first', Monitor: 1 * S } }));
  const { samples } = await sample('first', async () => {
    await update('first', (s) => (s.TaskTemplate.ContainerSpec.Image = V2));
    await waitState('first', 'completed');
  });
  const counts = samples.filter((s) => s.length).map(runningCount);
  assert.ok(Math.min(...counts) >= 3, `running never below 3: ${counts.join(',')}`);
  const containers = samples.map((ts) => ts.filter((t) => t.Status.State === 'running').length);
  assert.ok(Math.max(...containers) >= 4, 'old and new ran side by side');
  assert.equal((await waitRunning(lab, 'first', 3, via)).map(imageOf), Array(3).fill(V2));
  await remove('first');
});

test('a failing update pauses by default, naming the failed task; the other slots keep the old spec', async () => {
  // As in SwarmKit, the next slot starts once the previous new task runs: `sleep bogus` runs
  // for a moment before it fails, and since running is reported at once (no 20 ms
  // coalescing) a second slot could start before the failure arrived. A 1 s Delay holds the
  // next slot until the failure, which pauses the update (FailureAction's default) — the
  // behaviour this test is about.
  await create(spec('halt', 3, { UpdateConfig: { Parallelism: 1, Monitor: 1 * S, Delay: 1 * S } }));
  await update('halt', (s) => (s.TaskTemplate.ContainerSpec.Args = ['bogus']));
  const svc = await waitState('halt', 'paused');
  const m = /^update paused due to failure or early termination of task (\w+)$/.exec(svc.UpdateStatus!.Message);
  assert.ok(m, svc.UpdateStatus!.Message);
  const tasks = await tasksOf(lab, 'halt', via);
  assert.ok(tasks.some((t) => t.ID === m![1] && t.Spec.ContainerSpec.Args?.[0] === 'bogus'), 'the named task is a new one');
  const oldRunning = tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running' && t.Spec.ContainerSpec.Args?.[0] === '3600');
  assert.is(oldRunning.length, 2, 'two slots untouched');
  // A paused update resumes with the next update (here: back to a working spec).
  await update('halt', (s) => (s.TaskTemplate.ContainerSpec.Args = ['3601']));
  await waitState('halt', 'completed');
  assert.equal((await waitRunning(lab, 'halt', 3, via)).map((t) => t.Spec.ContainerSpec.Args), [['3601'], ['3601'], ['3601']]);
  await remove('halt');
});

test('failure action continue replaces every slot despite failures', async () => {
  await create(spec('onward', 3, { UpdateConfig: { Parallelism: 1, FailureAction: 'continue', Monitor: 1 * S } }));
  await update('onward', (s) => (s.TaskTemplate.ContainerSpec.Args = ['bogus']));
  await waitState('onward', 'completed');
  const slots = new Set((await tasksOf(lab, 'onward', via)).filter((t) => t.Spec.ContainerSpec.Args?.[0] === 'bogus').map((t) => t.Slot));
  assert.equal([...slots].sort(), [1, 2, 3]);
  await remove('onward');
});

test('failure action rollback rolls back by itself; shoal shows the rollback message', async () => {
  await create(spec('undo', 3));
  const out = await shoal(['service', 'update', '--args', 'bogus', '--update-failure-action', 'rollback', 'undo']);
  assert.match(out, /rollback: update rolled back due to failure or early termination of task \w+/);
  const svc = await waitState('undo', 'rollback_completed');
  assert.equal(svc.Spec.TaskTemplate.ContainerSpec.Args, ['3600']);
  assert.equal((await waitRunning(lab, 'undo', 3, via)).map((t) => t.Spec.ContainerSpec.Args), [['3600'], ['3600'], ['3600']]);
  await remove('undo');
});

test('the stock docker CLI: service update --image and service rollback', async () => {
  const docker = async (args: string[]) => {
    const r = await run('env', [`DOCKER_HOST=${lab.dockerHost(via)}`, 'docker', ...args], { timeoutMs: 180_000 });
    assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
    return r.stdout + r.stderr;
  };
  await create(spec('dk', 2));
  const up = await docker(['service', 'update', '--detach=false', '--image', V2, '--update-monitor', '1s', 'dk']);
  assert.match(up, /overall progress: 2 out of 2 tasks/);
  assert.match(up, /verify: Service \S* ?converged/);
  assert.is((await inspect('dk')).UpdateStatus!.State, 'completed');
  assert.equal((await waitRunning(lab, 'dk', 2, via)).map(imageOf), [V2, V2]);
  const back = await docker(['service', 'rollback', '--detach=false', 'dk']);
  assert.match(back, /rollback: manually requested rollback/);
  assert.match(back, /verify: Service \S* ?converged/);
  assert.is((await inspect('dk')).UpdateStatus!.State, 'rollback_completed');
  assert.equal((await waitRunning(lab, 'dk', 2, via)).map(imageOf), [IMAGE, IMAGE]);
  await remove('dk');
});

test('the leader killed mid-update: the new leader finishes it, each slot replaced once', async () => {
  // Tasks off h1, so the kill loses no task (only the leader).
  await create(spec('lead', 4, {
    TaskTemplate: { ...spec('x', 1).TaskTemplate, Placement: { Constraints: ['node.hostname!=h1'] } },
    UpdateConfig: { Parallelism: 1, Delay: 1 * S, Monitor: 1 * S },
  }));
  await update('lead', (s) => (s.TaskTemplate.ContainerSpec.Image = V2));
  await waitFor('two slots on v2', async () => (await tasksOf(lab, 'lead')).filter((t) => imageOf(t) === V2 && t.Status.State === 'running').length >= 2, 60_000);
  await lab.killDaemon('h1');
  via = 'h2';
  await waitFor('a new leader answers', async () => !!(await inspect('lead').catch(() => undefined)), 30_000);
  await waitState('lead', 'completed', 120_000);
  const v2 = (await tasksOf(lab, 'lead', via)).filter((t) => imageOf(t) === V2);
  assert.equal(v2.map((t) => t.Slot).sort(), [1, 2, 3, 4], 'one v2 task per slot');
  assert.equal((await waitRunning(lab, 'lead', 4, via)).map(imageOf), Array(4).fill(V2));
  const running = await waitRunning(lab, 'lead', 4, via);
  const containers = [...(await allRunningContainers(lab, ['h2', 'h3'])).values()].flat();
  assert.ok(running.every((t) => containers.includes(t.Status.ContainerStatus!.ContainerID)), 'each task runs as a container');
});

test.run();
