// The data plane puts back what is removed behind its back (root, real kernel): a task on
// an overlay with remote peers; someone deletes the sandbox's VXLAN device; the agent,
// told by the sandbox's rtnetlink helper, makes it again on the bridge and programs the
// peers anew. Everything is this test's own (prefix `shoalrp`) and removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../src/api/types/task.ts';
import type { NodeNetworkView } from '../../src/wire/network-view-types.ts';
import { nullLogger } from '../../src/common/logger.ts';
import { macFromIp } from '../../net/overlay/index.ts';
import { NetworkAgent } from '../../src/agent/network/network-agent.ts';
import { listNetns } from '../lib/netns.ts';
import { waitFor } from '../lib/swarm-lab.ts';

const tag = `shoalrp${process.pid % 100000}`;
const HOST_NS = `${tag}-h`;
const prefix = `${tag}x-`;
const VTEP = '192.168.100.11';
const NET = { id: 'repairnet0000000000000000', subnet: '10.93.0.0/24', gateway: '10.93.0.1', vni: 4700 };
const TASK_ID = 'repairtask00000000000000';
const SB = `${prefix}sb-${NET.id.slice(0, 12)}`;
const dataRoot = mkdtempSync(join(tmpdir(), 'shoal-rp-'));
const t = suite('dataplane-repair');
let agent: NetworkAgent | undefined;

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const ours = () => listNetns().filter((n) => n.startsWith(tag));

const task = {
  ID: TASK_ID, Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: {} as Task['Spec'], ServiceID: 'svc-rp', Slot: 1,
  Name: `rp.1.${TASK_ID}`, Status: { Timestamp: '', State: 'assigned', Message: '' }, DesiredState: 'running',
  NetworksAttachments: [{
    Network: { ID: NET.id, Spec: { Name: 'rp' }, Allocation: { Subnet: NET.subnet, Gateway: NET.gateway, IPRange: NET.subnet, VNI: NET.vni, MTU: 1450 } },
    Addresses: ['10.93.0.10/24'],
  }],
} as Task;

const remote = { ip: '10.93.0.20', mac: macFromIp('10.93.0.20'), vtep: '192.168.100.12' };
const view: NodeNetworkView = {
  vtep: VTEP,
  networks: [{
    id: NET.id, name: 'rp', ingress: false, subnet: NET.subnet, gateway: NET.gateway, vni: NET.vni, mtu: 1450,
    peers: [{ ip: '10.93.0.10', mac: macFromIp('10.93.0.10'), vtep: VTEP }, remote],
    services: [],
  }],
};

/** The sandbox's VXLAN device, as `ip -d -json` shows it (undefined while it is not there). */
function vxlan(): { master?: string; flags: string[]; linkinfo: { info_data: { id: number } } } | undefined {
  const r = spawnSync('ip', ['-n', SB, '-d', '-json', 'link', 'show', 'vxlan0'], { encoding: 'utf8' });
  return r.status === 0 ? JSON.parse(r.stdout)[0] : undefined;
}

const fdbHas = (mac: string) => spawnSync('bridge', ['-n', SB, 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' }).stdout.includes(`${mac} dst ${remote.vtep}`);

t.before(async () => {
  sh(['ip', 'netns', 'add', HOST_NS]);
  sh(['ip', '-n', HOST_NS, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1']);
  sh(['ip', '-n', HOST_NS, 'link', 'set', 'u1', 'up']);
  sh(['ip', '-n', HOST_NS, 'addr', 'add', `${VTEP}/24`, 'dev', 'u0']);
  sh(['ip', '-n', HOST_NS, 'link', 'set', 'u0', 'up']);
  // The bridge task path (the ingress sandbox's, an older agent's): the macvlan path's repair is src/agent/network/task-path.lab.test.ts's.
  agent = await NetworkAgent.open({ dataRoot, logger: nullLogger, localAddr: () => VTEP, upstreams: [], hostNetns: HOST_NS, namePrefix: prefix, gateway: null, wireguard: null, taskPath: 'bridge' });
});

t.after(async () => {
  const errors: string[] = [];
  await agent?.removeAll().catch((e) => errors.push(String(e)));
  for (const n of ours()) spawnSync('ip', ['netns', 'del', n]);
  rmSync(dataRoot, { recursive: true, force: true });
  const left = ours();
  if (left.length || errors.length) throw new Error(`clean-up: left ${JSON.stringify(left)} ${errors.join('; ')}`);
});

t('a VXLAN device deleted behind our back is made again, on the bridge, with its peers', async () => {
  agent!.setView(view);
  await agent!.settled();
  await agent!.attach(task);
  await agent!.settled();
  await waitFor('the remote peer programmed', () => fdbHas(remote.mac), { timeoutMs: 10_000, intervalMs: 20 });
  sh(['ip', '-n', SB, 'link', 'del', 'vxlan0']);
  await waitFor('vxlan0 back, up, on br0, with the remote peer', () => {
    const v = vxlan();
    return v !== undefined && v.master === 'br0' && v.flags.includes('UP') && fdbHas(remote.mac);
  }, { timeoutMs: 10_000, intervalMs: 20 });
  assert.is(vxlan()!.linkinfo.info_data.id, NET.vni);
  const neigh = sh(['ip', '-n', SB, 'neigh', 'show', 'dev', 'vxlan0']);
  assert.match(neigh, `${remote.ip} lladdr ${remote.mac} PERMANENT`);
  await agent!.detach(TASK_ID);
});

t.run();
