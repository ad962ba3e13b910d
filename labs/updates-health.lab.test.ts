// Health decides, on one shared 3-host lab (root; h1 manager, h2 and h3 workers, real runc
// containers, the lab registry's bb:v1 and bb:v2 whose httpd serves /VERSION):
// - a task with a health check is `starting` until its first success, then `running`
//   (healthy), as `service ps` and the task's status show; an unhealthy one fails with
//   Docker's error and its restart policy replaces it; a start period holds failures back;
// - a replicated job on an overlay network with restart condition none that exits 1 runs
//   once, and `service inspect` has its JobStatus;
// - zero downtime: a start-first update of a health-checked service drops no request of a
//   client opening connections at a steady rate through the VIP and through the routing
//   mesh (≥ 3,000 each); the same load over a stop-first update with parallelism = replicas
//   does fail requests, so the test can tell.
// Everything waits by polling with deadlines; the clients are our own processes
// (steady-load.ts), run to completion or stopped through a stop file.
//
// run-all: alone
// The load is 200 new connections a second onto three busybox httpds, each forking per
// connection and accepting at most 9 waiting (its listen backlog). With another lab file's
// container starts beside it on a 2-core machine (a PVM guest where fork costs ~10 ms), the
// servers fell behind for seconds: 1,192 SYNs dropped by one backend's full accept queue
// (its netns's ListenOverflows), its own health check timing out, the task stopped as
// unhealthy — while nothing in any daemon's log had changed. Alone, the servers keep up
// and a failure is Shoal's. A failure's message carries the backends' overflow counts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HealthConfig, Service, ServiceSpec } from '../src/api/types/service.ts';
import type { Task } from '../src/api/types/task.ts';
import { Lab } from './lib/lab.ts';
import { run } from './lib/procs.ts';
import { client, formSwarm, IMAGE, tasksOf, waitFor } from './lib/swarm-services.ts';
import { createNetwork, createService, inContainer, listenOverflows, placedTasks, taskNetns, type PlacedTask } from './lib/swarm-net.ts';
import { loadArgv, type LoadResult } from './lib/steady-load.ts';

const PREFIX = 'shoaluh';
const V2 = IMAGE.replace(/:v1$/, ':v2');
const S = 1e9;
/** Requests per second of each load client, and the least each must send under a start-first update. */
const RATE = 100;
const MIN_REQUESTS = 3000;
let lab: Lab;
let hostOf: Map<string, string>;

const api = () => client(lab, 'h1');
const inspect = (name: string) => api().get<Service>(`/services/${name}`);
const HTTPD = ['sh', '-c', 'exec httpd -f -p 80 -h /www'];

/** httpd's own page as the check; busybox wget is wrapped in timeout (its -T crashes). */
function check(o: Partial<HealthConfig> = {}): HealthConfig {
  return { Test: ['CMD-SHELL', 'timeout 2 wget -q -O /dev/null http://127.0.0.1/VERSION'], Interval: 1 * S, Timeout: 3 * S, Retries: 2, ...o };
}

function spec(name: string, o: { command?: string[]; health?: HealthConfig; replicas?: number; networks?: string[]; extra?: Partial<ServiceSpec> } = {}): ServiceSpec {
  return {
    Name: name, Labels: {},
    Mode: { Replicated: { Replicas: o.replicas ?? 1 } },
    TaskTemplate: {
      ContainerSpec: { Image: IMAGE, Command: o.command ?? HTTPD, StopGracePeriod: 5 * S, ...(o.health ? { Healthcheck: o.health } : {}) },
      RestartPolicy: { Condition: 'any', Delay: 1 * S },
      ...(o.networks ? { Networks: o.networks.map((Target) => ({ Target })) } : {}),
    },
    ...o.extra,
  } as ServiceSpec;
}

async function remove(name: string): Promise<void> {
  await api().delete(`/services/${name}`);
  await waitFor(`${name}'s tasks gone`, async () => (await tasksOf(lab, name).catch(() => [])).every((t) => t.Status.State !== 'running'), 60_000);
}

const shoal = async (args: string[]) => {
  const r = await lab.cli('h1', args, { timeoutMs: 60_000 });
  assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

test.before(async () => {
  lab = await Lab.up({ hosts: 3, prefix: PREFIX, replace: true });
  hostOf = await formSwarm(lab);
});

test.after(async () => {
  await lab?.down();
});

test('a task with a health check is starting until its first success, then running and healthy', async () => {
  // httpd comes up after 8 s (long enough for the CLI to look): until then every probe
  // fails, inside the 30 s start period.
  await createService(lab, spec('hc', { command: ['sh', '-c', 'sleep 8; exec httpd -f -p 80 -h /www'], health: check({ Interval: 0.5 * S, Retries: 1, StartPeriod: 30 * S }) }));
  const seen: string[] = [];
  let psStarting = '';
  const t = await waitFor('hc running', async () => {
    const [x] = await tasksOf(lab, 'hc');
    if (!x) return undefined;
    const s = `${x.Status.State}/${x.Status.Health?.Status ?? '-'}`;
    if (seen.at(-1) !== s) seen.push(s);
    if (x.Status.State === 'starting' && x.Status.Health && !psStarting) psStarting = await shoal(['service', 'ps', 'hc']);
    return x.Status.State === 'running' && x;
  }, 90_000, 100);
  assert.ok(seen.includes('starting/starting'), `reported starting with its check starting first: ${seen.join(' → ')}`);
  assert.match(psStarting, /Starting \S+/, 'service ps shows Starting while the check has not passed');
  assert.equal(t.Status.Health, { Status: 'healthy', FailingStreak: 0 });
  assert.not.ok(seen.some((s) => s.startsWith('running/') && s !== 'running/healthy'), `running only when healthy: ${seen.join(' → ')}`);
  assert.match(await shoal(['service', 'ps', 'hc']), /Running \S+/);
  const viaTasks = await api().get<Task>(`/tasks/${t.ID}`);
  assert.is(viaTasks.Status.Health?.Status, 'healthy', 'the task as inspected carries its health');
  assert.is((await tasksOf(lab, 'hc')).length, 1, 'the start period held the early failures back: never failed');
  await remove('hc');
});

test('an unhealthy task fails with docker\'s error and the restart policy replaces it', async () => {
  await createService(lab, spec('sick', { health: { Test: ['CMD', 'false'], Interval: 0.3 * S, Timeout: 2 * S, Retries: 2 } }));
  const tasks = await waitFor('a failed unhealthy task and its replacement', async () => {
    const ts = await tasksOf(lab, 'sick');
    const failed = ts.filter((t) => t.Status.State === 'failed');
    return failed.length >= 1 && ts.length >= 2 && ts;
  }, 90_000, 250);
  const failed = tasks.find((t) => t.Status.State === 'failed')!;
  assert.match(failed.Status.Err ?? '', /^task: non-zero exit \(\d+\): dockerexec: unhealthy container$/);
  assert.is(failed.Status.Health?.Status, 'unhealthy');
  assert.ok(tasks.every((t) => t.Slot === 1), 'the replacement takes the same slot');
  assert.not.ok(tasks.some((t) => t.Status.State === 'running'), 'never running: never healthy');
  assert.match(await shoal(['service', 'ps', '--no-trunc', 'sick']), /dockerexec: unhealthy container/);
  await remove('sick');
});

test('a replicated job on an overlay network with restart condition none that exits 1 runs once; inspect has JobStatus', async () => {
  const net = await createNetwork(lab, 'jobnet');
  await createService(lab, {
    Name: 'once', Labels: {}, Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'exit 1'] }, RestartPolicy: { Condition: 'none' }, Networks: [{ Target: net }] },
  } as ServiceSpec);
  await waitFor('the job failed', async () => (await tasksOf(lab, 'once')).some((t) => t.Status.State === 'failed'), 90_000);
  // Longer than Docker's default restart delay (5 s), so a wrongful restart would show.
  const deadline = Date.now() + 7000;
  while (Date.now() < deadline) {
    const ts = await tasksOf(lab, 'once');
    assert.is(ts.length, 1, `one task only: ${ts.map((t) => `${t.Status.State} ${t.Status.Err ?? ''}`).join(', ')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const svc = await inspect('once');
  assert.ok(svc.JobStatus, 'JobStatus present');
  assert.is(svc.JobStatus!.JobIteration.Index, 0);
  assert.ok(Date.parse(svc.JobStatus!.LastExecution ?? '') > 0, 'LastExecution set');
  await api().delete('/services/once');
});

/** The web service of the load tests (3 replicas, health-checked, on `net`, port 8080 on every node) and a client task on h3. */
async function loadSetup(name: string, net: string, o: { update?: ServiceSpec['UpdateConfig']; port: number; replicas?: number; health?: HealthConfig }): Promise<{ vip: string; clientNetns: string; tasks: PlacedTask[] }> {
  const replicas = o.replicas ?? 3;
  await createService(lab, spec(name, {
    replicas, networks: [net], health: o.health ?? check(),
    extra: { ...(o.update ? { UpdateConfig: o.update } : {}), EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: o.port, PublishMode: 'ingress' }] } },
  }));
  const tasks = await placedTasks(lab, name, hostOf, replicas, net, 120_000);
  const svc = await inspect(name);
  const vip = svc.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === net)?.Addr.split('/')[0];
  assert.ok(vip, 'the service has a VIP on its network');
  const [c] = await placedTasks(lab, 'zcli', hostOf, 1, net);
  return { vip, clientNetns: taskNetns(c.id), tasks };
}

/** Starts both load clients (VIP from the client task on h3; mesh from the switch to h2); resolves with their results. */
function startLoad(vip: string, clientNetns: string, port: number, o: { stopFile: string; min?: number }): Promise<[LoadResult, LoadResult]> {
  const args = (addr: string, p: number) => [addr, p, RATE, 100_000, '/VERSION', 3000, o.stopFile, o.min ?? 0];
  const go = async (argv: string[], what: string): Promise<LoadResult> => {
    const [cmd, ...rest] = argv;
    const r = await run(cmd, rest, { timeoutMs: 600_000 });
    try {
      return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as LoadResult;
    } catch {
      throw new Error(`load client ${what}: no result (code ${r.code}): ${r.stderr.slice(-400)}`);
    }
  };
  return Promise.all([
    go(loadArgv([...lab.enterCommand('h3'), 'nsenter', `--net=/run/netns/${clientNetns}`], args(vip, 80)), 'vip'),
    go(loadArgv(['nsenter', `--net=/run/netns/${lab.names.switchNetns}`], args(lab.address('h2'), port)), 'mesh'),
  ]);
}

/**
 * The backends' listen-queue overflows before and after, for a failure's message: failures
 * while these climb are SYNs a server that did not keep up dropped (busybox httpd accepts
 * 9 at most), which the test cannot tell from a stale rotation by the error alone.
 */
async function overflowsNote(service: string, before: Record<string, number>, net: string, replicas: number): Promise<string> {
  const after = await placedTasks(lab, service, hostOf, replicas, net, 10_000).then((ts) => listenOverflows(lab, ts), (err: Error) => ({ unknown: err.message }));
  return `backends' listen-queue overflows: before ${JSON.stringify(before)}, at the end ${JSON.stringify(after)}`;
}

const summary = (r: LoadResult) => `${r.ok}/${r.sent} ok, answers ${JSON.stringify(r.answers)}, first failures ${JSON.stringify(r.failures.slice(0, 3))}`;

test('zero downtime: a start-first update of a health-checked service drops no request through the VIP or the mesh', async () => {
  const net = await createNetwork(lab, 'zd');
  const cli = spec('zcli', { command: ['sleep', '3600'], networks: [net] });
  cli.TaskTemplate.Placement = { Constraints: ['node.hostname==h3'] };
  await createService(lab, cli);
  const { vip, clientNetns, tasks } = await loadSetup('zweb', net, { port: 8080, update: { Parallelism: 1, Delay: 0, Order: 'start-first', Monitor: 2 * S, FailureAction: 'pause' } });
  const stopFile = join(lab.baseDir, 'stop-zweb');
  rmSync(stopFile, { force: true });
  const load = startLoad(vip, clientNetns, 8080, { stopFile, min: MIN_REQUESTS });
  try {
    await new Promise((r) => setTimeout(r, 3000)); // the clients run at their steady rate first
    const overflows = await listenOverflows(lab, tasks);
    const before = await inspect('zweb');
    const next = structuredClone(before.Spec);
    next.TaskTemplate.ContainerSpec.Image = V2;
    await api().post(`/services/${before.ID}/update`, next, { query: { version: before.Version.Index } });
    const done = await waitFor('the update completed', async () => {
      const s = await inspect('zweb');
      if (s.UpdateStatus?.State === 'paused') throw new Error(`update paused: ${s.UpdateStatus.Message}`);
      return s.UpdateStatus?.State === 'completed' && s;
    }, 240_000, 250);
    // Load after the update too; each client goes on until it sent at least MIN_REQUESTS.
    await new Promise((r) => setTimeout(r, 2000));
    writeFileSync(stopFile, '');
    const [viaVip, viaMesh] = await load;
    console.log(`  start-first: VIP ${summary(viaVip)}; mesh ${summary(viaMesh)}; update ${Date.parse(done.UpdateStatus!.CompletedAt!) - Date.parse(done.UpdateStatus!.StartedAt!)} ms`);
    const note = viaVip.errors || viaMesh.errors ? await overflowsNote('zweb', overflows, net, 3) : '';
    for (const [what, r] of [['VIP', viaVip], ['mesh', viaMesh]] as const) {
      assert.ok(r.sent >= MIN_REQUESTS, `${what}: ${r.sent} requests sent`);
      assert.is(r.errors, 0, `${what}: no request failed: ${summary(r)}; ${note}`);
      assert.ok((r.answers.v1 ?? 0) > 0 && (r.answers.v2 ?? 0) > 0, `${what}: v1 answered, then v2: ${summary(r)}`);
      assert.ok(r.startedAt < Date.parse(done.UpdateStatus!.StartedAt!) && r.endedAt > Date.parse(done.UpdateStatus!.CompletedAt!), `${what}: the load covered the whole update`);
    }
  } finally {
    writeFileSync(stopFile, '');
    await load.catch(() => undefined);
    rmSync(stopFile, { force: true });
  }
  await remove('zweb');
});

/** The overlay network of the client service (made by the zero-downtime test). */
async function clientNet(): Promise<string> {
  const services = await api().get<Service[]>('/services');
  return services.find((s) => s.Spec.Name === 'zcli')!.Spec.TaskTemplate.Networks![0]!.Target;
}

test('a task turning unhealthy under load leaves every rotation before it is stopped: no request fails, a replacement serves', async () => {
  const net = await clientNet();
  // Healthy while /www/sick does not exist; the probe keeps answering, so only the drain decides.
  const health = check({ Test: ['CMD-SHELL', 'test ! -e /www/sick && timeout 2 wget -q -O /dev/null http://127.0.0.1/VERSION'] });
  const { vip, clientNetns, tasks } = await loadSetup('zsick', net, { port: 8082, replicas: 2, health });
  const [victim] = tasks;
  const stopFile = join(lab.baseDir, 'stop-zsick');
  rmSync(stopFile, { force: true });
  const load = startLoad(vip, clientNetns, 8082, { stopFile, min: 1500 });
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const overflows = await listenOverflows(lab, tasks);
    const touched = await inContainer(lab, victim, ['touch', '/www/sick']);
    assert.is(touched.code, 0, `made ${victim.id} sick: ${touched.stderr}`);
    const failed = await waitFor('the sick task failed and a replacement runs', async () => {
      const ts = await tasksOf(lab, 'zsick');
      const dead = ts.find((t) => t.ID === victim.id && t.Status.State === 'failed');
      return dead && ts.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').length === 2 && dead;
    }, 120_000, 250);
    await new Promise((r) => setTimeout(r, 2000));
    writeFileSync(stopFile, '');
    const [viaVip, viaMesh] = await load;
    console.log(`  unhealthy under load: VIP ${summary(viaVip)}; mesh ${summary(viaMesh)}`);
    assert.match(failed.Status.Err ?? '', /dockerexec: unhealthy container/);
    const note = viaVip.errors || viaMesh.errors ? await overflowsNote('zsick', overflows, net, 2) : '';
    assert.is(viaVip.errors, 0, `VIP: no request failed: ${summary(viaVip)}; ${note}`);
    assert.is(viaMesh.errors, 0, `mesh: no request failed: ${summary(viaMesh)}; ${note}`);
  } finally {
    writeFileSync(stopFile, '');
    await load.catch(() => undefined);
    rmSync(stopFile, { force: true });
  }
  await remove('zsick');
});

test('the same load over a stop-first update with parallelism = replicas fails requests (the test can tell)', async () => {
  const net = await clientNet();
  const { vip, clientNetns } = await loadSetup('zstop', net, { port: 8081, update: { Parallelism: 3, Delay: 0, Order: 'stop-first', Monitor: 2 * S, FailureAction: 'pause' } });
  const stopFile = join(lab.baseDir, 'stop-zstop');
  rmSync(stopFile, { force: true });
  const load = startLoad(vip, clientNetns, 8081, { stopFile });
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const before = await inspect('zstop');
    const next = structuredClone(before.Spec);
    next.TaskTemplate.ContainerSpec.Image = V2;
    await api().post(`/services/${before.ID}/update`, next, { query: { version: before.Version.Index } });
    await waitFor('the update completed', async () => (await inspect('zstop')).UpdateStatus?.State === 'completed', 240_000, 250);
    await new Promise((r) => setTimeout(r, 2000));
    writeFileSync(stopFile, '');
    const [viaVip, viaMesh] = await load;
    console.log(`  stop-first, parallelism 3: VIP ${summary(viaVip)}; mesh ${summary(viaMesh)}`);
    assert.ok(viaVip.errors > 0, `VIP: requests failed while no task served: ${summary(viaVip)}`);
    assert.ok(viaMesh.errors > 0, `mesh: requests failed while no task served: ${summary(viaMesh)}`);
  } finally {
    writeFileSync(stopFile, '');
    await load.catch(() => undefined);
    rmSync(stopFile, { force: true });
  }
  await remove('zstop');
  await remove('zcli');
});

test.run();
