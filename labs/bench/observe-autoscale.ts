/**
 * The memory and connection-rate twins of `observe`'s `autoscale_react_ms`, on the same
 * one-host lab, each with `--min 1 --max 3 --window 3s --cooldown 3s`:
 *   autoscale_memory_react_ms  a task filling 36 MiB of /dev/shm in a 64 MiB limit
 *                              (target 40 %): its first task running to the first task
 *                              the autoscaler added running
 *   autoscale_rps_react_ms     an httpd task on the routing mesh (target 4 new connections
 *                              per second per task) and a client in the lab switch's
 *                              namespace opening ~15 a second: the client's start to the
 *                              first task the autoscaler added running
 * Each service is removed afterwards; the client is killed by its process group.
 */
import { spawn } from 'node:child_process';
import type { Lab } from '../lib/lab.ts';
import { isAlive } from '../lib/procs.ts';
import { client, IMAGE, tasksOf, waitFor, waitRunning } from '../lib/swarm-services.ts';
import { BUSYBOX } from '../lib/swarm-net.ts';
import type { ServiceSpec } from '../../src/api/types/service.ts';

const PORT = 8094;
const POLICY = { 'com.shoal.autoscale.min': '1', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.window': '3s', 'com.shoal.autoscale.cooldown': '3s' };

/** Waits for a second running task (the autoscaler may add one or two at once). */
async function waitGrown(lab: Lab, service: string): Promise<void> {
  await waitFor(`a task added to ${service}`, async () => (await tasksOf(lab, service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').length >= 2, 60_000, 100);
}

/** `autoscale_memory_react_ms` and `autoscale_rps_react_ms` (see the module comment). */
export async function measureAutoscaleTargets(lab: Lab): Promise<Record<string, number>> {
  const h1 = client(lab, 'h1');
  const mem = await h1.post<{ ID: string }>('/services/create', {
    Name: 'memhog', Mode: { Replicated: { Replicas: 1 } }, Labels: { ...POLICY, 'com.shoal.autoscale.memory': '40' },
    TaskTemplate: {
      ContainerSpec: { Image: IMAGE, StopGracePeriod: 1e9, Command: ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/f bs=1M count=36 2>/dev/null; exec sleep 3600'] },
      Resources: { Limits: { MemoryBytes: 64 * 2 ** 20 } },
    },
  } as ServiceSpec);
  await waitRunning(lab, 'memhog', 1, 'h1', 60_000);
  let t0 = Date.now();
  await waitGrown(lab, 'memhog');
  const memoryMs = Date.now() - t0;
  await h1.delete(`/services/${mem.ID}`);
  console.log(`observe: autoscaler added a running task ${memoryMs} ms after memory went over target (window 3000 ms)`);

  const web = await h1.post<{ ID: string }>('/services/create', {
    Name: 'conns', Mode: { Replicated: { Replicas: 1 } }, Labels: { ...POLICY, 'com.shoal.autoscale.rps': '4' },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, StopGracePeriod: 1e9, Command: ['sh', '-c', 'mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 80 -h /www'] } },
    EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: PORT, PublishMode: 'ingress' }] },
  } as ServiceSpec);
  await waitRunning(lab, 'conns', 1, 'h1', 60_000);
  const loop = `while :; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | ${BUSYBOX} nc -w 2 ${lab.address('h1')} ${PORT} >/dev/null 2>&1; sleep 0.05; done`;
  const c = spawn('nsenter', [`--net=/run/netns/${lab.names.switchNetns}`, 'sh', '-c', loop], { detached: true, stdio: 'ignore' });
  let rpsMs: number;
  try {
    t0 = Date.now();
    await waitGrown(lab, 'conns');
    rpsMs = Date.now() - t0;
  } finally {
    if (c.pid && isAlive(c.pid)) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
    await h1.delete(`/services/${web.ID}`);
  }
  console.log(`observe: autoscaler added a running task ${rpsMs} ms after the client started (window 3000 ms)`);
  return { autoscale_memory_react_ms: memoryMs, autoscale_rps_react_ms: rpsMs };
}
