// Services across hosts on a 3-host lab (root): a swarm formed through the API, a
// replicated service whose tasks the orchestrator creates, the scheduler spreads, the
// dispatcher assigns and each host's agent runs as real runc containers; scaling up and
// down; removal stopping every container. Everything waits by polling with deadlines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import type { Node } from '../src/api/types/node.ts';
import type { Service, ServiceSpec } from '../src/api/types/service.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { run } from './lib/procs.ts';
import {
  allRunningContainers, client, formSwarm, HOSTS, IMAGE, runningContainers, scale, tasksOf, waitFor, waitRunning,
} from './lib/swarm-services.ts';

/** The same through the shoal CLI: create with progress until converged, ls, ps, node ps, scale, rm. */
async function cliPhase(lab: Lab): Promise<void> {
  const ok = async (args: string[]) => {
    const r = await lab.cli('h1', args, { timeoutMs: 120_000 });
    assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const created = await ok(['service', 'create', '--replicas', '3', '--name', 'cli', '--stop-grace-period', '1s', IMAGE, 'sleep', '3600']);
  assert.match(created, /overall progress: 3 out of 3 tasks/);
  assert.match(created, /verify: Service converged/);
  const ls = await ok(['service', 'ls']);
  assert.match(ls, /cli\s+replicated\s+3\/3\s+192\.168\.100\.1:5000\/shoal\/bb:v1/);
  const ps = await ok(['service', 'ps', 'cli', '--format', '{{.Name}} {{.Node}} {{.CurrentState}}']);
  const rows = ps.trim().split('\n').map((l) => l.split(' '));
  assert.equal(rows.map((r) => r[0]).sort(), ['cli.1', 'cli.2', 'cli.3']);
  assert.equal(rows.map((r) => r[1]).sort(), HOSTS, 'one task per host');
  assert.ok(rows.every((r) => r[2] === 'Running'), ps);
  const nodePs = await ok(['node', 'ps', 'h2', '-q']);
  assert.is(nodePs.trim().split('\n').length, 1, 'one task on h2');
  const inspect = JSON.parse(await ok(['service', 'inspect', 'cli'])) as Service[];
  assert.is(inspect[0].Spec.Mode?.Replicated?.Replicas, 3);
  assert.match(await ok(['service', 'scale', 'cli=1']), /cli scaled to 1[\s\S]*verify: Service converged/);
  assert.is((await ok(['service', 'ps', 'cli', '-q', '--filter', 'desired-state=running'])).trim().split('\n').length, 1);
  assert.match(await ok(['service', 'rm', 'cli']), /^cli$/m);
  await waitFor('no container left after rm', async () => [...(await allRunningContainers(lab)).values()].every((x) => x.length === 0));
}

/**
 * A daemon restart keeps its tasks: the manager's daemon (h1, also a worker) is killed
 * with SIGKILL and started again; its containers kept running, the executor re-adopts
 * them and the agent carries on from its saved assignments: the same tasks and the same
 * containers run afterwards, none was replaced or started twice.
 */
async function restartPhase(lab: Lab): Promise<void> {
  const h1 = client(lab, 'h1');
  const { ID } = await h1.post<{ ID: string }>('/services/create', {
    Name: 'keep', Labels: {}, Mode: { Replicated: { Replicas: 3 } },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } },
  } satisfies ServiceSpec);
  const before = await waitRunning(lab, 'keep', 3);
  const containersBefore = await allRunningContainers(lab);
  const pid = lab.daemonPid('h1');
  assert.ok(pid, 'h1 daemon runs');
  process.kill(pid!, 'SIGKILL');
  await waitFor('h1 daemon gone', async () => lab.daemonPid('h1') === undefined, 10_000);
  await lab.startDaemon('h1');
  const after = await waitRunning(lab, 'keep', 3);
  assert.equal(after.map((t) => t.ID).sort(), before.map((t) => t.ID).sort(), 'the same tasks run');
  assert.is((await tasksOf(lab, ID)).length, 3, 'no task was replaced');
  assert.equal(await allRunningContainers(lab), containersBefore, 'the same containers run');
  await h1.delete(`/services/${ID}`);
  await waitFor('no container left after rm', async () => [...(await allRunningContainers(lab)).values()].every((x) => x.length === 0));
}

/** A global service runs one task on every node. */
async function globalPhase(lab: Lab): Promise<void> {
  const h1 = client(lab, 'h1');
  const { ID } = await h1.post<{ ID: string }>('/services/create', {
    Name: 'everywhere', Labels: {}, Mode: { Global: {} },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } },
  } satisfies ServiceSpec);
  const running = await waitRunning(lab, 'everywhere', 3);
  assert.is(new Set(running.map((t) => t.NodeID)).size, 3, 'one task per node');

  // Draining h3 stops its task; making it active again starts a new one there.
  const setAvailability = async (availability: 'drain' | 'active') => {
    const n = (await h1.get<Node[]>('/nodes')).find((x) => x.Description.Hostname === 'h3')!;
    await h1.post(`/nodes/${n.ID}/update`, { ...n.Spec, Availability: availability }, { query: { version: n.Version.Index } });
  };
  await setAvailability('drain');
  await waitRunning(lab, 'everywhere', 2);
  await waitFor('h3 runs no container when drained', async () => (await runningContainers(lab, 'h3')).length === 0, 20_000);
  await setAvailability('active');
  await waitRunning(lab, 'everywhere', 3);
  await h1.delete(`/services/${ID}`);
  await waitFor('no container left after rm', async () => [...(await allRunningContainers(lab)).values()].every((x) => x.length === 0));
}

/**
 * Host loss: h3's daemon and containers are killed; once h3 is down its tasks run on the
 * other hosts. When h3 comes back its old tasks stay stopped: still 3 tasks running.
 */
async function workerLossPhase(lab: Lab, hostOf: Map<string, string>): Promise<void> {
  const h1 = client(lab, 'h1');
  const { ID } = await h1.post<{ ID: string }>('/services/create', {
    Name: 'survivor', Labels: {}, Mode: { Replicated: { Replicas: 3 } },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } },
  } satisfies ServiceSpec);
  await waitRunning(lab, 'survivor', 3);
  const lostAt = Date.now();
  await lab.killDaemon('h3');
  const moved = await waitFor('the tasks of h3 running elsewhere', async () => {
    const ts = (await tasksOf(lab, ID)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
    return ts.length === 3 && ts.every((t) => hostOf.get(t.NodeID!) !== 'h3') && ts;
  }, 30_000);
  const rescheduleMs = Date.now() - lostAt;
  assert.equal([...new Set(moved.map((t) => hostOf.get(t.NodeID!)))].sort(), ['h1', 'h2']);
  await lab.startDaemon('h3');
  await waitFor('h3 ready again', async () => (await h1.get<Node[]>('/nodes')).every((n) => n.Status.State === 'ready'), 30_000);
  const after = await waitRunning(lab, 'survivor', 3);
  assert.equal(after.map((t) => t.ID).sort(), moved.map((t) => t.ID).sort(), 'no task duplicated or moved back');
  await waitFor('h3 runs no container', async () => (await runningContainers(lab, 'h3')).length === 0, 15_000);
  console.log(`  worker loss → its tasks running elsewhere in ${rescheduleMs} ms`);

  // A worker that leaves the swarm stops and removes its containers; its tasks move.
  await client(lab, 'h2').post('/swarm/leave', undefined, { query: { force: true }, timeoutMs: 60_000 });
  assert.equal(await runningContainers(lab, 'h2'), [], 'h2 runs nothing after leaving');
  await waitFor('the tasks of h2 running elsewhere', async () => {
    const ts = (await tasksOf(lab, ID)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
    return ts.length === 3 && ts.every((t) => hostOf.get(t.NodeID!) !== 'h2');
  }, 30_000);
  await h1.delete(`/services/${ID}`);
  await waitFor('no container left after rm', async () => [...(await allRunningContainers(lab)).values()].every((x) => x.length === 0));
}

/** The stock docker CLI drives the same API: create waits until converged, ps, scale, rm (skipped without docker). */
async function dockerPhase(lab: Lab): Promise<void> {
  const docker = async (args: string[]) => {
    const r = await run('env', [`DOCKER_HOST=${lab.dockerHost('h1')}`, 'docker', ...args], { timeoutMs: 120_000 });
    assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  // The stock client is part of what is tested (as in labs/test/docker-client-*.test.ts): no skip without it.
  assert.is((await run('docker', ['--version']).catch(() => ({ code: -1 }))).code, 0, 'the docker CLI is installed');
  const out = await docker(['service', 'create', '--detach=false', '--replicas', '3', '--name', 'dk', '--stop-grace-period', '1s', IMAGE, 'sleep', '3600']);
  // The CLI's last line: "verify: Service converged" (CLI 20.10, Debian's docker.io, which
  // scripts/setup.sh installs) or "verify: Service <id> converged" (CLI 23 and later). It
  // ends without it, exit 0, if it sees UpdateStatus "completed" before the tasks
  // converged: Docker sets no UpdateStatus on a create (nor on a replicas-only change).
  const dk = await client(lab, 'h1').get<Service>('/services/dk');
  if (!/verify: Service (\S+ )?converged/.test(out)) {
    const ts = await tasksOf(lab, 'dk');
    const log = readFileSync(lab.daemonLog('h1'), 'utf8').split('\n').filter((l) => /updater|orchestrator|node status/.test(l)).slice(-20).join('\n');
    assert.unreachable(`docker service create did not verify convergence:\n${out}\nUpdateStatus ${JSON.stringify(dk.UpdateStatus)}\ntasks ${ts.map((t) => `${t.Slot}:${t.Status.State}/${t.DesiredState}@${t.NodeID}`).join(' ')}\n${log}`);
  }
  assert.match(out, /overall progress: 3 out of 3 tasks/);
  assert.is(dk.UpdateStatus, undefined, 'no UpdateStatus after a create');
  const ps = await docker(['service', 'ps', 'dk', '--format', '{{.Name}} {{.Node}} {{.CurrentState}}']);
  assert.equal(ps.trim().split('\n').map((l) => l.split(' ')[1]).sort(), HOSTS);
  await docker(['service', 'scale', '--detach', 'dk=1']);
  await waitRunning(lab, 'dk', 1);
  assert.is((await client(lab, 'h1').get<Service>('/services/dk')).UpdateStatus, undefined, 'no UpdateStatus after a replicas-only change');
  assert.match(await docker(['service', 'ls']), /dk\s+replicated\s+1\/1/);
  await docker(['service', 'rm', 'dk']);
  await waitFor('no container left after docker service rm', async () => [...(await allRunningContainers(lab)).values()].every((x) => x.length === 0));
}

test('a replicated service runs across hosts, scales up and down, and rm stops its containers', async () => {
  await withLab({ hosts: 3, prefix: 'shoalsv' }, async (lab) => {
    const hostOf = await formSwarm(lab);
    const h1 = client(lab, 'h1');

    const spec: ServiceSpec = {
      Name: 'web',
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } },
      Mode: { Replicated: { Replicas: 3 } },
    };
    const { ID } = await h1.post<{ ID: string }>('/services/create', spec);
    assert.ok(ID, 'service ID');
    const refused = async (body: unknown) => h1.post('/services/create', body).then(() => undefined, (err: { status: number; message: string }) => `${err.status} ${err.message}`);
    assert.match((await refused(spec)) ?? '', /^409 .*name conflicts with an existing object: service web already exists/);
    assert.is(await refused({ ...spec, Name: 'bad', TaskTemplate: { ContainerSpec: { Image: '' } } }), '400 invalid ServiceSpec: TaskTemplate.ContainerSpec.Image: must not be empty');

    // 3 tasks, one per host, each a running container on its host.
    let running = await waitRunning(lab, 'web', 3);
    assert.equal(new Set(running.map((t) => t.NodeID)).size, 3, 'spread over 3 nodes');
    let containers = await allRunningContainers(lab);
    for (const t of running) {
      const host = hostOf.get(t.NodeID!)!;
      assert.ok(containers.get(host)!.includes(t.Status.ContainerStatus!.ContainerID), `task ${t.ID} runs on ${host}`);
    }

    for (const h of HOSTS) {
      const info = await client(lab, h).get<{ ContainersRunning: number }>('/info');
      assert.is(info.ContainersRunning, 1, `${h}: docker info counts its container`);
    }

    // status=true counts them.
    const listed = await h1.get<Service[]>('/services', { query: { status: true } });
    assert.equal(listed.map((s) => [s.Spec.Name, s.ServiceStatus]), [['web', { RunningTasks: 3, DesiredTasks: 3, CompletedTasks: 0 }]]);

    // Scale up to 6: two per host.
    await scale(lab, 'web', 6);
    running = await waitRunning(lab, 'web', 6);
    const perNode = new Map<string, number>();
    for (const t of running) perNode.set(t.NodeID!, (perNode.get(t.NodeID!) ?? 0) + 1);
    assert.equal([...perNode.values()], [2, 2, 2], 'two per node');
    containers = await allRunningContainers(lab);
    assert.equal([...containers.values()].reduce((n, c) => n + c.length, 0), 6, '6 containers run');

    // Scale down to 1: the other containers stop.
    await scale(lab, 'web', 1);
    running = await waitRunning(lab, 'web', 1);
    await waitFor('one container left', async () => {
      const c = await allRunningContainers(lab);
      return [...c.values()].reduce((n, x) => n + x.length, 0) === 1;
    });

    // Remove: no container left anywhere, and the tasks go.
    await h1.delete(`/services/${ID}`);
    await waitFor('no container left', async () => {
      const c = await allRunningContainers(lab);
      return [...c.values()].every((x) => x.length === 0);
    });
    await waitFor('the tasks deleted', async () => (await tasksOf(lab, ID)).length === 0);
    const gone = await h1.get(`/services/${ID}`).then(() => false, (err: { status?: number }) => err.status === 404);
    assert.ok(gone, 'the service is gone');

    await cliPhase(lab);
    await restartPhase(lab);
    await globalPhase(lab);
    await dockerPhase(lab);
    await workerLossPhase(lab, hostOf);
  });
});

test('after the leader is lost, the new leader keeps the other tasks running and reschedules its own', async () => {
  await withLab({ hosts: 3, prefix: 'shoalsv' }, async (lab) => {
    const hostOf = await formSwarm(lab, { managers: true });
    const { ID } = await client(lab, 'h1').post<{ ID: string }>('/services/create', {
      Name: 'ha', Labels: {}, Mode: { Replicated: { Replicas: 3 } },
      TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } },
    } satisfies ServiceSpec);
    const before = await waitRunning(lab, 'ha', 3);
    const kept = before.filter((t) => hostOf.get(t.NodeID!) !== 'h1');
    const containers = { h2: await runningContainers(lab, 'h2'), h3: await runningContainers(lab, 'h3') };
    await lab.killDaemon('h1');
    const after = await waitFor('3 tasks running on h2 and h3', async () => {
      const ts = await waitRunning(lab, 'ha', 3, 'h2');
      return ts.every((t) => hostOf.get(t.NodeID!) !== 'h1') && ts;
    }, 60_000);
    for (const t of kept) assert.ok(after.some((a) => a.ID === t.ID), `task ${t.ID} kept running through the failover`);
    for (const h of ['h2', 'h3'] as const) {
      const now = await runningContainers(lab, h);
      assert.ok(containers[h].every((c) => now.includes(c)), `${h}'s containers kept running: ${containers[h]} → ${now}`);
    }
    await client(lab, 'h2').delete(`/services/${ID}`);
    await waitFor('h2 and h3 run no container', async () => (await runningContainers(lab, 'h2')).length + (await runningContainers(lab, 'h3')).length === 0);
  });
});

test.run();
