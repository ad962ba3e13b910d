import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSandbox } from '../overlay/plan.ts';
import { vxlanRepair } from './repair.ts';

const spec = { vni: 4100, subnet: '10.9.0.0/24', gateway: '10.9.0.1', localVtep: '192.168.100.1', mtu: 1450, sandbox: 'sb-x' };

test('the VXLAN device is made again in the host netns, moved in, renamed, put on the bridge and brought up', () => {
  const r = vxlanRepair(spec);
  const all = createSandbox(spec);
  assert.equal(r.host, all.host.filter((l) => l.includes('vx-4100')));
  assert.ok(r.host[0].startsWith('link add vx-4100 type vxlan id 4100'));
  assert.ok(r.host.some((l) => l === 'link set vx-4100 netns sb-x'));
  assert.ok(r.ip.includes('link set vx-4100 name vxlan0'));
  assert.ok(r.ip.includes('link set vxlan0 master br0'));
  assert.ok(r.ip.includes('link set vxlan0 up'));
});

test('nothing of the bridge is made again: it is still there, with the task veths', () => {
  const r = vxlanRepair(spec);
  assert.not.ok([...r.host, ...r.ip, ...r.bridge].some((l) => /^link add br0|^addr add|^link set br0/.test(l)));
});

test('on the macvlan task path the gateway macvlan comes back with its lower device', () => {
  const r = vxlanRepair({ ...spec, taskPath: 'macvlan' });
  assert.ok(r.ip.includes('link add link vxlan0 name gw0 address 02:42:0a:09:00:01 mtu 1450 type macvlan mode bridge'));
  assert.ok(r.ip.includes('addr add 10.9.0.1/24 dev gw0'));
  assert.ok(r.ip.includes('link set gw0 up'));
  assert.not.ok(r.ip.some((l) => l.includes('br0')));
});

test.run();
