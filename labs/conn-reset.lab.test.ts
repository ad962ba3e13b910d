// Connections that stay up, on a 2-host lab (root, real runc containers; issue 22,
// item 4), with shortened timers: the client task's own established-connection timeout
// is cut to 20 s, and a TCP connection through the VIP to an echo server on the other
// host that stays idle 12 s still answers (Shoal's tables set no conntrack timeout of
// their own, so the host's governs, not an IPVS-like 900 s). Then the echo server's host
// drops off the network (no FIN or RST can come; a killed process would still send a
// FIN); once the client's VIP table counts the backend as gone
// (30 s out of rotation), the client's next send on the old connection is reset at once
// instead of hanging in retransmissions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Service, ServiceSpec } from '../src/api/types/service.ts';
import { withLab } from './lib/lab.ts';
import { lineReader } from './lib/line-reader.ts';
import { client, formSwarm, IMAGE, waitFor } from './lib/swarm-services.ts';
import { createNetwork, createService, intoTask, placedTasks } from './lib/swarm-net.ts';
import { idleConnArgv } from './lib/idle-conn.ts';

const spec = (name: string, host: string, net: string, command: string[]): ServiceSpec => ({
  Name: name, Labels: {}, Mode: { Replicated: { Replicas: 1 } },
  TaskTemplate: {
    ContainerSpec: { Image: IMAGE, Command: command, StopGracePeriod: 1e9 },
    Placement: { Constraints: [`node.hostname==${host}`] }, Networks: [{ Target: net }],
    RestartPolicy: { Condition: 'none' },
  },
} as ServiceSpec);


test('an idle connection through a VIP outlives a short timer; a dead backend\'s connection is reset, not left hanging', async () => {
  await withLab({ hosts: 2, prefix: 'shoaldevct' }, async (lab) => {
    const hostOf = await formSwarm(lab, { hosts: 2 });
    const net = await createNetwork(lab, 'ct');
    await createService(lab, spec('echo', 'h2', net, ['nc', '-ll', '-p', '7', '-e', 'cat']));
    await createService(lab, spec('cli', 'h1', net, ['sleep', '3600']));
    const [echo] = await placedTasks(lab, 'echo', hostOf, 1, net);
    const [cli] = await placedTasks(lab, 'cli', hostOf, 1, net);
    const svc = await client(lab, 'h1').get<Service>('/services/echo');
    const vip = svc.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === net)?.Addr.split('/')[0];
    assert.ok(vip, 'echo has a VIP');

    const inCli = [...lab.enterCommand('h1'), ...intoTask(cli)];
    const sysctl = await lab.exec('h1', [...intoTask(cli), 'sysctl', '-w', 'net.netfilter.nf_conntrack_tcp_timeout_established=20']);
    assert.is(sysctl.code, 0, sysctl.stderr);
    const sendFile = join(lab.baseDir, 'send-now');
    rmSync(sendFile, { force: true });
    rmSync(`${sendFile}.ping`, { force: true });
    const c = lineReader(idleConnArgv(inCli, [vip, 7, 12_000, sendFile, 20_000]));
    try {
      assert.equal(await c.next(40_000), { idleOk: true }, 'idle 12 s through the VIP, still answering');
      // Back to the host's default (the connection's next packet takes it), so the short
      // timer does not end the connection before the backend's death is seen.
      const back = await lab.exec('h1', [...intoTask(cli), 'sysctl', '-w', 'net.netfilter.nf_conntrack_tcp_timeout_established=432000']);
      assert.is(back.code, 0, back.stderr);
      writeFileSync(`${sendFile}.ping`, '');
      assert.equal(await c.next(10_000), { pingOk: true });

      // The echo server's host drops off the network: no FIN or RST can reach the client.
      await lab.partition('h2');
      const t0 = Date.now();
      await waitFor('the client\'s VIP table resets connections to the dead backend', async () => {
        const r = await lab.exec('h1', [...intoTask(cli), 'nft', 'list', 'set', 'ip', 'shoal-lb', 'vip_gone']);
        return r.stdout.includes(`${vip} . ${echo.ip}`);
      }, 90_000, 250);
      console.log(`  backend gone in the client's table ${Date.now() - t0} ms after its host dropped off`);
      writeFileSync(sendFile, '');
      const end = await c.next(30_000);
      console.log(`  the next send: ${JSON.stringify(end)}`);
      if (end.error !== 'ECONNRESET') {
        const dump = await lab.exec('h1', [...intoTask(cli), 'sh', '-c', 'nft list table ip shoal-lb; cat /proc/net/nf_conntrack 2>&1 | head']);
        console.log(dump.stdout, dump.stderr);
      }
      assert.is(end.error, 'ECONNRESET', 'reset, not a hang');
      assert.ok((end.ms as number) < 2000, `reset within 2 s (${String(end.ms)} ms)`);
    } finally {
      c.kill();
      rmSync(sendFile, { force: true });
      rmSync(`${sendFile}.ping`, { force: true });
    }
  });
});

test.run();
