// The data plane through failures on a 3-host swarm (root): a worker's daemon killed with
// SIGKILL and started again (its containers and their netns stay) keeps serving DNS in its
// tasks and the VIP keeps all replicas; a host lost (daemon and containers killed) leaves
// the VIP's rotation once its task is rescheduled, and the published port keeps answering
// on the surviving nodes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service } from '../src/api/types/service.ts';
import { withLab } from './lib/lab.ts';
import {
  createNetwork, createService, eventually, httpFromSwitch, httpGet, httpMany, nslookup, placedTasks, tally, webSpec,
} from './lib/swarm-net.ts';
import { client, formSwarm, waitFor } from './lib/swarm-services.ts';

test('a daemon restart keeps DNS and the VIP; a lost host leaves the rotation once its task moved', async () => {
  await withLab({ hosts: 3, prefix: 'shoalnf' }, async (lab) => {
    const hostOf = await formSwarm(lab);
    const net = await createNetwork(lab, 'front');
    await createService(lab, webSpec('web', {
      networks: [net], replicas: 3, ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }],
    }));
    await createService(lab, webSpec('client', { networks: [net], command: ['sleep', '86400'], constraints: ['node.hostname==h1'] }));
    const web = await placedTasks(lab, 'web', hostOf, 3, net);
    const [cl] = await placedTasks(lab, 'client', hostOf, 1, net);
    const svc = await client(lab, 'h1').get<Service>('/services/web');
    const vip = svc.Endpoint!.VirtualIPs!.find((v) => v.NetworkID === net)!.Addr.split('/')[0];
    const w2 = web.find((t) => t.host === 'h2')!;
    await eventually('the VIP answers', async () => (await httpGet(lab, cl, vip)) !== '');
    await eventually('DNS answers in web@h2', async () => (await nslookup(lab, w2, 'web')).addresses.includes(vip));

    // h2's daemon killed and started again: its task keeps running and its netns stays.
    const pid = lab.daemonPid('h2')!;
    process.kill(pid, 'SIGKILL');
    await waitFor('h2 daemon gone', async () => lab.daemonPid('h2') === undefined, 10_000);
    await lab.startDaemon('h2');
    await eventually('DNS answers in web@h2 after the restart', async () => (await nslookup(lab, w2, 'web')).addresses.includes(vip), 15_000);
    assert.equal((await nslookup(lab, w2, 'tasks.web')).addresses, web.map((t) => t.ip).sort(), 'tasks.web after the restart');
    assert.is(await httpGet(lab, w2, web.find((t) => t.host === 'h3')!.ip), web.find((t) => t.host === 'h3')!.hostname, 'web@h2 → web@h3 after the restart');
    const again = await placedTasks(lab, 'web', hostOf, 3, net);
    assert.equal(again.map((t) => t.id).sort(), web.map((t) => t.id).sort(), 'the same tasks run');
    const spread = tally(await httpMany(lab, cl, vip, 80, 30));
    assert.is(spread.get('') ?? 0, 0, 'no request fails after the restart');
    assert.is(spread.get(w2.hostname) !== undefined, true, `web@h2 still in the VIP's rotation: ${JSON.stringify(Object.fromEntries(spread))}`);

    // h3 lost: its task moves; once it runs elsewhere, no request goes to the lost one.
    const w3 = web.find((t) => t.host === 'h3')!;
    await lab.killDaemon('h3');
    const moved = await waitFor('3 web tasks running on h1 and h2', async () => {
      const ts = await placedTasks(lab, 'web', hostOf, 3, net, 5_000).catch(() => undefined);
      return ts?.every((t) => t.host !== 'h3') && ts;
    }, 60_000);
    const names = new Set(moved.map((t) => t.hostname));
    await eventually('the VIP answers only from the running tasks', async () => {
      const answers = await httpMany(lab, cl, vip, 80, 6);
      return answers.every((a) => names.has(a));
    }, 5_000);
    const after = await httpMany(lab, cl, vip, 80, 30);
    assert.ok(after.every((a) => names.has(a)), `every request answered by a running task, none by ${w3.hostname}: ${JSON.stringify(Object.fromEntries(tally(after)))}`);
    for (const h of ['h1', 'h2']) {
      const out = await httpFromSwitch(lab, lab.address(h), 8080, 6);
      assert.ok(out.every((a) => names.has(a)), `${h}:8080 answered by running tasks: ${out}`);
    }
  });
});

test.run();
