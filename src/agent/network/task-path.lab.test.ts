// The macvlan task path through the whole network agent (root, real kernel): two emulated
// hosts (namespaces h1, h2 joined by a veth pair, net/overlay's lab-netns.ts), h1's agent on the rtnetlink data plane,
// h2's on `ip` alone, fake tasks on one overlay. Checks from inside the task namespaces:
// another host's task, the gateway address (gw0), a VIP, the node's gateway bridge; that a
// detach leaves nothing in the sandbox and the same address attaches again at once; that
// vxlan0 or gw0 removed behind the agent's back comes back with the tasks' interfaces; and
// that a sandbox made by an older agent (a bridge, no `taskPath` in its record) keeps
// working after a restart. Every namespace, link and process is this test's own and
// removed in `finally` (t.after).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../api/types/task.ts';
import type { NodeNetworkView } from '../../wire/network-view-types.ts';
import { macFromIp, sandboxVethName } from '../../../net/overlay/index.ts';
import { deleteNetns, linkTwoHosts } from '../../../net/overlay/lab-netns.ts';
import { listNetns } from '../../../labs/lib/netns.ts';
import { nullLogger, type Logger } from '../../common/logger.ts';
import { NetworkAgent, type NetworkAgentOptions } from './network-agent.ts';
import { NetworkAgentError } from './plan.ts';

const tag = `mvl9${process.pid}`;
const NS = { h1: `${tag}-h1`, h2: `${tag}-h2` };
const HOST = { h1: '192.168.100.41', h2: '192.168.100.42' } as const;
const prefix = { h1: `${tag}a-`, h2: `${tag}b-` };
const dataRoot = mkdtempSync(join(tmpdir(), 'shoal-mvl9-'));
const NET = { id: 'mvlnet0000000000000000001', subnet: '10.97.0.0/24', gateway: '10.97.0.1', vni: 4391 };
const MTU = 1450;
const VIP = '10.97.0.2';
const TASKS = {
  a: { host: 'h1', ip: '10.97.0.5' },
  b: { host: 'h2', ip: '10.97.0.6' },
  c: { host: 'h1', ip: '10.97.0.7' },
  c2: { host: 'h1', ip: '10.97.0.7' }, // c's address, another task: attached right after c's detach
  c3: { host: 'h1', ip: '10.97.0.7' },
  d: { host: 'h1', ip: '10.97.0.8' },
} as const;
type TaskKey = keyof typeof TASKS;
const taskId = (k: TaskKey) => `${k}mvltask0000000000000000`;
const tns = (k: TaskKey) => `${prefix[TASKS[k].host]}t-${taskId(k).slice(0, 12)}`;
const sbns = (h: 'h1' | 'h2') => `${prefix[h]}sb-${NET.id.slice(0, 12)}`;
const t = suite('task-path');
const procs: ChildProcess[] = [];
const agents: Partial<Record<'h1' | 'h2', NetworkAgent>> = {};
const infos: string[] = [];
const warnings: string[] = [];
let macWaits = 0;
const logger: Logger = {
  ...nullLogger, info: (m: string) => { infos.push(m); }, debug: (m: string) => { if (m.includes('MAC is still taken')) macWaits++; }, warn: (m: string, f?: Record<string, unknown>) => { warnings.push(`${m} ${String(f?.error ?? '')}`); }, child: () => logger,
};

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Device names in a netns, sorted. */
function links(netns: string): string[] {
  return (JSON.parse(sh(['ip', '-n', netns, '-json', 'link', 'show'])) as { ifname: string }[]).map((l) => l.ifname).sort();
}

function kind(netns: string, dev: string): string | undefined {
  return (JSON.parse(sh(['ip', '-n', netns, '-json', '-d', 'link', 'show', dev])) as { linkinfo?: { info_kind?: string } }[])[0].linkinfo?.info_kind;
}

function fakeTask(k: TaskKey): Task {
  return {
    ID: taskId(k), Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: {} as Task['Spec'], ServiceID: `svc-${k}`,
    Slot: 1, Name: `${k}.1.${taskId(k)}`, Status: { Timestamp: '', State: 'assigned', Message: '' }, DesiredState: 'running',
    NetworksAttachments: [{
      Network: { ID: NET.id, Spec: { Name: 'mvl', Ingress: false }, Allocation: { Subnet: NET.subnet, Gateway: NET.gateway, IPRange: NET.subnet, VNI: NET.vni, MTU } },
      Addresses: [`${TASKS[k].ip}/24`],
    }],
  } as Task;
}

/** The view of `host`: `peers` are every task's endpoint; service `web` (VIP) is task b. */
function viewFor(host: 'h1' | 'h2', peers: readonly TaskKey[]): NodeNetworkView {
  return {
    vtep: HOST[host],
    networks: [{
      id: NET.id, name: 'mvl', ingress: false, subnet: NET.subnet, gateway: NET.gateway, vni: NET.vni, mtu: MTU,
      peers: peers.map((k) => ({ ip: TASKS[k].ip, mac: macFromIp(TASKS[k].ip), vtep: HOST[TASKS[k].host] })),
      services: [{ id: 'svc-web', name: 'web', endpointMode: 'vip', vip: VIP, aliases: [], tasks: [{ name: `web.1.${taskId('b')}`, ip: TASKS.b.ip }] }],
    }],
  };
}

async function setViews(peers: readonly TaskKey[]): Promise<void> {
  for (const h of ['h1', 'h2'] as const) agents[h]?.setView(viewFor(h, peers));
  await Promise.all([agents.h1?.settled(), agents.h2?.settled()]);
}

function open(host: 'h1' | 'h2', extra: Partial<NetworkAgentOptions> = {}): Promise<NetworkAgent> {
  return NetworkAgent.open({
    dataRoot: join(dataRoot, host), logger, localAddr: () => HOST[host], upstreams: [],
    hostNetns: NS[host], namePrefix: prefix[host], resolvConfPath: join(dataRoot, 'resolv.conf'),
    ...(host === 'h2' ? { dataPlane: 'ip' as const } : {}), ...extra,
  });
}

function inNetns(netns: string, argv: string[], timeoutS = 5): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    execFile('timeout', [String(timeoutS), 'ip', 'netns', 'exec', netns, ...argv], (err, stdout, stderr) => {
      ok({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

const ping = async (from: string, to: string) => (await inNetns(from, ['busybox', 'ping', '-c', '1', '-W', '1', to], 4)).code === 0;
const get = async (from: string, to: string) => (await inNetns(from, ['busybox', 'wget', '-q', '-O', '-', `http://${to}/`], 3)).out.trim();

/** Waits until `fn` is true (polling the kernel's view of things; bounded). */
async function until(fn: () => Promise<boolean>, ms = 8000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await fn()) return true; await new Promise((r) => setTimeout(r, 100)); }
  return fn();
}

t.before(async () => {
  writeFileSync(join(dataRoot, 'resolv.conf'), 'nameserver 127.0.0.53\n');
  for (const n of Object.values(NS)) sh(['ip', 'netns', 'add', n]);
  linkTwoHosts([NS.h1, NS.h2], [HOST.h1, HOST.h2]);
  agents.h1 = await open('h1');
  agents.h2 = await open('h2');
});

t.after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null && p.pid) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((ok) => p.on('exit', ok)) : undefined)));
  const errors: string[] = [];
  for (const a of Object.values(agents)) await a?.removeAll().catch((e) => errors.push(String(e)));
  rmSync(dataRoot, { recursive: true, force: true });
  // Every netns of ours, the agents' leftovers too (a failed removeAll), then the check.
  try { deleteNetns(listNetns().filter((x) => x.startsWith(tag)), tag); } catch (e) { errors.push(String(e)); }
  if (errors.length) throw new Error(`clean-up: ${errors.join('; ')}`);
});

t('an unknown task path is refused before anything is opened', async () => {
  try {
    await open('h1', { taskPath: 'ipvlan' as never, dataRoot: join(dataRoot, 'refused') });
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof NetworkAgentError && /taskPath "ipvlan"/.test(e.message), String(e));
  }
});

t('a macvlan task reaches another host\'s task (rtnetlink side and ip side), gw0, a VIP and its node\'s gateway bridge', async () => {
  await Promise.all([agents.h1!.attach(fakeTask('a')), agents.h1!.attach(fakeTask('c')), agents.h2!.attach(fakeTask('b'))]);
  await setViews(['a', 'b', 'c']);
  for (const k of ['a', 'b', 'c'] as const) assert.is(kind(tns(k), 'eth0'), 'macvlan', `${k} eth0`);
  for (const h of ['h1', 'h2'] as const) assert.equal(links(sbns(h)), ['gw0', 'lo', 'vxlan0'], `${h} sandbox`);
  assert.ok(await until(() => ping(tns('a'), TASKS.b.ip)), 'a (h1) → b (h2)');
  assert.ok(await ping(tns('b'), TASKS.a.ip), 'b (h2) → a (h1)');
  assert.ok(await ping(tns('a'), TASKS.c.ip), 'a → c on the same host (macvlan bridge mode)');
  assert.ok(await ping(tns('a'), NET.gateway), 'a → the gateway address on gw0');
  const www = join(dataRoot, 'www');
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, 'index.html'), 'web-b\n');
  procs.push(spawn('ip', ['netns', 'exec', tns('b'), 'busybox', 'httpd', '-f', '-p', '80', '-h', www], { stdio: 'ignore' }));
  assert.ok(await until(async () => (await get(tns('a'), VIP)) === 'web-b'), 'a → the VIP of web (task b on h2)');
  assert.ok(await ping(tns('a'), HOST.h2), 'a → the other node\'s underlay address, out through its node\'s gateway bridge');
});

t('a detach leaves nothing in the sandbox; the same address and MAC attach again at once', async () => {
  await agents.h1!.detach(taskId('c'));
  assert.not.ok(listNetns().includes(tns('c')));
  assert.equal(links(sbns('h1')), ['gw0', 'lo', 'vxlan0'], 'nothing of c left in the sandbox');
  await agents.h1!.attach(fakeTask('c2'));
  assert.is(kind(tns('c2'), 'eth0'), 'macvlan');
  assert.ok(await until(() => ping(tns('c2'), TASKS.b.ip)), 'c2 (c\'s address) → b');
  // A detached task's netns kept alive (a process of ours still in it, as a slow exit would):
  // its macvlan keeps the MAC on vxlan0, so an attach of that address waits for it, and
  // completes once the netns goes.
  const holder = spawn('ip', ['netns', 'exec', tns('c2'), 'sleep', '120'], { stdio: 'ignore' });
  procs.push(holder);
  const nsIno = statSync(`/run/netns/${tns('c2')}`).ino;
  const inside = async () => { try { return readlinkSync(`/proc/${holder.pid}/ns/net`) === `net:[${nsIno}]`; } catch { return false; } };
  assert.ok(await until(inside), 'the holder is in c2\'s netns');
  await agents.h1!.detach(taskId('c2'));
  const waitsBefore = macWaits;
  const attached = agents.h1!.attach(fakeTask('c3'));
  assert.ok(await until(async () => macWaits > waitsBefore, 4000), 'the attach waits for the MAC');
  holder.kill('SIGKILL');
  await attached;
  assert.ok(await until(() => ping(tns('c3'), TASKS.b.ip)), 'c3 (c\'s address again) → b');
  await agents.h1!.detach(taskId('c3'));
  await agents.h1!.attach(fakeTask('c2'));
  assert.ok(await until(() => ping(tns('c2'), TASKS.b.ip)), 'c2 again → b');
});

t('gw0 or vxlan0 removed behind the agent\'s back comes back, with the tasks\' macvlans', async () => {
  sh(['ip', '-n', sbns('h1'), 'link', 'del', 'gw0']);
  assert.ok(await until(async () => links(sbns('h1')).includes('gw0') && await ping(tns('a'), NET.gateway)), `gw0 is back with the gateway address; warnings: ${warnings.join(' | ')}`);
  sh(['ip', '-n', sbns('h1'), 'link', 'del', 'vxlan0']);
  // The tasks' macvlans went with their lower device, gw0 too.
  assert.ok(await until(async () => links(sbns('h1')).join() === 'gw0,lo,vxlan0' && links(tns('a')).includes('eth0') && await ping(tns('a'), TASKS.b.ip)), `a reaches b again; warnings: ${warnings.join(' | ')}`);
  assert.ok(await ping(tns('c2'), TASKS.b.ip), 'c2 too');
  assert.ok(await ping(tns('b'), TASKS.a.ip), 'and b reaches a (its MAC is a\'s again)');
});

t('a sandbox made by an older agent (a bridge, no task path recorded) keeps its bridge after a restart', async () => {
  for (const k of ['a', 'c2'] as const) await agents.h1!.detach(taskId(k));
  assert.not.ok(listNetns().includes(sbns('h1')), 'the sandbox went with its last task');
  await agents.h1!.close();
  agents.h1 = await open('h1', { taskPath: 'bridge' });
  await agents.h1.attach(fakeTask('a'));
  await setViews(['a', 'b', 'd']);
  assert.ok(links(sbns('h1')).includes('br0'));
  await agents.h1.close();
  // What an agent from before the macvlan path wrote: no `taskPath` in the sandbox's record.
  const file = join(dataRoot, 'h1', 'swarm', 'network', 'state.json');
  const state = JSON.parse(readFileSync(file, 'utf8')) as { sandboxes: Record<string, { taskPath?: string }> };
  for (const sb of Object.values(state.sandboxes)) { assert.is(sb.taskPath, 'bridge'); delete sb.taskPath; }
  writeFileSync(file, JSON.stringify(state));
  infos.length = 0;
  agents.h1 = await open('h1'); // the default: macvlan for new sandboxes
  assert.ok(infos.some((m) => m.includes('older agent')), 'recognised');
  await agents.h1.attach(fakeTask('d'));
  await setViews(['a', 'b', 'd']);
  assert.is(kind(tns('d'), 'eth0'), 'veth', 'a new task of the old sandbox gets a veth on its bridge');
  assert.ok(await until(() => ping(tns('d'), TASKS.b.ip)), 'd → b (h2, macvlan)');
  assert.ok(await ping(tns('d'), TASKS.a.ip), 'd → a (its task from before the restart)');
  await agents.h1.detach(taskId('d'));
  assert.equal(links(sbns('h1')).filter((l) => l.startsWith('v0')), [sandboxVethName(TASKS.a.ip)], 'd\'s veth went, a\'s stays');
  assert.ok(await ping(tns('a'), TASKS.b.ip), 'a still reaches b');
});

t.run();
