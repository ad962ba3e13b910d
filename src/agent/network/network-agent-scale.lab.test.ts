// Many tasks on one node (root, real kernel): 20 tasks attached at once, a view that adds
// a backend reaches every task's VIP table, detaching them all leaves nothing; and a state
// file left by a crash mid-way is cleaned up by open(). Prints the timings. Everything is
// this test's own and removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../api/types/task.ts';
import type { NodeNetworkView } from '../../wire/network-view-types.ts';
import { nullLogger } from '../../common/logger.ts';
import { macFromIp } from '../../../net/overlay/index.ts';
import { NetworkAgent } from './network-agent.ts';
import { StateFile } from './state.ts';
import { listNetns } from '../../../labs/lib/netns.ts';

const tag = `shoal-nas${process.pid}`;
const HOST_NS = `${tag}-h`;
const prefix = `${tag}x-`;
const VTEP = '192.168.100.11';
const N = 20;
const dataRoot = mkdtempSync(join(tmpdir(), 'shoal-nas-'));
const NET = { id: 'scalenet00000000000000000', subnet: '10.98.0.0/24', gateway: '10.98.0.1', vni: 4296 };
const VIP = '10.98.0.2';
const ip = (i: number) => `10.98.0.${10 + i}`;
const id = (i: number) => `scale${String(i).padStart(2, '0')}task000000000000`;
const t = suite('network-agent-scale');
let agent: NetworkAgent | undefined;

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const ours = () => listNetns().filter((n) => n.startsWith(tag));

function task(i: number): Task {
  return {
    ID: id(i), Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: {} as Task['Spec'], ServiceID: 'svc-web', Slot: i + 1,
    Name: `web.${i + 1}.${id(i)}`, Status: { Timestamp: '', State: 'assigned', Message: '' }, DesiredState: 'running',
    NetworksAttachments: [{
      Network: { ID: NET.id, Spec: { Name: 'scale' }, Allocation: { Subnet: NET.subnet, Gateway: NET.gateway, IPRange: NET.subnet, VNI: NET.vni, MTU: 1450 } },
      Addresses: [`${ip(i)}/24`],
    }],
  } as Task;
}

function view(backends: number): NodeNetworkView {
  const all = Array.from({ length: N }, (_, i) => i);
  return {
    vtep: VTEP,
    networks: [{
      id: NET.id, name: 'scale', ingress: false, subnet: NET.subnet, gateway: NET.gateway, vni: NET.vni, mtu: 1450,
      peers: all.map((i) => ({ ip: ip(i), mac: macFromIp(ip(i)), vtep: VTEP })),
      services: [{ id: 'svc-web', name: 'web', endpointMode: 'vip', vip: VIP, aliases: [], tasks: all.slice(0, backends).map((i) => ({ name: `web.${i + 1}.${id(i)}`, ip: ip(i) })) }],
    }],
  };
}

const open = () => NetworkAgent.open({ dataRoot, logger: nullLogger, localAddr: () => VTEP, upstreams: [], hostNetns: HOST_NS, namePrefix: prefix, gateway: null });

t.before(async () => {
  sh(['ip', 'netns', 'add', HOST_NS]);
  sh(['ip', '-n', HOST_NS, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1']); // no dummy module here
  sh(['ip', '-n', HOST_NS, 'link', 'set', 'u1', 'up']);
  sh(['ip', '-n', HOST_NS, 'addr', 'add', `${VTEP}/24`, 'dev', 'u0']);
  sh(['ip', '-n', HOST_NS, 'link', 'set', 'u0', 'up']);
  agent = await open();
});

t.after(async () => {
  const errors: string[] = [];
  await agent?.removeAll().catch((e) => errors.push(String(e)));
  for (const n of ours()) spawnSync('ip', ['netns', 'del', n]);
  rmSync(dataRoot, { recursive: true, force: true });
  const left = ours();
  if (left.length || errors.length) throw new Error(`clean-up: left ${JSON.stringify(left)} ${errors.join('; ')}`);
});

t(`${N} tasks attached at once; a new backend reaches every VIP table`, async () => {
  agent!.setView(view(N - 1));
  await agent!.settled();
  let t0 = performance.now();
  await Promise.all(Array.from({ length: N }, (_, i) => agent!.attach(task(i))));
  const attachMs = performance.now() - t0;
  await agent!.settled();
  t0 = performance.now();
  agent!.setView(view(N));
  await agent!.settled();
  const viewMs = performance.now() - t0;
  t0 = performance.now();
  agent!.setView({ ...view(N), networks: [{ ...view(N).networks[0] }] }); // same content: no nft run
  await agent!.settled();
  const sameMs = performance.now() - t0;
  console.log(`  attach ${N} at once: ${attachMs.toFixed(0)} ms; view adding a backend to ${N} VIP tables: ${viewMs.toFixed(0)} ms; unchanged view: ${sameMs.toFixed(1)} ms`);
  for (let i = 0; i < N; i++) {
    const nsName = `${prefix}t-${id(i).slice(0, 12)}`;
    assert.match(sh(['ip', 'netns', 'exec', nsName, 'nft', 'list', 'table', 'ip', 'shoal-lb']), ip(N - 1), `task ${i}`);
  }
  assert.is(agent!.endpoints(NET.id).length, N);
  // The macvlan task path: nothing of a task in the sandbox (no veth), each task's eth0 a
  // macvlan made in its own netns.
  const sandbox = listNetns().find((n) => n.startsWith(`${prefix}sb-`))!;
  const sandboxLinks = () => sh(['ip', '-n', sandbox, '-o', 'link', 'show']).split('\n').filter(Boolean).map((l) => l.split(':')[1].trim().split('@')[0]).sort();
  const tns = (i: number) => `${prefix}t-${id(i).slice(0, 12)}`;
  const macvlans = () => Array.from({ length: N }, (_, i) => i).filter((i) => listNetns().includes(tns(i))
    && spawnSync('ip', ['-n', tns(i), '-o', 'link', 'show', 'eth0', 'type', 'macvlan'], { encoding: 'utf8' }).stdout.includes('eth0')).length;
  assert.equal(sandboxLinks(), ['gw0', 'lo', 'vxlan0']);
  assert.is(macvlans(), N);
  t0 = performance.now();
  await Promise.all(Array.from({ length: N - 1 }, (_, i) => agent!.detach(id(i + 1))));
  console.log(`  detach ${N - 1} at once: ${(performance.now() - t0).toFixed(0)} ms`);
  assert.is(macvlans(), 1, 'only the first task\'s macvlan is left');
  assert.equal(sandboxLinks(), ['gw0', 'lo', 'vxlan0'], 'nothing left in the sandbox');
  assert.is(agent!.endpoints(NET.id).length, 1);
  // Their addresses (and MACs) again at once: an attach whose MAC a detached task's macvlan
  // still holds (its netns not freed yet) waits for it.
  await Promise.all(Array.from({ length: N - 1 }, (_, i) => agent!.attach(task(i + 1))));
  assert.is(macvlans(), N);
  await Promise.all(Array.from({ length: N }, (_, i) => agent!.detach(id(i))));
  assert.equal(ours(), [HOST_NS], 'only the host netns is left');
  // At once again on the same network (same VNI) while the old sandbox may still be dying.
  for (let round = 0; round < 3; round++) {
    await agent!.attach(task(0));
    await agent!.detach(id(0));
  }
  assert.equal(ours(), [HOST_NS]);
});

t('open() removes what a crash left half-made and forgets what is gone', async () => {
  await agent!.close();
  agent = undefined;
  const half = `${prefix}sb-halfmade0000`;
  const halfTask = `${prefix}t-halftask0000`;
  sh(['ip', 'netns', 'add', half]);
  sh(['ip', 'netns', 'add', halfTask]);
  const file = new StateFile(dataRoot);
  file.save({
    sandboxes: { halfmade: { networkId: 'halfmade', vni: 4297, subnet: '10.97.0.0/24', gateway: '10.97.0.1', mtu: 1450, netns: half, peers: [], ready: false } },
    tasks: {
      gone: { taskId: 'gone', name: 'x.1.gone', netns: `${prefix}t-gone`, attachments: [], hostPorts: [] },
      half: { taskId: 'half', name: 'x.1.half', netns: halfTask, attachments: [], hostPorts: [], ready: false },
    },
  });
  agent = await open();
  assert.not.ok(ours().includes(half), 'half-made sandbox removed');
  assert.not.ok(ours().includes(halfTask), 'half-attached task netns removed');
  assert.equal(file.load(), { sandboxes: {}, tasks: {} });
});

t.run();
