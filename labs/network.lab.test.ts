// Overlay networks on a 3-host swarm (root): tasks of one service reach each other across
// hosts, two services on one network reach each other, a task on another network is
// unreachable, and the embedded DNS answers inside the tasks (service → VIP, tasks.NAME →
// task addresses, dnsrr service → task addresses, unknown → NXDOMAIN, names of other
// networks → NXDOMAIN). Networks are made and removed with the shoal CLI, and with the
// stock docker CLI at the end. Checks run the
// host's busybox inside a task's netns (`nsenter --net=/run/netns/t-<task id 12>` inside
// its lab host), or `runc exec` in the container where its own files matter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Network } from '../src/api/types/network.ts';
import type { Node } from '../src/api/types/node.ts';
import type { Service } from '../src/api/types/service.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { run } from './lib/procs.ts';
import {
  BUSYBOX, createNetwork, createService, eventually, httpFromSwitch, httpGet, inContainer, inTask, nslookup, placedTasks, WEB_COMMAND, webSpec,
  type PlacedTask,
} from './lib/swarm-net.ts';
import { allRunningContainers, client, formSwarm, IMAGE, waitFor } from './lib/swarm-services.ts';

const ok = async (lab: Lab, args: string[]) => {
  const r = await lab.cli('h1', args, { timeoutMs: 120_000 });
  assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

const byHost = (ts: PlacedTask[]) => Object.fromEntries(ts.map((t) => [t.host, t]));

test('overlay: cross-host and cross-service traffic, isolation between networks, DNS inside tasks', async () => {
  await withLab({ hosts: 3, prefix: 'shoalnw' }, async (lab) => {
    const hostOf = await formSwarm(lab);

    // Networks: `front` through the CLI, `back` through the API; `ingress` exists since init.
    const frontId = (await ok(lab, ['network', 'create', '--driver', 'overlay', 'front'])).trim();
    assert.match(frontId, /^[0-9a-z]{12,}$/, 'network create prints the ID');
    const backId = await createNetwork(lab, 'back');
    const ls = await ok(lab, ['network', 'ls']);
    for (const n of ['front', 'back', 'ingress']) assert.match(ls, new RegExp(`\\b${n}\\s+overlay\\s+swarm`), ls);
    // The leader's allocator gives the network its subnet right after the create.
    const front = await waitFor('front has its subnet', async () => {
      const [n] = JSON.parse(await ok(lab, ['network', 'inspect', 'front'])) as { Id: string; IPAM: { Config: { Subnet: string }[] } }[];
      return n.IPAM.Config[0]?.Subnet ? n : undefined;
    }, 10_000);
    assert.is(front.Id, frontId);
    assert.match(front.IPAM.Config[0].Subnet, /^10\.\d+\.\d+\.0\/24$/, 'an allocated /24');
    const backSubnet = await waitFor('back has its subnet', async () =>
      (await client(lab, 'h1').get<Network & { IPAM?: { Config: { Subnet: string }[] } }>(`/networks/${backId}`)).IPAM?.Config[0]?.Subnet, 10_000);
    assert.is.not(backSubnet, front.IPAM.Config[0].Subnet, 'distinct subnets');

    await createService(lab, webSpec('web', { networks: [frontId], replicas: 3 }));
    await createService(lab, webSpec('api', { networks: [frontId], constraints: ['node.hostname==h3'] }));
    await createService(lab, webSpec('rr', { networks: [frontId], replicas: 2, endpointMode: 'dnsrr' }));
    await createService(lab, webSpec('db', { networks: [backId], constraints: ['node.hostname==h2'] }));
    const web = await placedTasks(lab, 'web', hostOf, 3, frontId);
    const [api] = await placedTasks(lab, 'api', hostOf, 1, frontId);
    const rr = await placedTasks(lab, 'rr', hostOf, 2, frontId);
    const [db] = await placedTasks(lab, 'db', hostOf, 1, backId);
    const w = byHost(web);
    assert.equal(Object.keys(w).sort(), ['h1', 'h2', 'h3'], 'one web task per host');
    for (const t of [...web, api, ...rr]) assert.ok(t.ip.startsWith(front.IPAM.Config[0].Subnet.split('.').slice(0, 3).join('.') + '.'), `${t.ip} in front's subnet`);

    // Tasks of one service on different hosts: ping and HTTP both ways (the answer names the container).
    await eventually('web on h1 reaches web on h2', async () => (await httpGet(lab, w.h1, w.h2.ip)) === w.h2.hostname);
    for (const [a, b] of [['h1', 'h3'], ['h2', 'h1'], ['h3', 'h2']]) {
      assert.is(await httpGet(lab, w[a], w[b].ip), w[b].hostname, `HTTP web@${a} → web@${b}`);
      const ping = await inTask(lab, w[a], [BUSYBOX, 'ping', '-c', '1', '-W', '2', w[b].ip]);
      assert.is(ping.code, 0, `ping web@${a} → web@${b}: ${ping.stdout}${ping.stderr}`);
    }
    // The overlay's MTU leaves room for VXLAN.
    // (ip reads it over netlink: /sys still shows the lab host's own devices)
    const mtu = await inTask(lab, w.h1, ['ip', '-o', 'link', 'show', 'eth0']);
    assert.match(mtu.stdout, / mtu 1450 /, `eth0: ${mtu.stdout}${mtu.stderr}`);
    // A full-size packet (1422 bytes of payload = 1450 on the wire) crosses hosts.
    const big = await inTask(lab, w.h1, [BUSYBOX, 'ping', '-c', '1', '-W', '2', '-s', '1422', w.h3.ip]);
    assert.is(big.code, 0, `full-MTU ping across hosts: ${big.stdout}${big.stderr}`);

    // Two services on one network, both ways.
    assert.is(await httpGet(lab, w.h1, api.ip), api.hostname, 'web → api');
    assert.is(await httpGet(lab, api, w.h2.ip), w.h2.hostname, 'api → web');

    // Isolation: db (on back, on h2) and web (on front) do not reach each other, not even on one host.
    assert.is(await httpGet(lab, w.h2, db.ip), '', 'web@h2 must not reach db@h2 (other network)');
    assert.is(await httpGet(lab, w.h1, db.ip), '', 'web@h1 must not reach db (other network)');
    assert.is(await httpGet(lab, db, w.h2.ip), '', 'db must not reach web@h2');
    assert.is(await httpGet(lab, db, w.h3.ip), '', 'db must not reach web@h3');
    // DNS at 127.0.0.11 inside the tasks.
    const svc = await client(lab, 'h1').get<Service>('/services/web');
    const vip = svc.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === frontId)?.Addr;
    assert.ok(vip, `web has a VIP on front: ${JSON.stringify(svc.Endpoint)}`);
    const vipAddr = vip!.split('/')[0];
    await eventually('DNS answers web in a task', async () => (await nslookup(lab, api, 'web')).addresses.includes(vipAddr));
    assert.equal((await nslookup(lab, api, 'web')).addresses, [vipAddr], 'web → its VIP only');
    assert.equal((await nslookup(lab, api, 'tasks.web')).addresses, web.map((t) => t.ip).sort(), 'tasks.web → every task');
    assert.equal((await nslookup(lab, w.h2, 'rr')).addresses, rr.map((t) => t.ip).sort(), 'dnsrr service → its tasks');
    assert.equal((await nslookup(lab, w.h2, 'tasks.rr')).addresses, rr.map((t) => t.ip).sort(), 'tasks.rr → its tasks');
    const unknown = await nslookup(lab, w.h1, 'nope');
    assert.match(unknown.out, /NXDOMAIN/, `unknown name: ${unknown.out}`);
    const other = await nslookup(lab, w.h1, 'db');
    assert.match(other.out, /NXDOMAIN/, `a service of another network: ${other.out}`);
    assert.equal((await nslookup(lab, db, 'db')).addresses.length, 1, 'db resolves on its own network');
    assert.match((await nslookup(lab, db, 'web')).out, /NXDOMAIN/, 'web is not on back');

    // Inside the container itself (its resolv.conf, its busybox): names work end to end.
    const conf = await inContainer(lab, api, ['cat', '/etc/resolv.conf']);
    assert.match(conf.stdout, /^nameserver 127\.0\.0\.11$/m, `resolv.conf: ${conf.stdout}${conf.stderr}`);
    const byName = await inContainer(lab, api, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 rr 80 | tail -n 1`]);
    assert.ok(rr.some((t) => t.hostname === byName.stdout.trim()), `nc rr 80 in the container answered ${JSON.stringify(byName.stdout)} ${byName.stderr}`);

    // A network in use cannot go; once its service is gone it can.
    const busy = await lab.cli('h1', ['network', 'rm', 'back']);
    assert.is.not(busy.code, 0, 'rm of a network in use fails');
    assert.match(busy.stderr, /in use|active endpoints/i, busy.stderr);
    await client(lab, 'h1').delete('/services/db');
    await waitFor('db stopped', async () => ![...(await allRunningContainers(lab)).values()].flat().includes(db.task.Status.ContainerStatus!.ContainerID), 30_000);
    await waitFor('back removable', async () => (await lab.cli('h1', ['network', 'rm', 'back'])).code === 0, 30_000);
    assert.not.match(await ok(lab, ['network', 'ls']), /\bback\b/);

    await dockerCliPhase(lab);
  });
});

test('tasks of two networks on one host do not reach each other through the way-out bridge', async () => {
  // Every task with networks also gets an address on the host's gateway bridge (its way
  // out, as Docker's docker_gwbridge); Docker turns inter-container traffic off there
  // (enable_icc=false), so that bridge never joins two networks.
  await withLab({ hosts: 3, prefix: 'shoalnw' }, async (lab) => {
    const hostOf = await formSwarm(lab);
    const a = await createNetwork(lab, 'neta');
    const b = await createNetwork(lab, 'netb');
    await createService(lab, webSpec('wa', { networks: [a], constraints: ['node.hostname==h2'] }));
    await createService(lab, webSpec('wb', { networks: [b], constraints: ['node.hostname==h2'] }));
    const [wa] = await placedTasks(lab, 'wa', hostOf, 1, a);
    const [wb] = await placedTasks(lab, 'wb', hostOf, 1, b);
    const otherAddrs = async (t: PlacedTask) => [...(await inTask(lab, t, ['ip', '-4', '-o', 'addr', 'show'])).stdout.matchAll(/ inet (\d+\.\d+\.\d+\.\d+)\//g)]
      .map((m) => m[1]).filter((x) => x !== t.ip && !x.startsWith('127.'));
    const [aOther, bOther] = [await otherAddrs(wa), await otherAddrs(wb)];
    console.log(`  wa: ${wa.ip} + ${aOther.join(' ') || 'none'}; wb: ${wb.ip} + ${bOther.join(' ') || 'none'}`);
    assert.is(await httpGet(lab, wa, wb.ip), '', 'wa must not reach wb on its overlay address');
    for (const x of bOther) assert.is(await httpGet(lab, wa, x), '', `wa must not reach wb at ${x}`);
    for (const x of aOther) assert.is(await httpGet(lab, wb, x), '', `wb must not reach wa at ${x}`);
  });
});

/** The stock docker CLI on the same API: network create/ls/rm, service create --network -p. */
async function dockerCliPhase(lab: Lab): Promise<void> {
  // The stock client is part of what is tested (as in labs/test/docker-client-*.test.ts): no skip without it.
  assert.is((await run('docker', ['--version']).catch(() => ({ code: -1 }))).code, 0, 'the docker CLI is installed');
  const docker = async (args: string[]) => {
    const r = await run('env', [`DOCKER_HOST=${lab.dockerHost('h1')}`, 'docker', ...args], { timeoutMs: 120_000 });
    assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await docker(['network', 'create', '-d', 'overlay', 'dnet']);
  assert.match(await docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']), /^dnet overlay swarm$/m);
  await docker(['service', 'create', '--detach', '--name', 'dweb', '--network', 'dnet', '--replicas', '2', '-p', '8090:80', '--stop-grace-period', '1s', IMAGE, ...WEB_COMMAND]);
  const hostOf = new Map((await client(lab, 'h1').get<Node[]>('/nodes')).map((n) => [n.ID, n.Description.Hostname]));
  const tasks = await placedTasks(lab, 'dweb', hostOf, 2);
  const names = new Set(tasks.map((t) => t.hostname));
  await eventually('h3:8090 answers', async () => names.has((await httpFromSwitch(lab, lab.address('h3'), 8090, 1))[0]), 15_000);
  await docker(['service', 'rm', 'dweb']);
  await waitFor('dnet removable', async () => (await run('env', [`DOCKER_HOST=${lab.dockerHost('h1')}`, 'docker', 'network', 'rm', 'dnet'])).code === 0, 30_000);
}

test.run();
