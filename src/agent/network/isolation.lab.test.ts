// Tenants stay apart on the data plane (issue 14, item 4), on two emulated hosts (root,
// real kernel): host namespaces h1, h2 and a client on an underlay bridge
// (192.168.100.0/24), one NetworkAgent per host with its gateway bridge, fake tasks
// (namespaces with busybox and small Node probes). Checked from inside the tasks:
// - a task on another network reaches an ingress task only through a published port,
//   never its unpublished ports through the node's own ingress address;
// - VXLAN a task sends (to its own node, another node, or from ingress to the node's
//   ingress address) never lands in a network, while VXLAN from the underlay still does;
// - a task only on an internal network has no route out of the swarm, and its DNS
//   forwards nothing upstream.
// Every namespace, link, table and process is this test's own and removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../api/types/task.ts';
import type { NodeNetworkView, ViewNetwork } from '../../wire/network-view-types.ts';
import { macFromIp } from '../../../net/overlay/index.ts';
import { nullLogger } from '../../common/logger.ts';
import { NetworkAgent } from './network-agent.ts';

const tag = `shoaliso${process.pid}`;
const NS = { sw: `${tag}-sw`, h1: `${tag}-h1`, h2: `${tag}-h2`, cl: `${tag}-cl` };
const HOST = { h1: '192.168.100.11', h2: '192.168.100.12' } as const;
const CLIENT = '192.168.100.9';
type Host = keyof typeof HOST;
const prefix = { h1: `${tag}a-`, h2: `${tag}b-` };
const dataRoot = mkdtempSync(join(tmpdir(), 'shoaliso-'));
const t = suite('network isolation');
const procs: ChildProcess[] = [];
const agents: Partial<Record<Host, NetworkAgent>> = {};
/** A fake upstream resolver in this process (the DNS child forwards from here): answers any A question with 192.0.2.7. */
const upstream = dgram.createSocket('udp4');
const upstreamGot: string[] = [];

const NET = {
  red: { id: 'rednet0000000000000000000', subnet: '10.98.0.0/24', gateway: '10.98.0.1', vni: 4296, internal: false },
  blue: { id: 'bluenet000000000000000000', subnet: '10.98.1.0/24', gateway: '10.98.1.1', vni: 4297, internal: false },
  vault: { id: 'vaultnet00000000000000000', subnet: '10.98.2.0/24', gateway: '10.98.2.1', vni: 4298, internal: true },
  ingress: { id: 'ingressnet000000000000iso', subnet: '10.98.255.0/24', gateway: '10.98.255.1', vni: 4299, internal: false },
};
type NetKey = keyof typeof NET;
const MTU = 1450;
const INGRESS_ADDR = { h1: '10.98.255.11', h2: '10.98.255.12' } as const;

const TASKS = {
  r1: { host: 'h1', net: 'red', ip: '10.98.0.5' },
  r2: { host: 'h2', net: 'red', ip: '10.98.0.6' },
  b1: { host: 'h1', net: 'blue', ip: '10.98.1.5' },
  b2: { host: 'h2', net: 'blue', ip: '10.98.1.6' },
  v1: { host: 'h1', net: 'vault', ip: '10.98.2.5' },
  i2: { host: 'h2', net: 'ingress', ip: '10.98.255.5' },
} as const;
type TaskKey = keyof typeof TASKS;
const taskId = (k: TaskKey) => `${k}iso0000000000000000000`;
const tns = (k: TaskKey) => `${prefix[TASKS[k].host]}t-${taskId(k).slice(0, 12)}`;

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
    ID: taskId(k), Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: {} as Task['Spec'], ServiceID: `svc-${k}`,
    Slot: 1, Name: `${k}.1.${taskId(k)}`, Status: { Timestamp: '', State: 'assigned', Message: '' }, DesiredState: 'running',
    NetworksAttachments: [{
      // As the allocator sends it: the network's spec, which says ingress (its sandbox keeps a bridge).
      Network: { ID: n.id, Spec: { Name: d.net, Internal: n.internal, Ingress: d.net === 'ingress' }, Allocation: { Subnet: n.subnet, Gateway: n.gateway, IPRange: n.subnet, VNI: n.vni, MTU } },
      Addresses: [`${d.ip}/24`],
    }],
  } as Task;
}

/** The view of a host: every task a peer; ingress publishes i2's port 80 as 8080 (port 81 stays unpublished). */
function viewFor(host: Host): NodeNetworkView {
  const network = (key: NetKey): ViewNetwork => {
    const n = NET[key];
    const mine = (Object.keys(TASKS) as TaskKey[]).filter((k) => TASKS[k].net === key);
    const peers: ViewNetwork['peers'] = mine.map((k) => ({ ip: TASKS[k].ip, mac: macFromIp(TASKS[k].ip), vtep: HOST[TASKS[k].host] }));
    if (key === 'ingress') for (const h of ['h1', 'h2'] as const) peers.push({ ip: INGRESS_ADDR[h], mac: macFromIp(INGRESS_ADDR[h]), vtep: HOST[h] });
    return { id: n.id, name: key, ingress: key === 'ingress', subnet: n.subnet, gateway: n.gateway, vni: n.vni, mtu: MTU, peers, services: [] };
  };
  return {
    vtep: HOST[host],
    networks: (Object.keys(NET) as NetKey[]).map(network),
    ingress: { networkId: NET.ingress.id, address: `${INGRESS_ADDR[host]}/24`, ports: [{ service: 'pub', protocol: 'tcp', published: 8080, target: 80, backends: [TASKS.i2.ip] }] },
  };
}

/** Runs a command in a netns without blocking this process (it serves the DNS). */
function inNetns(netns: string, argv: string[], timeoutS = 5): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    execFile('timeout', [String(timeoutS), 'ip', 'netns', 'exec', netns, ...argv], (err, stdout, stderr) => {
      ok({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

/** One HTTP GET from a netns: the answer's last line, or the error code (ETIMEDOUT after 2 s). */
async function fetchOne(netns: string, host: string, port: number): Promise<string> {
  const code = `const s = require('net').connect({ host: ${JSON.stringify(host)}, port: ${port} }, () => s.write('GET / HTTP/1.0\\r\\n\\r\\n'));
    let d = ''; s.setTimeout(2000, () => { console.log('ETIMEDOUT'); process.exit(0); });
    s.on('data', (x) => d += x); s.on('end', () => console.log(d.trim().split('\\n').pop().trim())); s.on('error', (e) => console.log(e.code));`;
  return (await inNetns(netns, [process.execPath, '-e', code], 10)).out.trim();
}

/** The question name of a DNS query, as its wire bytes' length allows (`a.b` → 'a.b'). */
function readName(m: Buffer): string {
  const labels: string[] = [];
  for (let i = 12; i < m.length && m[i] !== 0; i += m[i] + 1) labels.push(m.subarray(i + 1, i + 1 + m[i]).toString());
  return labels.join('.');
}

/** Waits until `fn` is true (polling; bounded). */
async function until(fn: () => Promise<boolean>, ms = 8000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await fn()) return true; await new Promise((r) => setTimeout(r, 100)); }
  return fn();
}

function startHttpd(k: TaskKey, port: number, body: string): void {
  const dir = join(dataRoot, 'www', `${k}-${port}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), `${body}\n`);
  procs.push(spawn('ip', ['netns', 'exec', tns(k), 'busybox', 'httpd', '-f', '-p', String(port), '-h', dir], { stdio: 'ignore' }));
}

/** A UDP listener on :9999 in a task netns; resolves once bound, and keeps what arrives. */
function startSink(k: TaskKey): Promise<{ got: string[] }> {
  const code = `const s = require('dgram').createSocket('udp4'); s.on('message', (m) => console.log(m.toString()));
    s.bind(9999, '0.0.0.0', () => console.log('READY'));`;
  const p = spawn('ip', ['netns', 'exec', tns(k), process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  procs.push(p);
  const sink = { got: [] as string[] };
  return new Promise((ok, fail) => {
    let buf = '';
    p.stdout!.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) { if (l === 'READY') ok(sink); else sink.got.push(l); }
    });
    p.on('exit', () => fail(new Error(`the UDP sink in ${k} exited`)));
  });
}

/**
 * Sends, from `netns`, a VXLAN packet to `dst`:4789 carrying an Ethernet frame on VNI
 * `vni` with an IPv4/UDP datagram to `inner`:9999 saying `text` (three times: UDP).
 */
const CRAFT = `const [dst, vni, mac, src, inner, text] = process.argv.slice(1);
const ip4 = (a) => Buffer.from(a.split('.').map(Number));
const payload = Buffer.from(text);
const udp = Buffer.alloc(8); udp.writeUInt16BE(40000, 0); udp.writeUInt16BE(9999, 2); udp.writeUInt16BE(8 + payload.length, 4);
const ip = Buffer.alloc(20); ip[0] = 0x45; ip.writeUInt16BE(20 + 8 + payload.length, 2); ip.writeUInt16BE(0x4000, 6); ip[8] = 64; ip[9] = 17;
ip4(src).copy(ip, 12); ip4(inner).copy(ip, 16);
let sum = 0; for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i); while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
ip.writeUInt16BE(~sum & 0xffff, 10);
const eth = Buffer.concat([Buffer.from(mac.split(':').map((h) => parseInt(h, 16))), Buffer.from([2, 0x42, 0, 0, 0, 0x77]), Buffer.from([8, 0])]);
const vx = Buffer.alloc(8); vx[0] = 8; vx.writeUIntBE(Number(vni), 4, 3);
const pkt = Buffer.concat([vx, eth, ip, udp, payload]);
const s = require('dgram').createSocket('udp4');
let n = 0; const next = () => { if (n++ === 3) { s.close(); return; } s.send(pkt, 4789, dst, (e) => { if (e) { console.error(e.message); process.exit(2); } next(); }); }; next();`;

async function injectVxlan(netns: string, dst: string, target: TaskKey, text: string): Promise<void> {
  const n = NET[TASKS[target].net];
  const src = n.subnet.replace(/0\/24$/, '77'); // an address of the target network, so the task's rp_filter lets it in
  const r = await inNetns(netns, [process.execPath, '-e', CRAFT, dst, String(n.vni), macFromIp(TASKS[target].ip), src, TASKS[target].ip, text]);
  // A send refused by the kernel's own route (no way out) is a refusal too.
  assert.ok(r.code === 0 || /unreachable/i.test(r.out), `inject from ${netns}: ${r.out}`);
}

/** A plain datagram from one task to another's sink over their network. */
async function sendUdp(from: TaskKey, to: TaskKey, text: string): Promise<void> {
  const code = `const s = require('dgram').createSocket('udp4'); s.send(${JSON.stringify(text)}, 9999, ${JSON.stringify(TASKS[to].ip)}, () => s.close());`;
  const r = await inNetns(tns(from), [process.execPath, '-e', code]);
  assert.is(r.code, 0, r.out);
}

t.before(async () => {
  writeFileSync(join(dataRoot, 'resolv.conf'), 'nameserver 127.0.0.53\n');
  upstream.on('message', (m, r) => {
    const name = readName(m);
    upstreamGot.push(name);
    // The question echoed, one A answer (name pointer 0xc00c) with 192.0.2.7.
    const head = Buffer.from(m.subarray(0, 12));
    head.writeUInt16BE(0x8180, 2); head.writeUInt16BE(1, 6); head.writeUInt16BE(0, 8); head.writeUInt16BE(0, 10);
    const ans = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 7]);
    upstream.send(Buffer.concat([head, m.subarray(12, 12 + name.length + 2 + 4), ans]), r.port, r.address);
  });
  await new Promise<void>((ok) => upstream.bind(0, '127.0.0.1', ok));
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
  for (const h of ['h1', 'h2'] as const) {
    agents[h] = await NetworkAgent.open({
      dataRoot: join(dataRoot, h), logger: nullLogger, localAddr: () => HOST[h], upstreams: [`127.0.0.1:${upstream.address().port}`],
      hostNetns: NS[h], namePrefix: prefix[h], resolvConfPath: join(dataRoot, 'resolv.conf'),
    });
  }
  for (const k of Object.keys(TASKS) as TaskKey[]) await agents[TASKS[k].host]!.attach(fakeTask(k));
  for (const h of ['h1', 'h2'] as const) agents[h]!.setView(viewFor(h));
  await Promise.all([agents.h1!.settled(), agents.h2!.settled()]);
  startHttpd('i2', 80, 'published');
  startHttpd('i2', 81, 'unpublished');
});

t.after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null && p.pid) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((ok) => p.on('exit', ok)) : undefined)));
  const errors: string[] = [];
  for (const a of Object.values(agents)) await a?.removeAll().catch((e) => errors.push(String(e)));
  for (const n of netnsList().filter((x) => x.startsWith(tag))) spawnSync('ip', ['netns', 'del', n]);
  upstream.close();
  rmSync(dataRoot, { recursive: true, force: true });
  const left = netnsList().filter((x) => x.startsWith(tag));
  if (left.length || errors.length) throw new Error(`clean-up: left ${JSON.stringify(left)} ${errors.join('; ')}`);
});

t('a task on another network reaches an ingress task through its published port only', async () => {
  assert.ok(await until(async () => (await fetchOne(NS.cl, HOST.h1, 8080)) === 'published'), 'the mesh answers on h1:8080 from the underlay');
  assert.is(await fetchOne(tns('r1'), HOST.h1, 8080), 'published', 'r1 → its node\'s published port, through the mesh');
  assert.is(await fetchOne(tns('r1'), HOST.h2, 8080), 'published', 'r1 → the other node\'s published port');
  // Through h1's own ingress address, straight to i2 (on h2): the ports it did not publish, and 80 itself.
  assert.is(await fetchOne(tns('r1'), TASKS.i2.ip, 81), 'ETIMEDOUT', 'unpublished port 81 of the ingress task');
  assert.is(await fetchOne(tns('r1'), TASKS.i2.ip, 80), 'ETIMEDOUT', 'the target port, not through the mesh');
  assert.is(await fetchOne(tns('i2'), TASKS.i2.ip, 81), 'unpublished', 'the ingress task itself still has its port');
});

t('VXLAN sent by a task never lands in a network; VXLAN on the underlay still does', async () => {
  const [s1, s2] = await Promise.all([startSink('b1'), startSink('b2')]);
  await sendUdp('b1', 'b2', 'overlay-1');
  assert.ok(await until(async () => s2.got.includes('overlay-1')), `blue works across hosts: ${JSON.stringify(s2.got)}`);
  // The probe itself works: from the underlay, the crafted frame reaches b2.
  await injectVxlan(NS.cl, HOST.h2, 'b2', 'underlay-ctl');
  assert.ok(await until(async () => s2.got.includes('underlay-ctl')), `the crafted VXLAN frame reaches b2 from the underlay: ${JSON.stringify(s2.got)}`);
  // From tasks: red to another node (forwarded by h1), to its own node's underlay and
  // gateway addresses (h1's input), and ingress to its node's ingress address (h2's input).
  await injectVxlan(tns('r1'), HOST.h2, 'b2', 'inject-r1-h2');
  await injectVxlan(tns('r1'), HOST.h1, 'b1', 'inject-r1-h1');
  await injectVxlan(tns('r1'), '172.18.0.1', 'b1', 'inject-r1-gw');
  await injectVxlan(tns('i2'), INGRESS_ADDR.h2, 'b2', 'inject-i2-ingress');
  // Fences sent after them over the overlay: once they are in, the injections had their chance.
  await sendUdp('b1', 'b2', 'fence-2');
  await sendUdp('b2', 'b1', 'fence-1');
  assert.ok(await until(async () => s2.got.includes('fence-2') && s1.got.includes('fence-1')), 'the fences arrive');
  const injected = [...s1.got, ...s2.got].filter((m) => m.startsWith('inject'));
  assert.equal(injected, [], `frames injected by tasks: ${JSON.stringify(injected)}`);
});

t('a task only on an internal network has no way out; others keep theirs', async () => {
  assert.is(sh(['ip', '-n', tns('v1'), 'route', 'show', 'default']).trim(), '', 'no default route');
  assert.is(spawnSync('ip', ['-n', tns('v1'), 'link', 'show', 'eth1']).status, 1, 'no gateway interface');
  assert.not.ok((await inNetns(tns('v1'), ['busybox', 'ping', '-c', '1', '-W', '1', CLIENT])).code === 0, 'v1 cannot reach the underlay');
  assert.ok((await inNetns(tns('r1'), ['busybox', 'ping', '-c', '1', '-W', '2', CLIENT])).code === 0, 'r1 (not internal) still gets out');
  // An underlay neighbour routing the internal subnet at v1's node gets nowhere either.
  sh(['ip', '-n', NS.cl, 'route', 'add', NET.vault.subnet, 'via', HOST.h1]);
  assert.not.ok((await inNetns(NS.cl, ['busybox', 'ping', '-c', '1', '-W', '1', TASKS.v1.ip])).code === 0, 'nothing outside reaches the internal network');
  // DNS: the embedded resolver forwards r1's outside names, never v1's (a way out too).
  const r1 = await inNetns(tns('r1'), ['busybox', 'nslookup', 'out-r1.example', '127.0.0.11']);
  assert.match(r1.out, '192.0.2.7', `r1 resolves names outside the swarm: ${r1.out}`);
  const v1 = await inNetns(tns('v1'), ['busybox', 'nslookup', 'out-v1.example', '127.0.0.11']);
  assert.not.match(v1.out, '192.0.2.7', `v1 gets no outside answer: ${v1.out}`);
  assert.match(v1.out, /REFUSED|can't find|server can't/i, v1.out);
  assert.ok(upstreamGot.includes('out-r1.example'), JSON.stringify(upstreamGot));
  assert.not.ok(upstreamGot.some((n) => n.startsWith('out-v1')), `v1's question went upstream: ${JSON.stringify(upstreamGot)}`);
});

t.run();
