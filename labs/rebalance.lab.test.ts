// Rebalancing on a 3-host lab (root, real runc containers; issue 22, item 1): 6
// replicas of a health-checked web service run 3/3 on h1 and h2; h3 joins the swarm and,
// once it has been up for the settle time, the leader moves tasks to it one at a time,
// start-first, until the service runs 2/2/2, while a client opening connections at a
// steady rate through the routing mesh sees no failed request. Each move is a
// `rebalance` event with its reason; a service created with `--rebalance=false` is not
// touched. Then h3 flaps (down, up for 4 s, down, up): no task moves to it until it has
// stayed up for the settle time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from '../src/api/types/node.ts';
import type { ServiceSpec } from '../src/api/types/service.ts';
import type { Swarm } from '../src/api/types/swarm.ts';
import type { Task } from '../src/api/types/task.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { run } from './lib/procs.ts';
import { client, IMAGE, tasksOf, waitFor, waitRunning } from './lib/swarm-services.ts';
import { createService, WEB_COMMAND } from './lib/swarm-net.ts';
import { loadArgv, type LoadResult } from './lib/steady-load.ts';

const S = 1e9;
const PORT = 8090;
const RATE = 50;

async function joinSwarm(lab: Lab, host: string, token: string): Promise<void> {
  await client(lab, host).post('/swarm/join', {
    RemoteAddrs: [`${lab.address('h1')}:2377`], JoinToken: token, ListenAddr: `${lab.address(host)}:2377`, AdvertiseAddr: lab.address(host),
  }, { timeoutMs: 60_000 });
}

async function hostsById(lab: Lab): Promise<Map<string, string>> {
  const ns = await client(lab, 'h1').get<Node[]>('/nodes');
  return new Map(ns.map((n) => [n.ID, n.Description.Hostname]));
}

function perHost(tasks: Task[], hostOf: Map<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tasks) if (t.DesiredState === 'running' && t.Status.State === 'running') out[hostOf.get(t.NodeID!)!] = (out[hostOf.get(t.NodeID!)!] ?? 0) + 1;
  return out;
}

const web: ServiceSpec = {
  Name: 'web', Labels: {}, Mode: { Replicated: { Replicas: 6 } },
  TaskTemplate: {
    ContainerSpec: {
      Image: IMAGE, Command: WEB_COMMAND, StopGracePeriod: 5 * S,
      Healthcheck: { Test: ['CMD-SHELL', 'timeout 2 wget -q -O /dev/null http://127.0.0.1/index.html'], Interval: 1 * S, Timeout: 3 * S, Retries: 2 },
    },
  },
  UpdateConfig: { Parallelism: 1, Order: 'start-first' },
  EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: PORT, PublishMode: 'ingress' }] },
} as ServiceSpec;

test('a third node joins: 6 replicas go from 3/3 to 2/2/2 with no failed request through the mesh', async () => {
  await withLab({ hosts: 3, prefix: 'shoaldevrb' }, async (lab) => {
    const h1 = client(lab, 'h1');
    await h1.post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
    const swarm = await h1.get<Swarm>('/swarm');
    await joinSwarm(lab, 'h2', swarm.JoinTokens.Worker);
    await waitFor('2 ready nodes', async () => (await h1.get<Node[]>('/nodes')).filter((n) => n.Status.State === 'ready').length === 2);

    await createService(lab, web);
    const pinned = await lab.cli('h1', ['service', 'create', '--detach', '--name', 'pinned', '--replicas', '4', '--rebalance=false', IMAGE, 'sleep', '3600']);
    assert.is(pinned.code, 0, pinned.stderr);
    let hostOf = await hostsById(lab);
    assert.equal(perHost(await waitRunning(lab, 'web', 6, 'h1', 120_000), hostOf), { h1: 3, h2: 3 });
    await waitRunning(lab, 'pinned', 4);

    const stopFile = join(lab.baseDir, 'stop-load');
    rmSync(stopFile, { force: true });
    const since = Math.floor(Date.now() / 1000);
    const load = (async (): Promise<LoadResult> => {
      const [cmd, ...rest] = loadArgv(['nsenter', `--net=/run/netns/${lab.names.switchNetns}`], [lab.address('h1'), PORT, RATE, 1_000_000, '/index.html', 3000, stopFile, 500]);
      const r = await run(cmd, rest, { timeoutMs: 600_000 });
      try {
        return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as LoadResult;
      } catch {
        throw new Error(`load client: no result (code ${r.code}): ${r.stderr.slice(-400)}`);
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 2000)); // the client runs at its steady rate first
      const joinedAt = Date.now();
      await joinSwarm(lab, 'h3', swarm.JoinTokens.Worker);
      const spread = await waitFor('web spread 2/2/2 with nothing in flight', async () => {
        hostOf = await hostsById(lab);
        const ts = await tasksOf(lab, 'web');
        const p = perHost(ts, hostOf);
        const settled = ts.filter((t) => t.DesiredState === 'running').length === 6;
        return settled && p.h1 === 2 && p.h2 === 2 && p.h3 === 2 && p;
      }, 180_000, 250);
      console.log(`  web spread ${JSON.stringify(spread)} ${Date.now() - joinedAt} ms after h3 joined`);
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      writeFileSync(stopFile, '');
    }
    const r = await load;
    rmSync(stopFile, { force: true });
    console.log(`  mesh load: ${r.ok}/${r.sent} ok, answers ${JSON.stringify(r.answers)}, failures ${JSON.stringify(r.failures.slice(0, 3))}`);
    assert.ok(r.sent >= 500, `${r.sent} requests sent`);
    assert.is(r.errors, 0, 'no request through the mesh failed');

    // Every move is a rebalance event of the service with its reason.
    const until = Math.ceil(Date.now() / 1000);
    const filters = JSON.stringify({ type: ['service'], event: ['rebalance'] });
    const ev = await lab.request('h1', `/events?since=${since}&until=${until}&filters=${encodeURIComponent(filters)}`, { timeoutMs: 20_000 });
    const events = ev.body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Actor: { Attributes: Record<string, string> } });
    console.log(`  events: ${events.map((e) => e.Actor.Attributes.reason).join(' | ')}`);
    assert.is(events.length, 2, 'two moves: one from h1, one from h2');
    for (const e of events) assert.match(e.Actor.Attributes.reason, /^h3 joined; h[12] has 3 tasks of web, h3 has [01]$/);

    // The opted-out service kept its spread.
    const p = perHost(await tasksOf(lab, 'pinned'), hostOf);
    assert.is(p.h3, undefined, `pinned stays off h3: ${JSON.stringify(p)}`);
    await h1.delete('/services/pinned');

    // Hysteresis: h3 flaps (down, back for 4 s, down, back): its tasks move off while it is
    // down, and none moves back until it has stayed up for the settle time (10 s).
    const h3 = [...hostOf].find(([, h]) => h === 'h3')![0];
    const nodeState = async () => (await h1.get<Node>(`/nodes/${h3}`)).Status.State;
    const flapStart = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 2; i++) {
      await lab.partition('h3');
      await waitFor('h3 down', async () => (await nodeState()) === 'down', 30_000, 250);
      await lab.heal('h3');
      await waitFor('h3 ready again', async () => (await nodeState()) === 'ready', 30_000, 250);
      if (i === 0) await new Promise((r) => setTimeout(r, 4000));
    }
    const backAt = Date.now();
    const flapEnd = Math.ceil(Date.now() / 1000);
    const during = await lab.request('h1', `/events?since=${flapStart}&until=${flapEnd}&filters=${encodeURIComponent(filters)}`, { timeoutMs: 20_000 });
    assert.is(during.body.trim(), '', 'no task moved to h3 while it flapped');
    const again = await waitFor('web back to 2/2/2 after h3 stayed up', async () => {
      const q = perHost(await tasksOf(lab, 'web'), hostOf);
      return q.h1 === 2 && q.h2 === 2 && q.h3 === 2 && (await tasksOf(lab, 'web')).filter((t) => t.DesiredState === 'running').length === 6 && q;
    }, 120_000, 250);
    const firstMove = await lab.request('h1', `/events?since=${flapEnd}&until=${Math.ceil(Date.now() / 1000)}&filters=${encodeURIComponent(filters)}`, { timeoutMs: 20_000 });
    const moves = firstMove.body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { timeNano: number; Actor: { Attributes: Record<string, string> } });
    console.log(`  after flapping: ${JSON.stringify(again)}; moves ${moves.map((m) => `${Math.round(m.timeNano / 1e6) - backAt} ms after h3 came back: ${m.Actor.Attributes.reason}`).join(' | ')}`);
    assert.ok(moves.length >= 2, 'tasks moved back once h3 stayed up');
    for (const m of moves) {
      // The leader saw h3 ready a poll and a request (under 1.5 s) before `backAt`; the settle time is 10 s.
      assert.ok(m.timeNano / 1e6 >= backAt + 8_500, 'not before the settle time');
      assert.match(m.Actor.Attributes.reason, /^h3 returned from down; /);
    }
  });
});

test.run();
