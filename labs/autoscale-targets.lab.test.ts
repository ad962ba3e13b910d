// The autoscaler's memory and connection-rate targets on a 2-host lab (root, real runc
// containers; issue 18, item 6). Memory: each task of a service with a 64 MiB limit fills
// 36 MiB of its /dev/shm (tmpfs, charged to its cgroup) while a control file the test owns
// exists; the service grows past its minimum, then shrinks back once the file is gone and
// the tasks free it. Rate: a client in the lab switch's namespace opens HTTP connections
// to a published port (routing mesh) in a loop; the service grows on new TCP connections
// per second per task, and shrinks back once the client is stopped. (The CPU target has
// its own test in metrics.lab.test.ts.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceSpec } from '../src/api/types/service.ts';
import type { ApiError } from '../src/api/errors.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { client, formSwarm, IMAGE, waitFor, waitRunning } from './lib/swarm-services.ts';
import { BUSYBOX } from './lib/swarm-net.ts';
import { isAlive, waitExit } from './lib/procs.ts';

const PORT = 8093;

type Svc = { ID: string; Spec: { Mode: { Replicated: { Replicas: number } } }; ShoalAutoscale?: { Replicas: number; Reason: string } };

async function replicas(lab: Lab, name: string): Promise<Svc> {
  return client(lab, 'h1').get<Svc>(`/services/${name}`);
}

/** Turns autoscaling on through the CLI, as a person would. */
async function autoscale(lab: Lab, name: string, args: string[]): Promise<void> {
  const r = await lab.cli('h1', ['service', 'autoscale', name, '--min', '1', '--max', '3', '--window', '3s', '--cooldown', '3s', ...args]);
  assert.is(r.code, 0, r.stderr);
}

/** Waits for the service's replicas to satisfy `ok`; returns the service then. */
function waitReplicas(lab: Lab, name: string, what: string, ok: (n: number) => boolean, timeoutMs = 90_000): Promise<Svc> {
  let last = '';
  return waitFor(() => `${name} ${what} (last: ${last})`, async () => {
    const s = await replicas(lab, name);
    last = `${s.Spec.Mode.Replicated.Replicas} replicas, ${s.ShoalAutoscale?.Reason ?? 'no decision yet'}`;
    return ok(s.Spec.Mode.Replicated.Replicas) && s;
  }, timeoutMs, 500);
}

test('memory and connection-rate targets grow a service under load and shrink it after', async () => {
  const ctl = mkdtempSync(join(tmpdir(), 'shoalas-ctl-'));
  let clientPid: number | undefined;
  try {
    await withLab({ hosts: 2, prefix: 'shoalas' }, async (lab) => {
      await formSwarm(lab, { hosts: 2 });
      const h1 = client(lab, 'h1');

      // Memory: 36 MiB of tmpfs in a 64 MiB limit is ~57 % of it, above a 40 % target.
      writeFileSync(join(ctl, 'fill'), '');
      await h1.post('/services/create', {
        Name: 'mem', Labels: {}, Mode: { Replicated: { Replicas: 1 } },
        TaskTemplate: {
          ContainerSpec: {
            Image: IMAGE, StopGracePeriod: 1e9,
            Mounts: [{ Type: 'bind', Source: ctl, Target: '/ctl', ReadOnly: true }],
            Command: ['sh', '-c', 'while :; do if [ -e /ctl/fill ]; then [ -e /dev/shm/f ] || dd if=/dev/zero of=/dev/shm/f bs=1M count=36 2>/dev/null; else rm -f /dev/shm/f; fi; sleep 0.5; done'],
          },
          Resources: { Limits: { MemoryBytes: 64 * 2 ** 20 } },
        },
      } as ServiceSpec, { timeoutMs: 30_000 });
      // And a web service on the routing mesh, without a memory limit: a memory target is refused by name.
      await h1.post('/services/create', {
        Name: 'web', Labels: {}, Mode: { Replicated: { Replicas: 1 } },
        TaskTemplate: { ContainerSpec: { Image: IMAGE, StopGracePeriod: 1e9, Command: ['sh', '-c', 'mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 80 -h /www'] } },
        EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: PORT, PublishMode: 'ingress' }] },
      } as ServiceSpec, { timeoutMs: 30_000 });
      await waitRunning(lab, 'mem', 1);
      await waitRunning(lab, 'web', 1);
      const refused = await lab.cli('h1', ['service', 'autoscale', 'web', '--min', '1', '--max', '3', '--memory', '50']);
      assert.is.not(refused.code, 0, refused.stdout + refused.stderr);
      const said = (refused.stderr + refused.stdout).replace(/[\s›]+/g, ' ').trim(); // oclif wraps its error
      console.log(`  refused: ${said}`);
      assert.match(said, /com\.shoal\.autoscale\.memory: the service has no memory limit or reservation/);
      // The API refuses it too (a docker client setting the labels itself).
      const web = await h1.get<{ ID: string; Version: { Index: number }; Spec: ServiceSpec }>('/services/web');
      const labels = { 'com.shoal.autoscale.min': '1', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.memory': '50' };
      const err = await h1.post(`/services/${web.ID}/update`, { ...web.Spec, Labels: labels }, { query: { version: web.Version.Index } }).then(() => undefined, (e: ApiError) => e);
      assert.is(err?.status, 400, 'memory target without a basis: 400');
      assert.match(err!.message, /invalid ServiceSpec: Labels: com\.shoal\.autoscale\.memory: the service has no memory limit or reservation/);

      await autoscale(lab, 'mem', ['--memory', '40']);
      const grown = await waitReplicas(lab, 'mem', 'to grow on memory', (n) => n > 1);
      console.log(`  memory: ${grown.ShoalAutoscale?.Reason}`);
      assert.match(grown.ShoalAutoscale!.Reason, /^memory [\d.]+% of target 40%: above target for 3s, 1 -> [23] replicas$/);
      rmSync(join(ctl, 'fill'));
      const shrunk = await waitReplicas(lab, 'mem', 'to shrink once the tasks freed their memory', (n) => n === 1);
      console.log(`  memory: ${shrunk.ShoalAutoscale?.Reason}`);
      assert.match(shrunk.ShoalAutoscale!.Reason, /^memory [\d.]+% of target 40%: below target for 3s, \d -> 1 replicas$/);

      // Rate: a client outside the hosts opens a new connection every ~50 ms through h1's mesh port.
      await autoscale(lab, 'web', ['--rps', '4']);
      const loop = `while :; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | ${BUSYBOX} nc -w 2 ${lab.address('h1')} ${PORT} >/dev/null 2>&1; sleep 0.05; done`;
      const c = spawn('nsenter', [`--net=/run/netns/${lab.names.switchNetns}`, 'sh', '-c', loop], { detached: true, stdio: 'ignore' });
      clientPid = c.pid;
      const busy = await waitReplicas(lab, 'web', 'to grow on connections per second', (n) => n > 1);
      console.log(`  rps: ${busy.ShoalAutoscale?.Reason}`);
      assert.match(busy.ShoalAutoscale!.Reason, /^rps [\d.]+ per task of target 4: above target for 3s, 1 -> [23] replicas$/);
      stopClient(clientPid);
      assert.ok(await waitExit(clientPid!, 5000), 'the client stopped');
      clientPid = undefined;
      const idle = await waitReplicas(lab, 'web', 'to shrink once the client stopped', (n) => n === 1);
      console.log(`  rps: ${idle.ShoalAutoscale?.Reason}`);
      assert.match(idle.ShoalAutoscale!.Reason, /^rps [\d.]+ per task of target 4: below target for 3s, \d -> 1 replicas$/);
    });
  } finally {
    if (clientPid !== undefined) stopClient(clientPid);
    rmSync(ctl, { recursive: true, force: true });
  }
});

/** Kills the client loop's process group (the shell this test started and its nc children). */
function stopClient(pid: number | undefined): void {
  if (!pid || !isAlive(pid)) return;
  try { process.kill(-pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
}

test.run();
