// Service VIPs and dnsrr on a 3-host swarm (root): requests to a service's VIP from a
// client task spread over the replicas on every host; a dnsrr service has no VIP and its
// name rotates over the task addresses; after a scale-down no request reaches a removed
// task once 1 s has passed, and none fails. Requests are busybox `nc` run inside the
// client task's netns (host busybox, `nsenter --net=/run/netns/t-<task id 12>`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Service } from '../src/api/types/service.ts';
import { withLab } from './lib/lab.ts';
import { sleep } from './lib/procs.ts';
import {
  createNetwork, createService, eventually, httpGet, httpMany, inContainer, nslookup, placedTasks, tally, webSpec,
} from './lib/swarm-net.ts';
import { client, formSwarm, scale, tasksOf, waitFor } from './lib/swarm-services.ts';

test('a VIP spreads requests over replicas on every host; dnsrr rotates; a scale-down leaves the rotation within 1 s', async () => {
  await withLab({ hosts: 3, prefix: 'shoalnv' }, async (lab) => {
    const hostOf = await formSwarm(lab);
    const net = await createNetwork(lab, 'front');
    await createService(lab, webSpec('web', { networks: [net], replicas: 3 }));
    await createService(lab, webSpec('rr', { networks: [net], replicas: 3, endpointMode: 'dnsrr' }));
    await createService(lab, webSpec('client', { networks: [net], command: ['sleep', '86400'], constraints: ['node.hostname==h1'] }));
    const web = await placedTasks(lab, 'web', hostOf, 3, net);
    const rr = await placedTasks(lab, 'rr', hostOf, 3, net);
    const [cl] = await placedTasks(lab, 'client', hostOf, 1, net);
    assert.equal(web.map((t) => t.host).sort(), ['h1', 'h2', 'h3'], 'web: one task per host');

    const svc = await client(lab, 'h1').get<Service>('/services/web');
    const vip = svc.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === net)?.Addr?.split('/')[0];
    assert.ok(vip, `web has a VIP: ${JSON.stringify(svc.Endpoint)}`);
    assert.ok(!web.some((t) => t.ip === vip), 'the VIP is no task address');
    const rrSvc = await client(lab, 'h1').get<Service>('/services/rr');
    assert.equal(rrSvc.Endpoint?.VirtualIPs ?? [], [], 'a dnsrr service has no VIP');

    // 60 requests through the VIP: every one answered, each replica at least 5 times.
    await eventually('the VIP answers', async () => (await httpGet(lab, cl, vip!)) !== '');
    const answers = await httpMany(lab, cl, vip!, 80, 60);
    const count = tally(answers);
    console.log(`  VIP spread over 60 requests: ${web.map((t) => `${t.host}=${count.get(t.hostname) ?? 0}`).join(' ')}`);
    assert.is(count.get('') ?? 0, 0, `every request answered: ${JSON.stringify([...count])}`);
    for (const t of web) assert.ok((count.get(t.hostname) ?? 0) >= 5, `web@${t.host} answered ${count.get(t.hostname) ?? 0} of 60`);
    assert.is(answers.length, 60);

    // By name inside the container (its resolv.conf → 127.0.0.11 → the VIP).
    const byName = await inContainer(lab, cl, ['sh', '-c', `for i in 1 2 3 4 5 6; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 web 80 | tail -n 1; done`]);
    const named = byName.stdout.trim().split('\n');
    assert.is(named.length, 6, `6 answers by name: ${byName.stdout}${byName.stderr}`);
    assert.ok(named.every((h) => web.some((t) => t.hostname === h)), `answers by name come from web tasks: ${named}`);

    // dnsrr: the name gives the task addresses, rotated from one answer to the next (a
    // glibc client sorts them again, so rotation is checked on the answers themselves);
    // each task answers on its own address, and by name from the container.
    const rrIps = rr.map((t) => t.ip).sort();
    const firsts = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await nslookup(lab, cl, 'rr');
      assert.equal(r.addresses, rrIps, `rr → its task addresses: ${r.out}`);
      firsts.add(r.order[0]);
    }
    assert.ok(firsts.size >= 2, `the answers rotate: first addresses seen ${[...firsts]}`);
    for (const t of rr) assert.is(await httpGet(lab, cl, t.ip), t.hostname, `rr task on ${t.host}`);
    const rrByName = await inContainer(lab, cl, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 rr 80 | tail -n 1`]);
    assert.ok(rr.some((t) => t.hostname === rrByName.stdout.trim()), `nc rr 80 answered ${JSON.stringify(rrByName.stdout)} ${rrByName.stderr}`);

    // Scale-down 3 → 1: once the orchestrator has stopped the others, 1 s later no request
    // reaches them, and none fails.
    await scale(lab, 'web', 1);
    const removed = await waitFor('2 web tasks no longer wanted', async () => {
      const ts = await tasksOf(lab, 'web');
      const gone = ts.filter((t) => t.DesiredState !== 'running');
      return gone.length === 2 && gone;
    }, 30_000);
    const removedNames = new Set(removed.map((t) => t.Status.ContainerStatus?.ContainerID?.slice(0, 12)));
    await sleep(1000);
    const after = await httpMany(lab, cl, vip!, 80, 30);
    const afterCount = tally(after);
    console.log(`  after the scale-down: ${JSON.stringify(Object.fromEntries(afterCount))}`);
    assert.is(afterCount.get('') ?? 0, 0, 'no request fails after the scale-down');
    assert.ok(after.every((h) => !removedNames.has(h)), `no request reaches a removed task: ${[...afterCount.keys()]}`);
    const [kept] = await placedTasks(lab, 'web', hostOf, 1, net);
    assert.equal([...afterCount.keys()], [kept.hostname], 'the remaining task answers all');
    assert.equal((await nslookup(lab, cl, 'tasks.web')).addresses, [kept.ip], 'tasks.web lists only the remaining task');
  });
});

test.run();
