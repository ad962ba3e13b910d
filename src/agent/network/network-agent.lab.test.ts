// The network agent on two emulated hosts (root, real kernel): host namespaces h1, h2 and
// a client on an underlay bridge (192.168.100.0/24), one NetworkAgent per host (its
// "host" commands in that host's netns), fake tasks attached to overlay networks, and
// checks from inside the task namespaces: VXLAN across hosts, the embedded DNS, VIP
// spread and updates, isolation, the routing mesh on both hosts, restart and clean-up.
// Every namespace, link, table and process is this test's own and removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { allPids, cmdline, nsInode } from '../../../labs/lib/procs.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../api/types/task.ts';
import type { NodeNetworkView, ViewNetwork, ViewPublishedPort } from '../../wire/network-view-types.ts';
import { macFromIp } from '../../../net/overlay/index.ts';
import { nullLogger } from '../../common/logger.ts';
import { NetworkAgent, type NetworkAgentOptions } from './network-agent.ts';
import { NetworkAgentError } from './plan.ts';

const tag = `shoal-na${process.pid}`;
const NS = { sw: `${tag}-sw`, h1: `${tag}-h1`, h2: `${tag}-h2`, cl: `${tag}-cl` };
const HOST = { h1: '192.168.100.11', h2: '192.168.100.12' } as const;
const CLIENT = '192.168.100.9';
const prefix = { h1: `${tag}a-`, h2: `${tag}b-` };
const dataRoot = mkdtempSync(join(tmpdir(), 'shoal-na-'));
const wwwRoot = join(dataRoot, 'www');
const t = suite('network-agent');
const procs: ChildProcess[] = [];
const agents: Partial<Record<'h1' | 'h2', NetworkAgent>> = {};
const warnings: string[] = [];
/** h1's attach lines: how each task's first VIP table went (`vip.by`). */
const attached: Record<string, unknown>[] = [];
const h1Logger = {
  ...nullLogger, warn: (m: string) => { warnings.push(m); }, child: () => h1Logger,
  debug: (m: string, f?: Record<string, unknown>) => { if (m === 'network: task attached' && f) attached.push(f); },
};

// Networks: front and back (isolation), ingress (routing mesh).
const NET = {
  front: { id: 'frontnet0000000000000000a', subnet: '10.99.0.0/24', gateway: '10.99.0.1', vni: 4196 },
  back: { id: 'backnet00000000000000000b', subnet: '10.99.1.0/24', gateway: '10.99.1.1', vni: 4197 },
  ingress: { id: 'ingressnet00000000000000c', subnet: '10.99.255.0/24', gateway: '10.99.255.1', vni: 4198 },
};
type NetKey = keyof typeof NET;
const MTU = 1450;
const INGRESS_ADDR = { h1: '10.99.255.11', h2: '10.99.255.12' } as const;

/** The fake tasks: where they run, their network and address. */
const TASKS = {
  w1: { host: 'h1', net: 'front', ip: '10.99.0.5', service: 'web' },
  w2: { host: 'h2', net: 'front', ip: '10.99.0.6', service: 'web' },
  c1: { host: 'h1', net: 'front', ip: '10.99.0.7', service: 'client' },
  d1: { host: 'h2', net: 'back', ip: '10.99.1.5', service: 'db' },
  i1: { host: 'h1', net: 'ingress', ip: '10.99.255.5', service: 'pub' },
  hp: { host: 'h2', net: 'front', ip: '10.99.0.8', service: 'hostp' },
} as const;
type TaskKey = keyof typeof TASKS;
const VIP = { web: '10.99.0.2', client: '10.99.0.3', db: '10.99.1.2', pub: '10.99.255.2', hostp: '10.99.0.4' } as const;
const taskId = (k: TaskKey) => `${k}task00000000000000000000`;

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

function netnsList(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}

function fakeTask(k: TaskKey): Task {
  const d = TASKS[k];
  const n = NET[d.net];
  return {
    ID: taskId(k), Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: {} as Task['Spec'], ServiceID: `svc-${d.service}`,
    Slot: 1, Name: `${d.service}.1.${taskId(k)}`, Status: { Timestamp: '', State: 'assigned', Message: '' }, DesiredState: 'running',
    NetworksAttachments: [{
      // As the allocator sends it: the network's spec, which says ingress (its sandbox keeps a bridge).
      Network: { ID: n.id, Spec: { Name: d.net, Ingress: d.net === 'ingress' }, Allocation: { Subnet: n.subnet, Gateway: n.gateway, IPRange: n.subnet, VNI: n.vni, MTU } },
      Addresses: [`${d.ip}/24`],
    }],
    Endpoint: k === 'hp' ? {
      Spec: {},
      Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8090, PublishMode: 'host' }, { Protocol: 'tcp', TargetPort: 80, PublishMode: 'host' }],
    } : undefined,
  } as Task;
}

/** The view each host gets: `running` tasks are in DNS and VIP rotations; every task is a peer. */
function viewFor(host: 'h1' | 'h2', running: readonly TaskKey[], mesh: boolean, dropPeers: readonly TaskKey[] = []): NodeNetworkView {
  const network = (key: NetKey): ViewNetwork => {
    const n = NET[key];
    const mine = (Object.keys(TASKS) as TaskKey[]).filter((k) => TASKS[k].net === key);
    const peers: ViewNetwork['peers'] = mine.filter((k) => !dropPeers.includes(k)).map((k) => ({ ip: TASKS[k].ip, mac: macFromIp(TASKS[k].ip), vtep: HOST[TASKS[k].host] }));
    if (key === 'ingress') for (const h of ['h1', 'h2'] as const) peers.push({ ip: INGRESS_ADDR[h], mac: macFromIp(INGRESS_ADDR[h]), vtep: HOST[h] });
    const services = [...new Set(mine.map((k) => TASKS[k].service))].map((s) => ({
      id: `svc-${s}`, name: s, endpointMode: 'vip' as const, vip: VIP[s], aliases: [],
      tasks: mine.filter((k) => TASKS[k].service === s && running.includes(k)).map((k) => ({ name: `${s}.1.${taskId(k)}`, ip: TASKS[k].ip })),
    }));
    return { id: n.id, name: key, ingress: key === 'ingress', subnet: n.subnet, gateway: n.gateway, vni: n.vni, mtu: MTU, peers, services };
  };
  const ports: ViewPublishedPort[] = [{ service: 'pub', protocol: 'tcp', published: 8080, target: 80, backends: running.includes('i1') ? [TASKS.i1.ip] : [] }];
  return {
    vtep: HOST[host],
    networks: [network('front'), network('back'), ...(mesh ? [network('ingress')] : [])],
    ingress: mesh ? { networkId: NET.ingress.id, address: `${INGRESS_ADDR[host]}/24`, ports } : undefined,
  };
}

async function setViews(running: readonly TaskKey[], mesh: boolean): Promise<number> {
  const t0 = performance.now();
  agents.h1!.setView(viewFor('h1', running, mesh));
  agents.h2!.setView(viewFor('h2', running, mesh));
  await Promise.all([agents.h1!.settled(), agents.h2!.settled()]);
  return performance.now() - t0;
}

function open(host: 'h1' | 'h2', extra: Partial<NetworkAgentOptions> = {}): Promise<NetworkAgent> {
  return NetworkAgent.open({
    dataRoot: join(dataRoot, host), logger: host === 'h1' ? h1Logger : nullLogger, localAddr: () => HOST[host], upstreams: [],
    hostNetns: NS[host], namePrefix: prefix[host], resolvConfPath: join(dataRoot, 'resolv.conf'), ...extra,
  });
}

const tns = (k: TaskKey) => `${prefix[TASKS[k].host]}t-${taskId(k).slice(0, 12)}`;
const sbns = (host: 'h1' | 'h2', net: NetKey) => `${prefix[host]}sb-${NET[net].id.slice(0, 12)}`;

/** Runs a command in a netns without blocking this process (it serves the DNS). */
function inNetns(netns: string, argv: string[], timeoutS = 5): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    execFile('timeout', [String(timeoutS), 'ip', 'netns', 'exec', netns, ...argv], (err, stdout, stderr) => {
      ok({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

const ping = async (from: string, to: string, wait = 1) => (await inNetns(from, ['busybox', 'ping', '-c', '1', '-W', String(wait), to], wait + 3)).code === 0;
const nslookup = (from: string, name: string) => inNetns(from, ['busybox', 'nslookup', name, '127.0.0.11']);

/** busybox httpd in a task netns, answering its task's name. */
function startHttpd(k: TaskKey): void {
  const dir = join(wwwRoot, k);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), `${k}\n`);
  const p = spawn('ip', ['netns', 'exec', tns(k), 'busybox', 'httpd', '-f', '-p', '80', '-h', dir], { stdio: 'ignore' });
  procs.push(p);
}

/** `n` sequential HTTP GETs from a netns (a Node client, one process); counts answer bodies and error codes. */
function fetchMany(netns: string, n: number, host: string, port: number): Promise<Record<string, number>> {
  const code = `const net = require('net'); const out = {};
    (async () => { for (let i = 0; i < ${n}; i++) { const k = await new Promise((ok) => {
      const s = net.connect({ host: ${JSON.stringify(host)}, port: ${port} }, () => s.write('GET / HTTP/1.0\\r\\n\\r\\n')); let d = '';
      s.setTimeout(3000, () => { s.destroy(); ok('ETIMEDOUT'); });
      s.on('data', (x) => d += x); s.on('end', () => ok(d.trim().split('\\n').pop().trim())); s.on('error', (e) => ok(e.code)); });
      out[k] = (out[k] || 0) + 1; } console.log(JSON.stringify(out)); })();`;
  return new Promise((ok, fail) => {
    execFile('timeout', ['60', 'ip', 'netns', 'exec', netns, process.execPath, '-e', code], (err, stdout, stderr) => {
      if (err) fail(new Error(`client in ${netns} failed: ${stderr}`)); else ok(JSON.parse(stdout));
    });
  });
}

/** Waits until `fn` is true (polling the kernel's view of things; bounded). */
async function until(fn: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await fn()) return true; await new Promise((r) => setTimeout(r, 100)); }
  return fn();
}

/** PIDs of the `nft` processes running in named netns `ns` (its VIP table's session). */
function nftPidsIn(ns: string): number[] {
  const ino = String(statSync(`/run/netns/${ns}`).ino);
  return allPids().filter((pid) => cmdline(pid).startsWith('nft ') && nsInode(`/proc/${pid}/ns/net`) === ino);
}

function mtu(netns: string, dev: string): number {
  return (JSON.parse(sh(['ip', '-n', netns, '-json', 'link', 'show', dev])) as { mtu: number }[])[0].mtu;
}

t.before(async () => {
  writeFileSync(join(dataRoot, 'resolv.conf'), 'nameserver 127.0.0.53\nsearch lab.example\n');
  for (const n of Object.values(NS)) sh(['ip', 'netns', 'add', n]);
  sh(['ip', '-n', NS.sw, 'link', 'add', 'br0', 'type', 'bridge']);
  sh(['ip', '-n', NS.sw, 'link', 'set', 'br0', 'up']);
  for (const [k, addr] of [['h1', HOST.h1], ['h2', HOST.h2], ['cl', CLIENT]] as const) {
    sh(['ip', '-n', NS.sw, 'link', 'add', `p-${k}`, 'type', 'veth', 'peer', 'name', 'u0', 'netns', NS[k]]);
    sh(['ip', '-n', NS.sw, 'link', 'set', `p-${k}`, 'master', 'br0', 'up']);
    sh(['ip', '-n', NS[k], 'addr', 'add', `${addr}/24`, 'dev', 'u0']);
    sh(['ip', '-n', NS[k], 'link', 'set', 'u0', 'up']);
    sh(['ip', '-n', NS[k], 'link', 'set', 'lo', 'up']);
  }
  agents.h1 = await open('h1');
  agents.h2 = await open('h2');
});

t.after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null && p.pid) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((ok) => p.on('exit', ok)) : undefined)));
  const errors: string[] = [];
  for (const a of Object.values(agents)) await a?.removeAll().catch((e) => errors.push(String(e)));
  for (const n of netnsList().filter((x) => x.startsWith(tag))) spawnSync('ip', ['netns', 'del', n]);
  for (const n of Object.values(NS)) spawnSync('ip', ['netns', 'del', n]);
  rmSync(dataRoot, { recursive: true, force: true });
  const left = netnsList().filter((x) => x.startsWith(tag));
  if (left.length || errors.length) throw new Error(`clean-up: left ${JSON.stringify(left)} ${errors.join('; ')}`);
});

t('attach makes the task netns, one interface at the network MTU (a macvlan on the sandbox vxlan0), and returns the resolv.conf', async () => {
  const t0 = performance.now();
  const got = await Promise.all((['w1', 'c1'] as const).map((k) => agents.h1!.attach(fakeTask(k))));
  const ms = performance.now() - t0;
  await Promise.all((['w2', 'd1'] as const).map((k) => agents.h2!.attach(fakeTask(k))));
  console.log(`  two attaches on one host (first makes the sandbox): ${ms.toFixed(0)} ms`);
  assert.equal(got[0], { netnsPath: `/run/netns/${tns('w1')}`, resolvConf: 'nameserver 127.0.0.11\noptions ndots:0\nsearch lab.example\n' });
  assert.equal(await agents.h1!.attach(fakeTask('w1')), got[0], 'attach again: same answer');
  for (const k of ['w1', 'c1', 'w2', 'd1'] as const) assert.is(mtu(tns(k), 'eth0'), MTU, `${k} eth0`);
  // The macvlan task path: the gateway on gw0, no bridge, nothing of a task in the sandbox.
  for (const [h, dev] of [['h1', 'vxlan0'], ['h1', 'gw0'], ['h2', 'vxlan0']] as const) assert.is(mtu(sbns(h, 'front'), dev), MTU);
  assert.is(spawnSync('ip', ['-n', sbns('h1', 'front'), 'link', 'show', 'br0']).status, 1, 'no bridge');
  assert.equal(JSON.parse(sh(['ip', '-n', sbns('h1', 'front'), '-json', 'link', 'show'])).map((l: { ifname: string }) => l.ifname).sort(), ['gw0', 'lo', 'vxlan0']);
  assert.is(JSON.parse(sh(['ip', '-n', tns('w1'), '-json', '-d', 'link', 'show', 'eth0']))[0].linkinfo.info_kind, 'macvlan');
  const eth0 = JSON.parse(sh(['ip', '-n', tns('w1'), '-json', 'addr', 'show', 'eth0']))[0];
  assert.is(eth0.address, macFromIp(TASKS.w1.ip));
  assert.ok(netnsList().includes(sbns('h2', 'back')));
  assert.equal(agents.h1!.endpoints(NET.front.id).map((e) => e.ip), [TASKS.c1.ip, TASKS.w1.ip]);
  // Their first VIP tables went as netlink batches through the netns helper, no nft process (task-vip-runner.ts).
  assert.equal(attached.map((f) => f['vip.by']), ['netlink', 'netlink'], JSON.stringify(attached));
  assert.match(sh(['ip', 'netns', 'exec', tns('c1'), 'nft', 'list', 'table', 'ip', 'shoal-lb']), 'chain reject_forward');
  assert.is(await agents.h1!.attach({ ...fakeTask('w1'), ID: 'plaintask0000', NetworksAttachments: [] }), undefined);
});

t('with the views programmed, tasks on two hosts reach each other over VXLAN', async () => {
  const ms = await setViews(['w1', 'w2', 'c1', 'd1'], false);
  console.log(`  first views applied on both hosts: ${ms.toFixed(0)} ms`);
  assert.ok(await ping(tns('c1'), TASKS.w2.ip, 3), 'c1 (h1) → w2 (h2)');
  assert.ok(await ping(tns('w2'), TASKS.w1.ip), 'w2 (h2) → w1 (h1)');
});

t('the embedded DNS answers the VIP, tasks.NAME and NXDOMAIN inside the task netns', async () => {
  const vip = await nslookup(tns('c1'), 'web');
  assert.is(vip.code, 0, vip.out);
  assert.match(vip.out, `Address: ${VIP.web}`);
  const tasks = await nslookup(tns('c1'), 'tasks.web');
  assert.match(tasks.out, TASKS.w1.ip);
  assert.match(tasks.out, TASKS.w2.ip);
  assert.match((await nslookup(tns('c1'), 'nope')).out, 'NXDOMAIN');
  assert.match((await nslookup(tns('w2'), 'client')).out, `Address: ${VIP.client}`, 'the DNS on h2 has its own sockets');
});

t('the VIP spreads connections over the backends on both hosts', async () => {
  for (const k of ['w1', 'w2'] as const) startHttpd(k);
  assert.ok(await until(async () => JSON.stringify(await fetchMany(tns('c1'), 1, TASKS.w2.ip, 80)) === '{"w2":1}'), 'w2 serves');
  assert.ok(await until(async () => JSON.stringify(await fetchMany(tns('c1'), 1, TASKS.w1.ip, 80)) === '{"w1":1}'), 'w1 serves');
  const got = await fetchMany(tns('c1'), 60, VIP.web, 80);
  console.log(`  ${VIP.web}:80, 60 connections: ${JSON.stringify(got)}`);
  assert.equal(Object.keys(got).sort(), ['w1', 'w2'], JSON.stringify(got));
  assert.ok(got.w1 >= 10 && got.w2 >= 10, JSON.stringify(got));
});

t('networks are isolated: names and addresses of another network are out of reach', async () => {
  assert.match((await nslookup(tns('c1'), 'db')).out, 'NXDOMAIN');
  assert.match((await nslookup(tns('d1'), 'web')).out, 'NXDOMAIN');
  assert.match((await nslookup(tns('d1'), 'db')).out, `Address: ${VIP.db}`);
  assert.not.ok(await ping(tns('c1'), TASKS.d1.ip));
  assert.not.ok(await ping(tns('d1'), TASKS.w2.ip));
});

t('a view without a backend takes it out of the rotation; with none the VIP refuses', async () => {
  const ms = await setViews(['w1', 'c1', 'd1'], false);
  console.log(`  view update (one backend out) applied: ${ms.toFixed(0)} ms`);
  assert.equal(await fetchMany(tns('c1'), 20, VIP.web, 80), { w1: 20 });
  assert.not.match((await nslookup(tns('c1'), 'tasks.web')).out, TASKS.w2.ip);
  await setViews(['c1', 'd1'], false);
  assert.equal(await fetchMany(tns('c1'), 2, VIP.web, 80), { ECONNREFUSED: 2 });
  await setViews(['w1', 'w2', 'c1', 'd1'], false);
  const back = await fetchMany(tns('c1'), 30, VIP.web, 80);
  assert.equal(Object.keys(back).sort(), ['w1', 'w2'], JSON.stringify(back));
  // These changes went as netlink batches through the netns helper: no nft process in the task's netns (task-vip-runner.ts).
  assert.equal(nftPidsIn(tns('c1')), [], 'no nft -i in c1\'s netns');
});

t('a peer update that fails part-way is redone from a flushed table', async () => {
  const sb = sbns('h1', 'front');
  sh(['bridge', '-n', sb, 'fdb', 'del', macFromIp(TASKS.w2.ip), 'dev', 'vxlan0', 'dst', HOST.h2, 'self']); // someone else's doing
  warnings.length = 0;
  agents.h1!.setView(viewFor('h1', ['w1', 'w2', 'c1', 'd1'], false, ['w2']));
  await agents.h1!.settled();
  assert.ok(warnings.some((w) => w.includes('retrying')), `the failed apply is logged: ${JSON.stringify(warnings)}`);
  agents.h1!.setView(viewFor('h1', ['w1', 'w2', 'c1', 'd1'], false));
  await agents.h1!.settled();
  sh(['ip', '-n', tns('c1'), 'neigh', 'flush', 'all']);
  assert.ok(await ping(tns('c1'), TASKS.w2.ip, 2), 'w2 reachable again');
  assert.match(sh(['bridge', '-n', sb, 'fdb', 'show', 'dev', 'vxlan0']), macFromIp(TASKS.w2.ip));
});

t('attach failing leaves nothing behind and says why', async () => {
  const before = netnsList().filter((x) => x.startsWith(tag)).sort();
  const clash = { ...fakeTask('w1'), ID: 'clashtask000000' }; // w1's address: the sandbox veth name is taken
  try { await agents.h1!.attach(clash); assert.unreachable(); } catch (e) {
    assert.instance(e, NetworkAgentError);
    assert.match((e as Error).message, 'clashtask000000');
  }
  const outside = fakeTask('c1');
  outside.ID = 'outsidetask0000';
  outside.NetworksAttachments![0].Addresses = ['10.50.0.5/24'];
  try { await agents.h1!.attach(outside); assert.unreachable(); } catch (e) { assert.match((e as Error).message, 'not in subnet'); }
  assert.equal(netnsList().filter((x) => x.startsWith(tag)).sort(), before);
  assert.ok(await ping(tns('c1'), TASKS.w1.ip), 'w1 still reachable');
});

t('the routing mesh: a published port answers on both hosts, also the one without a task', async () => {
  await agents.h1!.attach(fakeTask('i1'));
  startHttpd('i1');
  const ms = await setViews(['w1', 'w2', 'c1', 'd1', 'i1'], true);
  console.log(`  views with the routing mesh applied: ${ms.toFixed(0)} ms`);
  assert.ok(netnsList().includes(sbns('h2', 'ingress')), 'h2 has the ingress sandbox without tasks');
  for (const h of ['h1', 'h2'] as const) {
    const link = JSON.parse(sh(['ip', '-n', NS[h], '-json', 'addr', 'show', 'shoal-ingress']))[0];
    assert.equal([link.mtu, link.address, link.addr_info[0].local], [MTU, macFromIp(INGRESS_ADDR[h]), INGRESS_ADDR[h]], `${h} shoal-ingress`);
  }
  assert.ok(await until(async () => JSON.stringify(await fetchMany(NS.cl, 1, HOST.h1, 8080)) === '{"i1":1}'), 'h1:8080 answers');
  for (const h of ['h1', 'h2'] as const) {
    const got = await fetchMany(NS.cl, 10, HOST[h], 8080);
    assert.equal(got, { i1: 10 }, `${h}: ${JSON.stringify(got)}`);
  }
  await setViews(['w1', 'w2', 'c1', 'd1'], true);
  assert.equal(await fetchMany(NS.cl, 1, HOST.h2, 8080), { ECONNREFUSED: 1 }, 'no task in the rotation: refused');
  await setViews(['w1', 'w2', 'c1', 'd1', 'i1'], true);
});

t('host-mode ports answer on the task\'s node only, through the gateway bridge', async () => {
  const got = await agents.h2!.attach(fakeTask('hp'));
  assert.equal(got?.hostPorts, [{ protocol: 'tcp', published: 8090, target: 80 }, { protocol: 'tcp', published: 30000, target: 80 }]);
  startHttpd('hp');
  assert.ok(sh(['ip', '-n', tns('hp'), '-o', 'link', 'show', 'eth1']).includes('eth1'), 'gateway interface after the overlay one');
  assert.ok(await until(async () => JSON.stringify(await fetchMany(NS.cl, 1, HOST.h2, 8090)) === '{"hp":1}'), 'h2:8090 answers');
  assert.equal(await fetchMany(NS.cl, 3, HOST.h2, 30000), { hp: 3 }, 'port 0 got the first of the range');
  assert.equal(await fetchMany(NS.cl, 1, HOST.h1, 8090), { ECONNREFUSED: 1 }, 'not on the other node');
  assert.ok(await ping(tns('hp'), TASKS.w1.ip), 'the overlay still works beside the gateway');
  assert.ok(await ping(tns('w1'), CLIENT), 'a task with only overlay networks gets out through its node\'s gateway bridge');
  await agents.h2!.detach(taskId('hp'));
  assert.equal(await fetchMany(NS.cl, 1, HOST.h2, 8090), { ECONNREFUSED: 1 }, 'detached: the port is gone');
});

t('a restarted agent keeps the task netns and serves DNS there again', async () => {
  await agents.h1!.close();
  agents.h1 = undefined;
  assert.not.ok((await nslookup(tns('c1'), 'web')).code === 0, 'no DNS while closed');
  agents.h1 = await open('h1');
  assert.equal(agents.h1.endpoints(NET.front.id).map((e) => e.ip), [TASKS.c1.ip, TASKS.w1.ip]);
  assert.match((await nslookup(tns('c1'), 'web')).out, `Address: ${VIP.web}`, 'the last view answers before a new one comes');
  await setViews(['w1', 'w2', 'c1', 'd1', 'i1'], true);
  const got = await fetchMany(tns('c1'), 30, VIP.web, 80);
  assert.equal(Object.keys(got).sort(), ['w1', 'w2'], JSON.stringify(got));
  assert.equal(await fetchMany(NS.cl, 3, HOST.h2, 8080), { i1: 3 });
});

t('a new network given the VNI of one whose sandbox is still here waits for that sandbox to go', async () => {
  // A stack deployed again: the leader gave the old network's VNI to a new one while this
  // node still has the old sandbox (its last task is stopping).
  const net = { id: 'back2net00000000000000000', subnet: '10.99.2.0/24', gateway: '10.99.2.1' };
  const task = {
    ...fakeTask('d1'), ID: 'vnitask000000000000000000',
    NetworksAttachments: [{ Network: { ID: net.id, Spec: { Name: 'back2' }, Allocation: { Subnet: net.subnet, Gateway: net.gateway, IPRange: net.subnet, VNI: NET.back.vni, MTU } }, Addresses: ['10.99.2.5/24'] }],
  } as Task;
  const attached = agents.h2!.attach(task);
  const taskNs = `${prefix.h2}t-${task.ID.slice(0, 12)}`;
  for (let i = 0; i < 200 && !netnsList().includes(taskNs); i++) await new Promise((r) => setImmediate(r));
  assert.ok(netnsList().includes(sbns('h2', 'back')), 'the old sandbox is still there');
  await agents.h2!.detach(taskId('d1'));
  const n = await attached;
  assert.ok(n, 'attached once the old sandbox went');
  assert.match(sh(['ip', '-n', taskNs, '-4', '-o', 'addr', 'show', 'dev', 'eth0']), '10.99.2.5/24');
  assert.not.ok(netnsList().includes(sbns('h2', 'back')), 'the old sandbox is gone');
  await agents.h2!.detach(task.ID);
  assert.not.ok(netnsList().includes(taskNs));
  assert.not.ok(netnsList().includes(`${prefix.h2}sb-${net.id.slice(0, 12)}`), 'its sandbox went with it');
});

t('detach removes the task netns and the sandbox of its last task; a view without ingress removes only the mesh table', async () => {
  await agents.h2!.detach(taskId('d1'));
  await agents.h2!.detach(taskId('d1'));
  await agents.h2!.detach('unknowntask');
  assert.not.ok(netnsList().includes(tns('d1')));
  assert.not.ok(netnsList().includes(sbns('h2', 'back')), 'back sandbox gone with its last task');
  const inode = (ns: string) => sh(['stat', '-L', '-c', '%i', `/run/netns/${ns}`]).trim();
  const before = inode(sbns('h2', 'ingress'));
  await setViews(['w1', 'w2', 'c1', 'i1'], false);
  // As Docker's ingress-sbox: the sandbox and the host veth stay while the node is in the swarm.
  assert.ok(netnsList().includes(sbns('h2', 'ingress')), 'h2 keeps its ingress sandbox without tasks or ports');
  assert.ok(netnsList().includes(sbns('h1', 'ingress')), 'h1 keeps it');
  for (const h of ['h1', 'h2'] as const) {
    assert.is(spawnSync('ip', ['-n', NS[h], 'link', 'show', 'shoal-ingress']).status, 0, `${h}: host veth kept`);
    assert.is(spawnSync('ip', ['netns', 'exec', NS[h], 'nft', 'list', 'table', 'ip', 'shoal-mesh']).status, 1, `${h}: mesh table gone`);
  }
  // Ports published again: the same sandbox serves the mesh, nothing is made again.
  await setViews(['w1', 'w2', 'c1', 'i1'], true);
  assert.is(inode(sbns('h2', 'ingress')), before, 'the same ingress sandbox');
  assert.ok(await until(async () => JSON.stringify(await fetchMany(NS.cl, 1, HOST.h2, 8080)) === '{"i1":1}'), 'the mesh answers on h2 again');
  await setViews(['w1', 'w2', 'c1', 'i1'], false);
  assert.equal(nftPidsIn(tns('w2')), [], 'w2\'s VIP table changes went as netlink batches: no nft -i');
  await agents.h2!.detach(taskId('w2'));
  assert.equal(netnsList().filter((x) => x.startsWith(prefix.h2)), [sbns('h2', 'ingress')], 'of h2 only the ingress sandbox is left');
  // A new ingress network that got the old one's VNI: the kept sandbox gives it up at once.
  const ing2 = { ...viewFor('h2', [], true).networks.find((n) => n.ingress)!, id: 'ingressnew0000000000000d' };
  agents.h2!.setView({ vtep: HOST.h2, networks: [ing2], ingress: { networkId: ing2.id, address: `${INGRESS_ADDR.h2}/24`, ports: [] } });
  await agents.h2!.settled();
  const newSb = `${prefix.h2}sb-${ing2.id.slice(0, 12)}`;
  assert.equal(netnsList().filter((x) => x.startsWith(prefix.h2)), [newSb], 'only the new ingress sandbox');
  assert.match(sh(['ip', '-n', NS.h2, '-o', 'addr', 'show', 'shoal-ingress']), INGRESS_ADDR.h2, 'the host veth moved to it');
  agents.h2!.setView(viewFor('h2', [], false));
  await agents.h2!.settled();
  for (const h of ['h1', 'h2'] as const) {
    await agents[h]!.removeAll();
    agents[h] = undefined;
    assert.equal(netnsList().filter((x) => x.startsWith(prefix[h])), [], `removeAll leaves no netns of ${h}`);
    assert.equal(sh(['ip', '-n', NS[h], '-o', 'link', 'show']).split('\n').filter((l) => /^\d+: (vx-|shoal-)/.test(l)), [], `no links of ${h}`);
    assert.is(sh(['ip', 'netns', 'exec', NS[h], 'nft', 'list', 'tables']).trim(), '', `no tables in ${h}`);
  }
});

t('an unknown dataPlane is refused before anything is made', async () => {
  const before = readdirSync('/run/netns').length;
  try {
    await open('h1', { dataPlane: 'iproute' as never });
    assert.unreachable('open accepted dataPlane "iproute"');
  } catch (err) {
    assert.match(String(err), /unknown dataPlane "iproute"/);
  }
  assert.is(readdirSync('/run/netns').length, before, 'no namespace made');
});

t.run();
