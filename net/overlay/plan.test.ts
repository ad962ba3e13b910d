import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attachTask, checkTaskPath, createSandbox, detachTask, gatewayRepair, linesNaming, macFromIp, syncPeers, type Peer } from './plan.ts';
import { OverlaySpecError } from './errors.ts';

const H1 = '192.168.100.1';
const H2 = '192.168.100.2';
const H3 = '192.168.100.3';
const peer = (ip: string, vtep: string): Peer => ({ ip, mac: macFromIp(ip), vtep });

test('MACs derive from addresses as Docker does', () => {
  assert.is(macFromIp('10.0.0.5'), '02:42:0a:00:00:05');
  assert.is(macFromIp('10.255.1.200'), '02:42:0a:ff:01:c8');
});

test('a sandbox: VXLAN made on the underlay then moved in, bridge with the gateway, MTU everywhere', () => {
  const c = createSandbox({ vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', localVtep: H1, mtu: 1450, sandbox: 'sb-n1' });
  assert.equal(c.host, [
    'link add vx-4096 type vxlan id 4096 local 192.168.100.1 dstport 4789 nolearning proxy noudpcsum',
    'link set vx-4096 mtu 1450',
    'link set vx-4096 netns sb-n1',
  ]);
  assert.equal(c.ip, [
    'link set vx-4096 name vxlan0', 'link add br0 type bridge', 'link set br0 mtu 1450', 'addr add 10.0.0.1/24 dev br0',
    'link set vxlan0 master br0', 'link set vxlan0 up', 'link set br0 up', 'link set lo up',
  ]);
});

test('the macvlan task path: no bridge, the gateway on a macvlan of vxlan0, tasks made straight into their netns', () => {
  const c = createSandbox({ vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', localVtep: H1, mtu: 1450, sandbox: 'sb-n1', taskPath: 'macvlan' });
  assert.equal(c.ip, [
    'link set vx-4096 name vxlan0', 'link add link vxlan0 name gw0 address 02:42:0a:00:00:01 mtu 1450 type macvlan mode bridge', 'addr add 10.0.0.1/24 dev gw0',
    'link set vxlan0 up', 'link set gw0 up', 'link set lo up',
  ]);
  const a = attachTask({ taskNetns: 't-1', index: 1, ip: '10.0.0.5', prefixBits: 24, mtu: 1450, taskPath: 'macvlan' });
  assert.equal(a.sandbox, ['link add link vxlan0 name eth1 netns t-1 mtu 1450 type macvlan mode bridge']);
  assert.equal(a.task[0], 'link set eth1 address 02:42:0a:00:00:05');
  // Explicitly 'bridge' is the default.
  assert.equal(attachTask({ taskNetns: 't-1', index: 0, ip: '10.0.0.5', prefixBits: 24, mtu: 1450, taskPath: 'bridge' }), attachTask({ taskNetns: 't-1', index: 0, ip: '10.0.0.5', prefixBits: 24, mtu: 1450 }));
  for (const taskPath of ['ipvlan', ''] as never[]) {
    assert.throws(() => createSandbox({ vni: 1, subnet: '10.0.0.0/24', gateway: '10.0.0.1', localVtep: H1, mtu: 1450, sandbox: 's', taskPath }), (e: unknown) => e instanceof OverlaySpecError && /task path/.test((e as Error).message));
    assert.throws(() => attachTask({ taskNetns: 't', index: 0, ip: '10.0.0.5', prefixBits: 24, mtu: 1450, taskPath }), (e: unknown) => e instanceof OverlaySpecError);
  }
});

test('checkTaskPath passes bridge and macvlan and refuses anything else, undefined too', () => {
  checkTaskPath('bridge');
  checkTaskPath('macvlan');
  for (const p of ['ipvlan', '', undefined, 1]) {
    assert.throws(() => checkTaskPath(p), (e: unknown) => e instanceof OverlaySpecError && (e as Error).message.includes(`"${String(p)}"`), String(p));
  }
});

test('linesNaming keeps, in order, the lines that name a device as a whole word', () => {
  const cmds = { host: ['link add vx-1 type vxlan', 'link set vx-10 up'], ip: ['link set gw0 up', 'addr add 10.0.0.1/24 dev gw01', 'link set lo up'], bridge: ['fdb append 00:00:00:00:00:00 dev vxlan0'] };
  assert.equal(linesNaming(cmds, ['vx-1', 'gw0']), { host: ['link add vx-1 type vxlan'], ip: ['link set gw0 up'], bridge: [] });
  assert.equal(linesNaming(cmds, []), { host: [], ip: [], bridge: [] });
});

test('only gw0 comes back when it alone went', () => {
  const spec = { vni: 4096, subnet: '10.0.0.0/24', gateway: '10.0.0.1', localVtep: H1, mtu: 1450, sandbox: 'sb-n1' };
  assert.equal(gatewayRepair(spec), ['link add link vxlan0 name gw0 address 02:42:0a:00:00:01 mtu 1450 type macvlan mode bridge', 'addr add 10.0.0.1/24 dev gw0', 'link set gw0 up']);
});

test('new remote peers get an FDB entry, a neighbour entry and one flood entry per node; local ones nothing', () => {
  const c = syncPeers(H1, [], [peer('10.0.0.6', H2), peer('10.0.0.5', H1), peer('10.0.0.7', H2)]);
  assert.equal(c.bridge, [
    'fdb append 00:00:00:00:00:00 dev vxlan0 dst 192.168.100.2 self permanent',
    'fdb replace 02:42:0a:00:00:06 dev vxlan0 dst 192.168.100.2 self permanent',
    'fdb replace 02:42:0a:00:00:07 dev vxlan0 dst 192.168.100.2 self permanent',
  ]);
  assert.equal(c.ip, [
    'neigh replace 10.0.0.6 lladdr 02:42:0a:00:00:06 dev vxlan0 nud permanent',
    'neigh replace 10.0.0.7 lladdr 02:42:0a:00:00:07 dev vxlan0 nud permanent',
  ]);
});

test('a diff removes gone peers first, moves a changed one, and drops a node no peer uses', () => {
  const from = [peer('10.0.0.6', H2), peer('10.0.0.7', H3)];
  const to = [peer('10.0.0.6', H3)];
  const c = syncPeers(H1, from, to);
  assert.equal(c.ip, [
    'neigh del 10.0.0.6 dev vxlan0', 'neigh del 10.0.0.7 dev vxlan0',
    'neigh replace 10.0.0.6 lladdr 02:42:0a:00:00:06 dev vxlan0 nud permanent',
  ]);
  assert.equal(c.bridge, [
    'fdb del 02:42:0a:00:00:06 dev vxlan0 dst 192.168.100.2 self',
    'fdb del 02:42:0a:00:00:07 dev vxlan0 dst 192.168.100.3 self',
    'fdb del 00:00:00:00:00:00 dev vxlan0 dst 192.168.100.2 self',
    'fdb replace 02:42:0a:00:00:06 dev vxlan0 dst 192.168.100.3 self permanent',
  ]);
});

test('an unchanged peer table needs no command', () => {
  const ps = [peer('10.0.0.6', H2), peer('10.0.0.7', H3)];
  assert.equal(syncPeers(H1, ps, [...ps].reverse()), { host: [], ip: [], bridge: [] });
});

test('a bad MAC is refused, naming it', () => {
  assert.throws(() => syncPeers(H1, [], [{ ip: '10.0.0.6', mac: 'zz', vtep: H2 }]), (e: Error) => e instanceof OverlaySpecError && e.message.includes('"zz"'));
});

test('a task attachment: veth eth<index> into the task netns, on the bridge, MAC from the address', () => {
  const a = attachTask({ taskNetns: 'task-1', index: 1, ip: '10.0.0.7', prefixBits: 24, mtu: 1450 });
  assert.equal(a.sandbox, [
    'link add v0a000007 mtu 1450 type veth peer name eth1 mtu 1450 netns task-1', 'link set v0a000007 master br0', 'link set v0a000007 up',
  ]);
  assert.equal(a.task, ['link set eth1 address 02:42:0a:00:00:07', 'addr add 10.0.0.7/24 dev eth1', 'link set eth1 up', 'link set lo up']);
  assert.equal(detachTask('10.0.0.7'), ['link del v0a000007']);
  assert.throws(() => attachTask({ taskNetns: 't', index: -1, ip: '10.0.0.7', prefixBits: 24, mtu: 1450 }), (e: Error) => e instanceof OverlaySpecError);
});

test.run();
