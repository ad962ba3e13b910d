// Shoal's update strategies on one shared 3-host lab (root; three managers, real runc
// containers, the lab registry's bb:v1 and bb:v2): a canary that holds for its window and
// promotes itself; a canary that fails and rolls back by itself; a canary's share of new
// connections through the routing mesh (2,000 connections, within ±3 points) and
// `shoal service promote`; a blue-green switch, with the window during which both
// versions answered new connections measured from a client outside the hosts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service, ServiceSpec } from '../src/api/types/service.ts';
import type { Task } from '../src/api/types/task.ts';
import { Lab } from './lib/lab.ts';
import { probe, type HttpResult } from './lib/netprobe.ts';
import { connTimeline, mixedWindowMs } from './lib/conn-timeline.ts';
import { client, formSwarm, IMAGE, tasksOf, waitFor, waitRunning } from './lib/swarm-services.ts';
import { removeService, waitUpdateState } from './lib/service-updates.ts';

const V2 = IMAGE.replace(/:v1$/, ':v2');
const S = 1e9;
/** Serves the image's /www/VERSION ("v1" or "v2") as its index. */
const VERSION_WEB = ['sh', '-c', 'mkdir -p /srv && cp /www/VERSION /srv/index.html && exec httpd -f -p 80 -h /srv'];
let lab: Lab;
const via = 'h1';

function spec(name: string, replicas: number, o: { labels?: Record<string, string>; web?: number; update?: ServiceSpec['UpdateConfig'] } = {}): ServiceSpec {
  return {
    Name: name,
    Labels: o.labels ?? {},
    Mode: { Replicated: { Replicas: replicas } },
    TaskTemplate: {
      ContainerSpec: { Image: IMAGE, ...(o.web ? { Command: VERSION_WEB } : { Command: ['sleep'], Args: ['3600'] }), StopGracePeriod: 1e9 },
      RestartPolicy: { Condition: 'any', Delay: 1 * S },
    },
    UpdateConfig: { Parallelism: 1, Monitor: 1 * S, ...o.update },
    RollbackConfig: { Parallelism: 0, Monitor: 1 * S },
    ...(o.web ? { EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: o.web, PublishMode: 'ingress' }] } } : {}),
  };
}

async function create(s: ServiceSpec): Promise<void> {
  await client(lab, via).post('/services/create', s);
  await waitRunning(lab, s.Name, s.Mode!.Replicated!.Replicas!, via);
}

const inspect = (name: string) => client(lab, via).get<Service>(`/services/${name}`);
const imageOf = (t: Task) => t.Spec.ContainerSpec.Image;
const live = (ts: Task[]) => ts.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');

const waitState = (name: string, state: string, timeoutMs?: number) => waitUpdateState(lab, name, state, via, timeoutMs);
const remove = (name: string) => removeService(lab, name, via);

const shoal = async (args: string[]) => {
  const r = await lab.cli(via, args, { timeoutMs: 180_000 });
  assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
};

/** The versions answering `n` new connections to `host`:`port` through the routing mesh, from the lab switch. */
async function meshAnswers(host: string, port: number, n: number): Promise<HttpResult> {
  return probe([], { netns: lab.names.switchNetns }, ['http', lab.address(host), String(port), String(n), '8']);
}

test.before(async () => {
  lab = await Lab.up({ hosts: 3, prefix: 'shoaluc', replace: true });
  await formSwarm(lab, { managers: true });
});

test.after(async () => {
  await lab?.down();
});

test('canary: one task replaced, held for its window, then promoted by itself and the update finishes', async () => {
  await create(spec('cp', 4));
  const out = await shoal(['service', 'update', '--canary-monitor', '4s', '--image', V2, 'cp']);
  assert.match(out, /canary: promoted/);
  assert.match(out, /verify: Service converged/);
  const svc = await inspect('cp');
  assert.is(svc.UpdateStatus!.State, 'completed');
  assert.is(svc.UpdateStatus!.ShoalCanary, 'promoted');
  assert.is(svc.Spec.Labels!['com.shoal.update.strategy'], 'canary');
  const fresh = (await tasksOf(lab, 'cp', via)).filter((t) => imageOf(t) === V2).sort((a, b) => Date.parse(a.CreatedAt) - Date.parse(b.CreatedAt));
  assert.is(fresh.length, 4, 'each slot replaced once');
  const hold = Date.parse(fresh[1].CreatedAt) - Date.parse(fresh[0].CreatedAt);
  assert.ok(hold >= 4000, `the second task came ${hold} ms after the canary (window 4 s after it came up)`);
  assert.equal(live(await tasksOf(lab, 'cp', via)).map(imageOf), Array(4).fill(V2));
  console.log(`  canary held ${hold} ms, then promoted itself`);
  await remove('cp');
});

test('canary: a canary that fails rolls the update back by itself (failure action pause notwithstanding)', async () => {
  await create(spec('cr', 4, { update: { FailureAction: 'pause' } }));
  // `sleep x` exits 1 at once: the canary fails.
  await shoal(['service', 'update', '-d', '--canary-monitor', '30s', '--args', 'x', 'cr']);
  const rolled = await waitState('cr', 'rollback_completed');
  assert.is(rolled.Spec.TaskTemplate.ContainerSpec.Args?.[0], '3600');
  const tasks = await tasksOf(lab, 'cr', via);
  const tried = new Set(tasks.filter((t) => t.Spec.ContainerSpec.Args?.[0] === 'x').map((t) => t.Slot));
  const story = tasks.map((t) => `${t.Slot}:${t.Spec.ContainerSpec.Args?.[0]}:${t.Status.State}/${t.DesiredState}@${t.CreatedAt}:${t.Status.Err ?? ''}`).join('\n');
  assert.is(tried.size, 1, `only the canary's slot tried the new spec (slots ${[...tried]}; started ${rolled.UpdateStatus?.StartedAt})\n${story}`);
  assert.is(live(await waitRunning(lab, 'cr', 4, via)).length, 4);
  const started = Date.parse(rolled.UpdateStatus!.StartedAt!);
  console.log(`  rolled back: ${rolled.UpdateStatus!.Message}; ${Date.parse(rolled.UpdateStatus!.CompletedAt!) - started} ms from start`);
  await remove('cr');
});

test('canary traffic share: 10 % of 2,000 new mesh connections to 1 canary among 6 tasks (±3 points), then promote', async () => {
  await create(spec('share', 6, { web: 8080 }));
  await waitFor('the mesh answers v1', async () => (await meshAnswers('h1', 8080, 4)).answers.v1 === 4, 60_000);
  await shoal(['service', 'update', '-d', '--canary-weight', '10', '--canary-auto', 'rollback', '--canary-monitor', '1s', '--image', V2, 'share']);
  await waitFor('1 canary and 5 old tasks running', async () => {
    const ts = live(await tasksOf(lab, 'share', via));
    return ts.length === 6 && ts.filter((t) => imageOf(t) === V2).length === 1;
  }, 90_000);
  await waitFor('the canary answers through the mesh', async () => ((await meshAnswers('h1', 8080, 20)).answers.v2 ?? 0) > 0, 30_000);
  const r = await meshAnswers('h1', 8080, 2000);
  const v1 = r.answers.v1 ?? 0, v2 = r.answers.v2 ?? 0;
  const share = (100 * v2) / (v1 + v2);
  console.log(`  canary share ${share.toFixed(2)} % of ${v1 + v2} connections (weight 10 %, task share 16.7 %); ${r.errors} errors`);
  assert.ok(v1 + v2 >= 1990, `answers: ${JSON.stringify(r)}`);
  assert.ok(Math.abs(share - 10) <= 3, `canary share ${share.toFixed(2)} % not within 10 ± 3`);
  const held = await inspect('share');
  assert.is(held.UpdateStatus!.State, 'updating', 'auto=rollback: a healthy canary holds');
  const out = await shoal(['service', 'promote', 'share']);
  assert.match(out, /canary: promoted/);
  assert.match(out, /verify: Service converged/);
  assert.equal(live(await tasksOf(lab, 'share', via)).map(imageOf), Array(6).fill(V2));
  await remove('share');
});

test('blue-green: the new set starts beside the old, all switch at once, then the old stops', async () => {
  const labels = { 'com.shoal.update.strategy': 'blue-green' };
  await create(spec('bg', 3, { web: 8081, labels }));
  await waitFor('the mesh answers v1', async () => (await meshAnswers('h2', 8081, 4)).answers.v1 === 4, 60_000);
  const samples: Task[][] = [];
  let done = false;
  const poll = (async () => {
    while (!done) {
      samples.push(await tasksOf(lab, 'bg', via).catch(() => []));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const timeline = connTimeline([], { netns: lab.names.switchNetns }, { addr: lab.address('h2'), port: 8081, durationMs: 25_000, conc: 4 });
  try {
    await shoal(['service', 'update', '-d', '--image', V2, 'bg']);
    await waitState('bg', 'completed');
  } finally {
    done = true;
    await poll;
  }
  const t = await timeline;
  const mixed = mixedWindowMs(t.samples, 'v1', 'v2');
  const seen = new Set(t.samples.map(([, b]) => b));
  console.log(`  blue-green: ${t.samples.length} connections, ${t.errors} failed, mixed window ${mixed} ms`);
  assert.ok(seen.has('v1') && seen.has('v2'), `both versions answered: ${[...seen]}`);
  // Green ran beside an intact blue set, and no blue task stopped before all three green ones ran.
  // Told by the tasks' own times, not by a 100 ms sampler that can miss a quick switch:
  // every green task was running before any blue task was stopped.
  const final = await tasksOf(lab, 'bg', via);
  const green = final.filter((x) => imageOf(x) === V2 && x.Status.State === 'running');
  const blue = final.filter((x) => imageOf(x) === IMAGE && x.DesiredState !== 'running');
  assert.is(green.length, 3, 'three green tasks run');
  assert.ok(blue.length >= 3, `three blue tasks were stopped (${blue.length})`);
  const greenUp = Math.max(...green.map((x) => Date.parse(x.Status.Timestamp)));
  const blueDown = Math.min(...blue.map((x) => Date.parse(x.Status.Timestamp)));
  assert.ok(blueDown >= greenUp, `the green set ran beside the blue one (last green up ${new Date(greenUp).toISOString()}, first blue down ${new Date(blueDown).toISOString()})`);
  for (const ts of samples) {
    const l = live(ts);
    if (l.filter((x) => imageOf(x) === V2).length < 3) assert.is(l.filter((x) => imageOf(x) === IMAGE).length, 3, 'blue intact until green is complete');
  }
  assert.ok(mixed < 1000, `mixed window ${mixed} ms`);
  assert.equal(live(await tasksOf(lab, 'bg', via)).map(imageOf), Array(3).fill(V2));
  await remove('bg');
});

test.run();
