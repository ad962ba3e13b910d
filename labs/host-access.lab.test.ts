// Devices and privilege on services on a 2-host lab (root, real runc containers; issue
// 22, item 3), all through the `shoal` CLI: a loop device made for the test, given
// read-only to a task, is readable there and refuses writes (the device cgroup rule);
// a namespaced sysctl, a ulimit, the /dev/shm size and an init are what the task sees;
// a host-wide sysctl is refused at the API. h2 alone advertises `gpu=2`
// (`--node-generic-resource`): a service reserving 2 lands there, and a second one that
// does not fit stays pending with the scheduler's reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from '../src/api/types/node.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { defaultDaemonCommand } from './lib/daemon.ts';
import { client, formSwarm, IMAGE, tasksOf, waitFor, waitRunning } from './lib/swarm-services.ts';

const MARKER = 'shoaldev-marker-0123456789';

async function shoal(lab: Lab, args: string[]): Promise<string> {
  const r = await lab.cli('h1', args, { timeoutMs: 120_000 });
  assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The lines a service's tasks printed, once `until` appears in them. */
async function logsUntil(lab: Lab, service: string, until: string): Promise<string> {
  return waitFor(`"${until}" in the logs of ${service}`, async () => {
    const r = await lab.cli('h1', ['service', 'logs', '--raw', service]);
    return r.stdout.includes(until) && r.stdout;
  }, 60_000);
}

test('devices, sysctls, ulimits, shm, init and generic resources reach the tasks', async () => {
  const dir = execFileSync('mktemp', ['-d', '/tmp/shoaldev-XXXXXX'], { encoding: 'utf8' }).trim();
  let loop = '';
  try {
    const img = join(dir, 'disk.img');
    writeFileSync(img, Buffer.concat([Buffer.from(MARKER), Buffer.alloc(1024 * 1024 - MARKER.length)]));
    loop = execFileSync('losetup', ['--find', '--show', img], { encoding: 'utf8' }).trim();
    await withLab({
      hosts: 2, prefix: 'shoaldev',
      daemons: { command: (ctx) => defaultDaemonCommand(ctx, ctx.host === 'h2' ? ['--node-generic-resource', 'gpu=2'] : []) },
    }, async (lab) => {
      const hostOf = await formSwarm(lab, { hosts: 2 });

      // One task with every host-access setting, printing what it sees.
      const script = [
        'head -c 26 /dev/shoaldisk; echo',
        '(echo x > /dev/shoaldisk) 2>/dev/null && echo write-allowed || echo write-denied',
        'echo somaxconn=$(cat /proc/sys/net/core/somaxconn)',
        'echo nofile=$(ulimit -n)',
        'echo shm=$(df -k /dev/shm | tail -1 | awk \'{print $2}\')',
        'echo pid1=$(tr "\\0" " " < /proc/1/cmdline)',
        'echo done; sleep 3600',
      ].join('; ');
      await shoal(lab, [
        'service', 'create', '--detach', '--name', 'dev', '--constraint', 'node.hostname==h1',
        '--device', `${loop}:/dev/shoaldisk:r`, '--sysctl', 'net.core.somaxconn=777', '--ulimit', 'nofile=777:888',
        '--shm-size', '8m', '--init', IMAGE, 'sh', '-c', script,
      ]);
      const out = await logsUntil(lab, 'dev', 'done');
      console.log(`  task saw: ${out.trim().split('\n').join(' | ')}`);
      assert.ok(out.includes(MARKER), 'the device reads the loop file\'s content');
      assert.ok(out.includes('write-denied'), 'the r-only cgroup rule refuses writes');
      assert.ok(out.includes('somaxconn=777'), 'the namespaced sysctl is applied');
      assert.ok(out.includes('nofile=777'), 'the ulimit is applied');
      assert.ok(out.includes('shm=8192'), '/dev/shm is 8 MiB');
      assert.match(out, /pid1=\/sbin\/docker-init -- sh -c/, 'tini is PID 1 in front of the command');

      // A host-wide sysctl is refused before anything is stored.
      const bad = await lab.cli('h1', ['service', 'create', '--detach', '--name', 'bad', '--sysctl', 'vm.swappiness=1', IMAGE, 'true']);
      assert.is.not(bad.code, 0);
      assert.match(bad.stderr, /Sysctls\.vm\.swappiness.*not a namespaced sysctl/);

      // Generic resources: only h2 has gpus, and only 2 of them.
      const nodes = await client(lab, 'h1').get<Node[]>('/nodes');
      const h2 = nodes.find((n) => n.Description.Hostname === 'h2')!;
      assert.equal(h2.Description.Resources.GenericResources, [{ DiscreteResourceSpec: { Kind: 'gpu', Value: 2 } }]);
      await shoal(lab, ['service', 'create', '--detach', '--name', 'gpu', '--replicas', '2', '--generic-resource', 'gpu=1', IMAGE, 'sleep', '3600']);
      const gpu = await waitRunning(lab, 'gpu', 2);
      assert.equal(gpu.map((t) => hostOf.get(t.NodeID!)), ['h2', 'h2'], 'both gpu tasks on the node that has gpus');
      await shoal(lab, ['service', 'create', '--detach', '--name', 'gpu2', '--generic-resource', 'gpu=1', IMAGE, 'sleep', '3600']);
      const pending = await waitFor('the third gpu task pending with a reason', async () => {
        const ts = await tasksOf(lab, 'gpu2');
        return ts.length === 1 && ts[0].Status.State === 'pending' && /insufficient resources on 2 nodes/.test(ts[0].Status.Err ?? '') && ts[0];
      }, 30_000);
      console.log(`  gpu2: ${pending.Status.State}: ${pending.Status.Err}`);
      // Freeing one gpu lets it run, on h2.
      await shoal(lab, ['service', 'scale', '--detach', 'gpu=1']);
      const [placed] = await waitRunning(lab, 'gpu2', 1);
      assert.is(hostOf.get(placed.NodeID!), 'h2');
    });
  } finally {
    if (loop) try { execFileSync('losetup', ['-d', loop]); } catch { /* already gone */ }
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
