// Published ports on a 3-host swarm (root), seen by a client outside every host (the lab
// switch's netns): an ingress-mode port answers on EVERY node's address, also on nodes
// without a task of the service; a port left out is taken from 30000–32767; a host-mode
// port answers only on its task's node; a UDP port goes through the routing mesh too.
// Services are created with the shoal CLI (`-p`, `--publish …`) and the API.
import { spawn, type ChildProcess } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service } from '../src/api/types/service.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { probe, probeArgv } from './lib/netprobe.ts';
import { createService, eventually, httpFromSwitch, placedTasks, tally, WEB_COMMAND, webSpec, type PlacedTask } from './lib/swarm-net.ts';
import { client, formSwarm, IMAGE } from './lib/swarm-services.ts';

const HOSTS = ['h1', 'h2', 'h3'];

async function cliOk(lab: Lab, args: string[]): Promise<string> {
  const r = await lab.cli('h1', args, { timeoutMs: 120_000 });
  assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A UDP echo (answering the task's hostname) inside a task's netns; killed by PID by the caller. */
async function udpEcho(lab: Lab, t: PlacedTask, port: number): Promise<ChildProcess> {
  const [cmd, ...args] = probeArgv(lab.enterCommand(t.host), { netns: t.netns }, ['udp-echo', String(port), t.hostname]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`udp echo in ${t.netns} did not start`)), 20_000);
    child.stdout!.once('data', () => { clearTimeout(timer); ok(); });
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`udp echo in ${t.netns} exited (${code})`)); });
  });
  return child;
}

test('published ports: the routing mesh on every node, a port from the range, host mode, UDP', async () => {
  await withLab({ hosts: 3, prefix: 'shoalnm' }, async (lab) => {
    const hostOf = await formSwarm(lab);
    const echoes: ChildProcess[] = [];
    try {
      // Ingress mode, tasks only on h2: every node's address answers, h1 and h3 through the mesh.
      await cliOk(lab, ['service', 'create', '--name', 'pub', '--replicas', '2', '--constraint', 'node.hostname==h2', '-p', '8080:80', '--stop-grace-period', '1s', '--', IMAGE, ...WEB_COMMAND]);
      const pub = await placedTasks(lab, 'pub', hostOf, 2);
      assert.ok(pub.every((t) => t.host === 'h2'), 'tasks on h2 only');
      const svc = await client(lab, 'h1').get<Service>('/services/pub');
      assert.equal(svc.Endpoint?.Ports?.map((p) => [p.Protocol, p.TargetPort, p.PublishedPort, p.PublishMode]), [['tcp', 80, 8080, 'ingress']]);
      assert.ok(svc.Endpoint?.VirtualIPs?.length, 'a VIP on the ingress network');
      const names = new Set(pub.map((t) => t.hostname));
      await eventually('h1:8080 answers', async () => names.has((await httpFromSwitch(lab, lab.address('h1'), 8080, 1))[0]), 15_000);
      for (const h of HOSTS) {
        const answers = await httpFromSwitch(lab, lab.address(h), 8080, 12);
        const count = tally(answers);
        console.log(`  ${h}:8080 → ${JSON.stringify(Object.fromEntries(count))}`);
        assert.ok(answers.every((a) => names.has(a)), `every request to ${h}:8080 answered by a pub task: ${answers}`);
        assert.is(count.size, 2, `${h}:8080 spreads over both tasks`);
      }

      // A port left out comes from 30000–32767 and is published the same way.
      await cliOk(lab, ['service', 'create', '--name', 'auto', '--constraint', 'node.hostname==h3', '-p', '80', '--stop-grace-period', '1s', '--', IMAGE, ...WEB_COMMAND]);
      const [auto] = await placedTasks(lab, 'auto', hostOf, 1);
      const autoPort = (await client(lab, 'h1').get<Service>('/services/auto')).Endpoint?.Ports?.[0]?.PublishedPort ?? 0;
      assert.ok(autoPort >= 30000 && autoPort <= 32767, `published port ${autoPort} in 30000–32767`);
      await eventually(`h1:${autoPort} answers`, async () => (await httpFromSwitch(lab, lab.address('h1'), autoPort, 1))[0] === auto.hostname, 15_000);
      assert.equal(await httpFromSwitch(lab, lab.address('h2'), autoPort, 3), [auto.hostname, auto.hostname, auto.hostname]);

      // Host mode: only the task's node answers; the others refuse (no mesh for it).
      await cliOk(lab, ['service', 'create', '--name', 'hm', '--constraint', 'node.hostname==h3', '--publish', 'published=8081,target=80,mode=host', '--stop-grace-period', '1s', '--', IMAGE, ...WEB_COMMAND]);
      const [hm] = await placedTasks(lab, 'hm', hostOf, 1);
      await eventually('h3:8081 answers', async () => (await httpFromSwitch(lab, lab.address('h3'), 8081, 1))[0] === hm.hostname, 15_000);
      assert.equal(await httpFromSwitch(lab, lab.address('h1'), 8081, 2), ['', ''], 'h1:8081 does not answer (host mode)');
      assert.equal(await httpFromSwitch(lab, lab.address('h2'), 8081, 2), ['', ''], 'h2:8081 does not answer (host mode)');
      const hmTask = (await client(lab, 'h1').get<{ Status: { PortStatus?: { Ports?: { PublishedPort?: number; PublishMode?: string }[] } } }>(`/tasks/${hm.id}`));
      // As Docker, the task reports its host-mode port.
      assert.equal(hmTask.Status.PortStatus?.Ports?.map((p) => [p.PublishedPort, p.PublishMode]), [[8081, 'host']], 'the task reports its host port');

      // UDP through the mesh: a UDP echo inside each task's netns (busybox here has no UDP
      // server), asked from outside on every node's address.
      await createService(lab, webSpec('udp', {
        replicas: 2, constraints: ['node.hostname==h2'], command: ['sleep', '86400'],
        ports: [{ Protocol: 'udp', TargetPort: 5353, PublishedPort: 5353, PublishMode: 'ingress' }],
      }));
      const udp = await placedTasks(lab, 'udp', hostOf, 2);
      for (const t of udp) echoes.push(await udpEcho(lab, t, 5353));
      const udpNames = new Set(udp.map((t) => t.hostname));
      const sw = ['nsenter', `--net=/run/netns/${lab.names.switchNetns}`];
      await eventually('UDP h1:5353 answers', async () => {
        const r = await probe<{ answers: string[] }>(sw, {}, ['udp-ask', lab.address('h1'), '5353', '1']);
        return udpNames.has(r.answers[0]);
      }, 15_000);
      const udpSeen = new Set<string>();
      for (const h of HOSTS) {
        // Each datagram from a new socket (a new flow), so flows spread over both tasks.
        const r = await probe<{ answers: string[] }>(sw, {}, ['udp-ask', lab.address(h), '5353', '10', 'fresh']);
        console.log(`  udp ${h}:5353 → ${JSON.stringify(Object.fromEntries(tally(r.answers)))}`);
        assert.ok(r.answers.every((a) => udpNames.has(a)), `every datagram to ${h}:5353 answered by a udp task: ${r.answers}`);
        for (const a of r.answers) udpSeen.add(a);
      }
      assert.is(udpSeen.size, 2, 'UDP flows reach both tasks');
      // TCP 5353 is not published.
      assert.equal(await httpFromSwitch(lab, lab.address('h1'), 5353, 1), [''], 'tcp/5353 is not published');

      // Removing the service closes its port everywhere.
      await cliOk(lab, ['service', 'rm', 'pub']);
      await eventually('8080 closed on every node', async () => {
        for (const h of HOSTS) if ((await httpFromSwitch(lab, lab.address(h), 8080, 1, 1))[0] !== '') return false;
        return true;
      }, 15_000);
    } finally {
      for (const c of echoes) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
    }
  });
});

test.run();
