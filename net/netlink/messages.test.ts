import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NLM_F, NetlinkTranslateError, bridgeLine, ipBytes, ipLine, macBytes, macvlanLinkinfo, nla, removedLink, sandboxRequests, vethFromLines, vethLinkinfo } from './messages.ts';
import { attachTask, detachTask, macFromIp, syncPeers } from '../overlay/plan.ts';

const hex = (b: Buffer) => ({ $hex: b.toString('hex') });

test('an attribute is length, type and a payload padded to 4 bytes', () => {
  assert.equal([...nla(3, Buffer.from('ab\0'))], [7, 0, 3, 0, 0x61, 0x62, 0, 0]);
  assert.equal([...nla(4, Buffer.from([1, 0, 0, 0]))], [8, 0, 4, 0, 1, 0, 0, 0]);
});

test('a veth linkinfo names the kind and a peer with its name, MTU and a netns fd slot', () => {
  const { linkinfo, fdAt } = vethLinkinfo('eth0', 1450);
  // IFLA_INFO_KIND "veth"
  assert.equal([...linkinfo.subarray(0, 12)], [9, 0, 1, 0, 0x76, 0x65, 0x74, 0x68, 0, 0, 0, 0]);
  // IFLA_INFO_DATA { VETH_INFO_PEER { ifinfomsg, IFLA_IFNAME, IFLA_MTU, IFLA_NET_NS_FD } }
  assert.is(linkinfo.readUInt16LE(14), 2);
  assert.is(linkinfo.readUInt16LE(18), 1);
  assert.is(linkinfo.readUInt16LE(16), linkinfo.length - 16);
  assert.is(linkinfo.readUInt16LE(fdAt - 4), 8);
  assert.is(linkinfo.readUInt16LE(fdAt - 2), 28);
  assert.is(linkinfo.readUInt32LE(fdAt), 0);
  assert.is(fdAt + 4, linkinfo.length);
  const name = linkinfo.indexOf('eth0\0');
  assert.ok(name > 0);
  assert.is(linkinfo.readUInt32LE(linkinfo.indexOf(Buffer.from([8, 0, 4, 0])) + 4), 1450);
});

test('MACs and addresses become bytes; bad ones are refused', () => {
  assert.equal([...macBytes('02:42:0A:00:00:05')], [2, 0x42, 10, 0, 0, 5]);
  assert.equal([...ipBytes('192.168.100.2')], [192, 168, 100, 2]);
  assert.throws(() => macBytes('02:42:0a'), (e: unknown) => e instanceof NetlinkTranslateError);
  assert.throws(() => ipBytes('300.1.1.1'), (e: unknown) => e instanceof NetlinkTranslateError);
});

test('every line syncPeers writes has an rtnetlink form', () => {
  const p = (ip: string, vtep: string) => ({ ip, mac: macFromIp(ip), vtep });
  const cmds = syncPeers('10.0.0.1', [p('10.1.0.5', '10.0.0.2'), p('10.1.0.6', '10.0.0.3')], [p('10.1.0.5', '10.0.0.4')]);
  const reqs = sandboxRequests(cmds);
  assert.is(reqs.length, cmds.ip.length + cmds.bridge.length);
  assert.ok(reqs.every((r) => r.dev === 'vxlan0'));
});

test('a permanent FDB entry is a NEWNEIGH of family AF_BRIDGE with NTF_SELF, MAC and remote VTEP', () => {
  const r = bridgeLine('fdb replace 02:42:0a:01:00:05 dev vxlan0 dst 10.0.0.2 self permanent');
  assert.equal(r, {
    method: 'newNeighbor', data: { family: 7, state: { permanent: true }, flags: { self: true } },
    attrs: { lladdr: hex(Buffer.from([2, 0x42, 10, 1, 0, 5])), dst: hex(Buffer.from([10, 0, 0, 2])) },
    flags: NLM_F.CREATE | NLM_F.REPLACE, dev: 'vxlan0', line: 'fdb replace 02:42:0a:01:00:05 dev vxlan0 dst 10.0.0.2 self permanent',
  });
  assert.is(bridgeLine('fdb append 00:00:00:00:00:00 dev vxlan0 dst 10.0.0.3 self permanent').flags, NLM_F.CREATE | NLM_F.APPEND);
  const del = bridgeLine('fdb del 00:00:00:00:00:00 dev vxlan0 dst 10.0.0.3 self');
  assert.is(del.method, 'delNeighbor');
  assert.equal(del.data, { family: 7, flags: { self: true } });
});

test('a permanent neighbour is a NEWNEIGH of family AF_INET with address and MAC', () => {
  const r = ipLine('neigh replace 10.1.0.5 lladdr 02:42:0a:01:00:05 dev vxlan0 nud permanent');
  assert.is(r.method, 'newNeighbor');
  assert.equal(r.data, { family: 2, state: { permanent: true } });
  assert.equal(r.attrs, { dst: hex(Buffer.from([10, 1, 0, 5])), lladdr: hex(Buffer.from([2, 0x42, 10, 1, 0, 5])) });
  assert.is(r.flags, NLM_F.CREATE | NLM_F.REPLACE);
  assert.equal(ipLine('neigh del 10.1.0.5 dev vxlan0').attrs, { dst: hex(Buffer.from([10, 1, 0, 5])) });
});

test('the sandbox side of an attachment: veth into the task netns, master, up; and its removal', () => {
  const a = attachTask({ taskNetns: 'sb-t-1', index: 1, ip: '10.1.0.9', prefixBits: 24, mtu: 1400 });
  const [add, master, up] = a.sandbox.map(ipLine);
  assert.is(add.method, 'newLink');
  assert.is(add.attrs.ifname, 'v0a010009');
  assert.is(add.attrs.mtu, 1400);
  assert.is(add.flags, NLM_F.CREATE | NLM_F.EXCL);
  assert.equal(add.netns, { path: '/run/netns/sb-t-1', at: vethLinkinfo('eth1', 1400).fdAt });
  assert.equal(add.attrs.linkinfo, hex(vethLinkinfo('eth1', 1400).linkinfo));
  assert.equal([master.method, master.dev, master.master], ['setLink', 'v0a010009', 'br0']);
  assert.equal([up.method, up.dev, up.data], ['setLink', 'v0a010009', { flags: { up: true }, change: { up: true } }]);
  assert.equal(ipLine('link set x0 down').data, { flags: {}, change: { up: true } });
  const [del] = detachTask('10.1.0.9').map(ipLine);
  assert.equal([del.method, del.dev], ['delLink', 'v0a010009']);
});

test('the sandbox side of a macvlan attachment: one link made on vxlan0 into the task netns', () => {
  const a = attachTask({ taskNetns: 'sb-t-1', index: 1, ip: '10.1.0.9', prefixBits: 24, mtu: 1400, taskPath: 'macvlan' });
  assert.is(a.sandbox.length, 1);
  const add = ipLine(a.sandbox[0]);
  assert.equal([add.method, add.attrs.ifname, add.attrs.mtu, add.lower, add.flags], ['newLink', 'eth1', 1400, 'vxlan0', NLM_F.CREATE | NLM_F.EXCL]);
  assert.equal(add.netns, { path: '/run/netns/sb-t-1' });
  assert.equal(add.attrs.linkinfo, hex(macvlanLinkinfo()));
  assert.is(vethFromLines(a.sandbox), undefined);
  assert.throws(() => ipLine('link add link vxlan0 name eth1 netns ../x mtu 1400 type macvlan mode bridge'), (e: unknown) => e instanceof NetlinkTranslateError);
  assert.throws(() => ipLine('link add link vxlan0 name eth1 netns x mtu 1400 type macvlan mode vepa'), (e: unknown) => e instanceof NetlinkTranslateError);
});

test('a line without an rtnetlink form is refused, never half-understood', () => {
  for (const l of ['addr add 10.1.0.9/33 dev eth0', 'addr add 10.1.0.9/24 brd + dev eth0', 'neigh flush dev vxlan0 nud permanent', 'link set eth0 address 02:42:0a:01',
    'link add vx-1 type vxlan id 1 local 10.0.0.1 dstport 4789 nolearning proxy', 'link set v1 netns other', 'link add v mtu 1 type veth peer name e mtu 1 netns ../x']) {
    assert.throws(() => ipLine(l), (e: unknown) => e instanceof NetlinkTranslateError, l);
  }
  for (const l of ['fdb flush dev vxlan0 self', 'fdb del 02:42:0a:01:00:05 dev vxlan0 dst 10.0.0.2 self permanent', 'fdb replace 02:42:0a:01:00:05 dev vxlan0 dst 10.0.0.2 self']) {
    assert.throws(() => bridgeLine(l), (e: unknown) => e instanceof NetlinkTranslateError, l);
  }
});

test('attachTask\'s sandbox lines are one veth for the in-process path; anything else is not', () => {
  const a = attachTask({ taskNetns: 'sb-t-1', index: 2, ip: '10.1.0.9', prefixBits: 24, mtu: 1400 });
  assert.equal(vethFromLines(a.sandbox), { name: 'v0a010009', mtu: 1400, peer: 'eth2', peerMtu: 1400, peerNetns: 'sb-t-1', master: 'br0' });
  assert.is(vethFromLines(a.sandbox.slice(0, 2)), undefined);
  assert.is(vethFromLines([a.sandbox[0], 'link set other master br0', a.sandbox[2]]), undefined);
  assert.is(vethFromLines([a.sandbox[0], a.sandbox[1], 'link set v0a010009 down']), undefined);
  assert.is(vethFromLines(detachTask('10.1.0.9')), undefined);
  // A lab's prefixed netns names are longer than an interface name may be.
  const long = attachTask({ taskNetns: 'shoaldp4643n0-t-dp014task000', index: 0, ip: '10.1.0.9', prefixBits: 24, mtu: 1400 });
  assert.is(vethFromLines(long.sandbox)?.peerNetns, 'shoaldp4643n0-t-dp014task000');
  assert.is(ipLine(long.sandbox[0]).netns?.path, '/run/netns/shoaldp4643n0-t-dp014task000');
  assert.is(vethFromLines([long.sandbox[0].replace('netns shoal', 'netns ../shoal'), long.sandbox[1], long.sandbox[2]]), undefined);
});

test('a removed device is read from RTM_DELLINK; a port leaving its bridge is not a removal', () => {
  const ifinfo = (family: number, index: number) => { const b = Buffer.alloc(16); b[0] = family; b.writeInt32LE(index, 4); return b; };
  const msg = Buffer.concat([ifinfo(0, 7), nla(4, Buffer.from([0xaa, 5, 0, 0])), nla(3, Buffer.from('vxlan0\0'))]);
  assert.equal(removedLink(msg), { index: 7, ifname: 'vxlan0' });
  assert.is(removedLink(Buffer.concat([ifinfo(7, 7), nla(3, Buffer.from('v0a010009\0'))])), undefined);
  assert.is(removedLink(ifinfo(0, 7)), undefined);
  assert.is(removedLink(Buffer.alloc(8)), undefined);
});

test('a task\'s side of its veth: its MAC, its address as `ip addr add` sends it', () => {
  const a = attachTask({ taskNetns: 't-1', index: 0, ip: '10.1.0.9', prefixBits: 24, mtu: 1400 });
  const reqs = a.task.map(ipLine);
  assert.equal(reqs.map((r) => r.method), ['setLink', 'newAddr', 'setLink', 'setLink']);
  assert.equal(reqs[0].attrs, { address: { $hex: Buffer.from(macFromIp('10.1.0.9').split(':').map((x) => parseInt(x, 16))).toString('hex') } });
  assert.equal(reqs[1], {
    method: 'newAddr', data: { family: 2, prefixlen: 24 }, attrs: { local: { $hex: '0a010009' }, address: { $hex: '0a010009' } },
    flags: NLM_F.CREATE | NLM_F.EXCL, dev: 'eth0', line: 'addr add 10.1.0.9/24 dev eth0',
  });
});

test('task veths deleted as a group: each put in the group, then the group (no device) deleted', () => {
  assert.equal(ipLine('link set v1 group 7'), { method: 'setLink', data: {}, attrs: { group: 7 }, flags: 0, dev: 'v1', line: 'link set v1 group 7' });
  assert.equal(ipLine('link del group 7'), { method: 'delLink', data: {}, attrs: { group: 7 }, flags: 0, line: 'link del group 7' });
  assert.throws(() => ipLine('link del group 99999999999'), (e: unknown) => e instanceof NetlinkTranslateError);
});

test.run();
