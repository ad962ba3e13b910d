// Placement and failure handling of services on a 3-host lab (root): a replicated job run
// to completion under its concurrency limit; constraints on node labels and hostnames and
// spread preferences; a reservation no node meets staying pending with the scheduler's
// explanation; a partitioned worker whose tasks move and are not duplicated after it
// heals; and a leader killed during a scale, after which the service still converges to
// exactly its replica count. Everything waits by polling with deadlines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Node } from '../src/api/types/node.ts';
import type { Service, ServiceSpec } from '../src/api/types/service.ts';
import type { Task } from '../src/api/types/task.ts';
import { withLab, type Lab } from './lib/lab.ts';
import {
  client, countRunningContainers, formSwarm, IMAGE, runningContainers, scale, tasksOf, waitFor, waitRunning,
} from './lib/swarm-services.ts';

const sleeper = (name: string, extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  Name: name, Labels: {}, Mode: { Replicated: { Replicas: 3 } },
  TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } },
  ...extra,
});

async function create(lab: Lab, spec: ServiceSpec, via = 'h1'): Promise<string> {
  return (await client(lab, via).post<{ ID: string }>('/services/create', spec)).ID;
}

async function remove(lab: Lab, id: string, hosts = ['h1', 'h2', 'h3'], via = 'h1'): Promise<void> {
  await client(lab, via).delete(`/services/${id}`);
  await waitFor('no container left after rm', async () => (await countRunningContainers(lab, hosts)) === 0, 30_000);
}

async function setLabels(lab: Lab, host: string, labels: Record<string, string>): Promise<void> {
  const h1 = client(lab, 'h1');
  const n = (await h1.get<Node[]>('/nodes')).find((x) => x.Description.Hostname === host)!;
  await h1.post(`/nodes/${n.ID}/update`, { ...n.Spec, Labels: { ...n.Spec.Labels, ...labels } }, { query: { version: n.Version.Index } });
}

function perHost(tasks: Task[], hostOf: Map<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tasks) {
    const h = hostOf.get(t.NodeID!)!;
    out[h] = (out[h] ?? 0) + 1;
  }
  return out;
}

/** A replicated job: 4 completions, at most 2 at once, none restarted. */
async function jobPhase(lab: Lab): Promise<void> {
  const id = await create(lab, {
    Name: 'job', Labels: {}, Mode: { ReplicatedJob: { TotalCompletions: 4, MaxConcurrent: 2 } },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'sleep 1'] } },
  });
  let maxRunning = 0;
  let maxContainers = 0;
  const done = await waitFor('4 completed tasks of the job', async () => {
    const [ts, containers] = await Promise.all([tasksOf(lab, id), countRunningContainers(lab)]);
    maxRunning = Math.max(maxRunning, ts.filter((t) => t.Status.State === 'running').length);
    maxContainers = Math.max(maxContainers, containers);
    const complete = ts.filter((t) => t.Status.State === 'complete');
    return complete.length === 4 && ts;
  }, 60_000);
  console.log(`  job: at most ${maxRunning} tasks and ${maxContainers} containers running at once`);
  assert.ok(maxRunning >= 1 && maxRunning <= 2, `at most 2 tasks running at once (saw ${maxRunning})`);
  assert.ok(maxContainers <= 2, `at most 2 containers at once (saw ${maxContainers})`);
  assert.is(done.length, 4, `no task restarted: ${done.map((t) => `${t.Slot}:${t.Status.State}`).join(' ')}`);
  assert.equal(done.map((t) => t.Slot).sort(), [1, 2, 3, 4], 'one task per completion slot');
  await client(lab, 'h1').delete(`/services/${id}`);

  // A global job: one completed task per node.
  const gid = await create(lab, {
    Name: 'gjob', Labels: {}, Mode: { GlobalJob: {} },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'sleep 1'] } },
  });
  const gdone = await waitFor('3 completed tasks of the global job', async () => {
    const ts = await tasksOf(lab, gid);
    return ts.filter((t) => t.Status.State === 'complete').length === 3 && ts;
  }, 30_000);
  assert.is(gdone.length, 3, 'no task restarted');
  assert.is(new Set(gdone.map((t) => t.NodeID)).size, 3, 'one per node');
  await client(lab, 'h1').delete(`/services/${gid}`);
}

/** Constraints on labels and hostnames, and spread over a node label. */
async function constraintPhase(lab: Lab, hostOf: Map<string, string>): Promise<void> {
  await setLabels(lab, 'h2', { zone: 'a' });
  let id = await create(lab, sleeper('zoned', {
    TaskTemplate: { ...sleeper('').TaskTemplate, Placement: { Constraints: ['node.labels.zone==a'] } },
  }));
  assert.equal(perHost(await waitRunning(lab, 'zoned', 3), hostOf), { h2: 3 }, 'all on the zone=a node');
  // Moving the label moves the tasks.
  await setLabels(lab, 'h2', { zone: 'b' });
  await setLabels(lab, 'h3', { zone: 'a' });
  await waitFor('the zoned tasks on h3', async () => {
    const ts = await waitRunning(lab, 'zoned', 3, 'h1', 5_000);
    return ts.every((t) => hostOf.get(t.NodeID!) === 'h3') && ts;
  }, 30_000);
  await waitFor('h2 runs no container', async () => (await runningContainers(lab, 'h2')).length === 0, 20_000);
  await remove(lab, id);

  id = await create(lab, sleeper('noh1', {
    Mode: { Replicated: { Replicas: 4 } },
    TaskTemplate: { ...sleeper('').TaskTemplate, Placement: { Constraints: ['node.hostname!=h1'] } },
  }));
  assert.equal(perHost(await waitRunning(lab, 'noh1', 4), hostOf), { h2: 2, h3: 2 }, 'none on h1');
  assert.equal(await runningContainers(lab, 'h1'), [], 'h1 runs no container');
  await remove(lab, id);

  // No node meets the constraint: pending with the explanation.
  id = await create(lab, sleeper('nowhere', {
    Mode: { Replicated: { Replicas: 1 } },
    TaskTemplate: { ...sleeper('').TaskTemplate, Placement: { Constraints: ['node.labels.zone==nowhere'] } },
  }));
  const stuck = await waitFor('the unplaceable task pending', async () => {
    const ts = await tasksOf(lab, id);
    return ts.length === 1 && ts[0].Status.Err !== undefined && ts[0];
  }, 20_000);
  assert.is(stuck.Status.Err, 'no suitable node (scheduling constraints not satisfied on 3 nodes)');
  await client(lab, 'h1').delete(`/services/${id}`);

  // At most one replica per node: the fourth waits.
  id = await create(lab, sleeper('onepernode', {
    Mode: { Replicated: { Replicas: 4 } },
    TaskTemplate: { ...sleeper('').TaskTemplate, Placement: { MaxReplicas: 1 } },
  }));
  const capped = await waitFor('3 running and 1 pending', async () => {
    const ts = await tasksOf(lab, id);
    const r = ts.filter((t) => t.Status.State === 'running');
    const p = ts.filter((t) => t.Status.State === 'pending' && t.Status.Err !== undefined);
    return r.length === 3 && p.length === 1 && { r, p };
  }, 30_000);
  assert.equal(perHost(capped.r, hostOf), { h1: 1, h2: 1, h3: 1 });
  assert.is(capped.p[0].Status.Err, 'no suitable node (max replicas per node limit exceed)');
  await remove(lab, id);

  await setLabels(lab, 'h1', { rack: 'r1' });
  await setLabels(lab, 'h2', { rack: 'r1' });
  await setLabels(lab, 'h3', { rack: 'r2' });
  id = await create(lab, sleeper('racked', {
    Mode: { Replicated: { Replicas: 4 } },
    TaskTemplate: { ...sleeper('').TaskTemplate, Placement: { Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.rack' } }] } },
  }));
  const byHost = perHost(await waitRunning(lab, 'racked', 4), hostOf);
  assert.is((byHost.h1 ?? 0) + (byHost.h2 ?? 0), 2, `two on rack r1: ${JSON.stringify(byHost)}`);
  assert.is(byHost.h3, 2, `two on rack r2: ${JSON.stringify(byHost)}`);
  await remove(lab, id);
}

/** A reservation larger than any host stays pending with the explanation. */
async function reservationPhase(lab: Lab): Promise<void> {
  const id = await create(lab, sleeper('huge', {
    Mode: { Replicated: { Replicas: 1 } },
    TaskTemplate: { ...sleeper('').TaskTemplate, Resources: { Reservations: { MemoryBytes: 2 ** 50 } } },
  }));
  const t = await waitFor('a pending task with the explanation', async () => {
    const ts = await tasksOf(lab, id);
    return ts.length === 1 && ts[0].Status.State === 'pending' && /insufficient resources/.test(ts[0].Status.Err ?? '') && ts[0];
  }, 20_000);
  assert.is(t.Status.Err, 'no suitable node (insufficient resources on 3 nodes)');
  assert.is(t.Status.Message, 'pending task scheduling');
  assert.is(t.NodeID ?? '', '', 'not assigned to a node');
  assert.is(await countRunningContainers(lab), 0, 'nothing runs');
  await client(lab, 'h1').delete(`/services/${id}`);
  await waitFor('the pending task deleted', async () => (await tasksOf(lab, id)).length === 0, 20_000);

  // Reservations add up: a node with room for one such task takes one, the fourth waits.
  const nodes = await client(lab, 'h1').get<Node[]>('/nodes');
  const memory = Math.min(...nodes.map((n) => n.Description.Resources.MemoryBytes));
  const half = await create(lab, sleeper('half', {
    Mode: { Replicated: { Replicas: 4 } },
    TaskTemplate: { ...sleeper('').TaskTemplate, Resources: { Reservations: { MemoryBytes: Math.floor(memory * 0.6) } } },
  }));
  const placed = await waitFor('3 of 4 running', async () => {
    const r = (await tasksOf(lab, half)).filter((t) => t.Status.State === 'running');
    return r.length === 3 && r;
  }, 30_000);
  assert.is(new Set(placed.map((t) => t.NodeID)).size, 3, 'one per node');
  const waiting = await waitFor('the fourth pending with the explanation', async () => {
    const p = (await tasksOf(lab, half)).filter((t) => t.Status.State === 'pending');
    return p.length === 1 && p[0].Status.Err !== undefined && p[0];
  }, 10_000);
  assert.is(waiting.Status.Err, 'no suitable node (insufficient resources on 3 nodes)');
  await remove(lab, half);
}

/**
 * A worker cut off the underlay: its tasks are rescheduled on the others; once healed
 * its stale tasks are reconciled away, so as many containers run as there are replicas.
 */
async function partitionPhase(lab: Lab, hostOf: Map<string, string>): Promise<void> {
  const h1 = client(lab, 'h1');
  const id = await create(lab, sleeper('cut'));
  const before = await waitRunning(lab, 'cut', 3);
  assert.equal(perHost(before, hostOf), { h1: 1, h2: 1, h3: 1 });
  const h3Containers = await runningContainers(lab, 'h3');
  assert.is(h3Containers.length, 1, 'h3 runs its task');
  await lab.partition('h3');
  try {
    await waitFor('the tasks of h3 running elsewhere', async () => {
      const ts = (await tasksOf(lab, id)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
      return ts.length === 3 && ts.every((t) => hostOf.get(t.NodeID!) !== 'h3') && ts;
    }, 30_000);
    assert.equal(await runningContainers(lab, 'h3'), h3Containers, 'the cut-off worker keeps its container running');
  } finally {
    await lab.heal();
  }
  await waitFor('h3 ready again', async () => (await h1.get<Node[]>('/nodes')).every((n) => n.Status.State === 'ready'), 30_000);
  await waitFor('3 containers across the hosts after reconcile', async () => {
    const ts = (await tasksOf(lab, id)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
    return ts.length === 3 && (await countRunningContainers(lab)) === 3 && (await runningContainers(lab, 'h3')).length === 0;
  }, 30_000);
  const after = await waitRunning(lab, 'cut', 3);
  assert.equal(after.map((t) => t.Slot).sort(), [1, 2, 3], 'each slot once');
  assert.is(await countRunningContainers(lab), 3, 'no duplicate container');
  const [svc] = await h1.get<Service[]>('/services', { query: { status: true, filters: JSON.stringify({ name: ['cut'] }) } });
  assert.equal(svc.ServiceStatus, { RunningTasks: 3, DesiredTasks: 3, CompletedTasks: 0 });

  // A short cut (switch port down, back within a heartbeat or so): whether or not the
  // manager noticed, exactly 3 containers run afterwards.
  await lab.partition('h2', 'link');
  try {
    await new Promise((r) => setTimeout(r, 1_500));
  } finally {
    await lab.heal();
  }
  await waitFor('3 running tasks and 3 containers after a short cut', async () => {
    const ts = (await tasksOf(lab, id)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
    const nodes = await h1.get<Node[]>('/nodes');
    return ts.length === 3 && nodes.every((n) => n.Status.State === 'ready') && (await countRunningContainers(lab)) === 3;
  }, 30_000);
  assert.equal((await waitRunning(lab, 'cut', 3)).map((t) => t.Slot).sort(), [1, 2, 3], 'each slot once');
  await remove(lab, id);
}

test('jobs, constraints, spread, unmeetable reservations and a partitioned worker', async () => {
  await withLab({ hosts: 3, prefix: 'shoalsp' }, async (lab) => {
    const hostOf = await formSwarm(lab);
    await jobPhase(lab);
    await constraintPhase(lab, hostOf);
    await reservationPhase(lab);
    await partitionPhase(lab, hostOf);
  });
});

test('leader killed during a scale: the service converges with every slot once', async () => {
  await withLab({ hosts: 3, prefix: 'shoalsp' }, async (lab) => {
    const hostOf = await formSwarm(lab, { managers: true });
    const id = await create(lab, sleeper('grow'));
    await waitRunning(lab, 'grow', 3);
    const leader = (await client(lab, 'h1').get<Node[]>('/nodes')).find((n) => n.ManagerStatus?.Leader);
    assert.is(hostOf.get(leader!.ID), 'h1', 'h1 leads');
    const kept = [...await runningContainers(lab, 'h2'), ...await runningContainers(lab, 'h3')];
    await scale(lab, 'grow', 9);
    await lab.killDaemon('h1');
    const after = await waitFor('9 tasks running on h2 and h3', async () => {
      const ts = await waitRunning(lab, 'grow', 9, 'h2', 5_000);
      return ts.every((t) => hostOf.get(t.NodeID!) !== 'h1') && ts;
    }, 60_000);
    assert.equal(after.map((t) => t.Slot).sort((a, b) => a! - b!), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'every slot once');
    await waitFor('9 containers on h2 and h3', async () => (await countRunningContainers(lab, ['h2', 'h3'])) === 9, 20_000);
    assert.is(await countRunningContainers(lab, ['h2', 'h3']), 9, 'no slot doubled');
    const now = [...await runningContainers(lab, 'h2'), ...await runningContainers(lab, 'h3')];
    assert.ok(kept.every((c) => now.includes(c)), 'the tasks on h2 and h3 kept running through the failover');
    const [svc] = await client(lab, 'h2').get<Service[]>('/services', { query: { status: true } });
    assert.equal(svc.ServiceStatus, { RunningTasks: 9, DesiredTasks: 9, CompletedTasks: 0 });

    // h1 comes back as a manager; the new leader is killed right after a scale down to 3.
    await lab.startDaemon('h1');
    // Reachability of the other managers is the leader's view: ask the leader.
    const newLeader = await waitFor('h1 back and reachable from the leader', async () => {
      const l = (await client(lab, 'h2').get<Node[]>('/nodes')).find((n) => n.ManagerStatus?.Leader);
      const host = l && hostOf.get(l.ID);
      if (!host) return false;
      const ns = await client(lab, host).get<Node[]>('/nodes');
      return ns.every((n) => n.Status.State === 'ready' && n.ManagerStatus?.Reachability === 'reachable') && host;
    }, 30_000);
    assert.ok(newLeader !== 'h1', `a surviving manager leads (${newLeader})`);
    const other = ['h2', 'h3'].find((h) => h !== newLeader)!;
    await scale(lab, 'grow', 3, newLeader);
    await lab.killDaemon(newLeader);
    const down = await waitFor(`3 tasks running on h1 and ${other}`, async () => {
      const ts = await waitRunning(lab, 'grow', 3, other, 5_000);
      return ts.every((t) => hostOf.get(t.NodeID!) !== newLeader) && ts;
    }, 60_000);
    assert.equal(down.map((t) => t.Slot).sort(), [1, 2, 3], 'slots 1 to 3 once each');
    await waitFor('3 containers on the survivors', async () => (await countRunningContainers(lab, ['h1', other])) === 3, 20_000);
    await remove(lab, id, ['h1', other], other);
  });
});

test.run();
