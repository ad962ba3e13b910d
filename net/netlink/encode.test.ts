// rtnetlink messages from the overlay's requests (encode.ts): the same fixed part and the
// same attributes as the `netlink` package's own formatters make from them (its pure
// encoders, no socket), a netns fd slot at the right byte, and unknown fields refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { ADDR_INDEX_AT, NetlinkEncodeError, RTM, encodeRequest, getLinkRequest } from './encode.ts';
import { bridgeLine, ipLine, macvlanLinkinfo, vethLinkinfo, type NlRequest } from './messages.ts';
import { attachTask, detachTask, macFromIp, syncPeers } from '../overlay/plan.ts';

const require = createRequire(import.meta.url);
const pkg = require('netlink/dist/rt/structs.js') as { formatNeighborMessage: (x: unknown, s: unknown) => void; formatLinkMessage: (x: unknown, s: unknown) => void };
const { AttrStream } = require('netlink/dist/structs.js') as { AttrStream: new () => { bufs: Buffer[] } };

const INDEX: Record<string, number> = { vxlan0: 7, br0: 9 };
const indexOf = (n: string) => INDEX[n] ?? 99;
const revive = (v: unknown): unknown => (v && typeof v === 'object'
  ? (typeof (v as { $hex?: string }).$hex === 'string' ? Buffer.from((v as { $hex: string }).$hex, 'hex') : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)])))
  : v);

/** The fixed part and the attributes (type → payload, sorted by type): attribute order is free in rtnetlink. */
function split(payload: Buffer, fixed: number): { head: number[]; attrs: [number, number[]][] } {
  const attrs: [number, number[]][] = [];
  for (let o = fixed; o + 4 <= payload.length;) {
    const len = payload.readUInt16LE(o);
    attrs.push([payload.readUInt16LE(o + 2), [...payload.subarray(o + 4, o + len)]]);
    o += (len + 3) & ~3;
  }
  return { head: [...payload.subarray(0, fixed)], attrs: attrs.sort((a, b) => a[0] - b[0]) };
}

/** What the package makes of `r` (indexes filled in as the relay's daemon side does, links named by IFLA_IFNAME). */
function packageMessage(r: NlRequest): Buffer {
  const s = new AttrStream();
  const neigh = r.method.endsWith('Neighbor');
  const data = { ...(revive(r.data) as object), ...(neigh ? { ifindex: indexOf(r.dev!) } : {}) };
  const attrs = { ...(revive(r.attrs) as object), ...(r.master ? { master: indexOf(r.master) } : {}), ...(!neigh && r.dev ? { ifname: r.dev } : {}) };
  (neigh ? pkg.formatNeighborMessage : pkg.formatLinkMessage)({ kind: neigh ? 'neighbor' : 'link', data, attrs }, s);
  return Buffer.concat(s.bufs);
}

test('every request the overlay makes is the message the netlink package would make', () => {
  const p = (ip: string, vtep: string) => ({ ip, mac: macFromIp(ip), vtep });
  const peers = syncPeers('10.0.0.1', [p('10.1.0.5', '10.0.0.2'), p('10.1.0.6', '10.0.0.3')], [p('10.1.0.5', '10.0.0.4'), p('10.1.0.7', '10.0.0.2')]);
  const a = attachTask({ taskNetns: 'sb-t-1', index: 1, ip: '10.1.0.9', prefixBits: 24, mtu: 1400 });
  const reqs = [...peers.ip.map(ipLine), ...peers.bridge.map(bridgeLine), ...a.sandbox.map(ipLine), ...detachTask('10.1.0.9').map(ipLine), ipLine('link set v1 down'), ipLine('link set eth0 address 02:42:0a:01:00:09'),
    ...['link set v1 group 1577058305', 'link set v2 group 1577058305', 'link del group 1577058305'].map(ipLine)];
  assert.ok(reqs.some((r) => r.method === 'delNeighbor') && reqs.some((r) => r.method === 'newLink'));
  for (const r of reqs) {
    const msg = encodeRequest(r, 42, indexOf).msg;
    const fixed = r.method.endsWith('Neighbor') ? 12 : 16;
    assert.equal(split(msg.subarray(16), fixed), split(packageMessage(r), fixed), r.line);
    assert.is(msg.readUInt32LE(0), msg.length);
    assert.is(msg.readUInt32LE(8), 42);
    assert.is(msg.readUInt16LE(6), 1 | 4 | r.flags, `${r.line}: REQUEST|ACK and its own flags`);
  }
});

test('message types follow the request', () => {
  const type = (r: NlRequest) => encodeRequest(r, 1, indexOf).msg.readUInt16LE(4);
  assert.is(type(bridgeLine('fdb append 00:00:00:00:00:00 dev vxlan0 dst 10.0.0.3 self permanent')), RTM.NEWNEIGH);
  assert.is(type(ipLine('neigh del 10.1.0.5 dev vxlan0')), RTM.DELNEIGH);
  assert.is(type(ipLine('link set v1 up')), RTM.SETLINK);
  assert.is(type(ipLine('link del v1')), RTM.DELLINK);
  assert.is(type(ipLine('link set v1 group 7')), RTM.SETLINK);
  assert.is(type(ipLine('link del group 7')), RTM.DELLINK);
});

test('an address: ifaddrmsg (family, prefix, index of its device), IFA_ADDRESS and IFA_LOCAL, CREATE|EXCL', () => {
  const msg = encodeRequest(ipLine('addr add 10.1.0.9/22 dev br0'), 5, indexOf).msg;
  assert.equal([msg.readUInt16LE(4), msg.readUInt16LE(6), msg.readUInt32LE(8)], [RTM.NEWADDR, 1 | 4 | 0x400 | 0x200, 5]);
  assert.equal(split(msg.subarray(16), 8), { head: [2, 22, 0, 0, 9, 0, 0, 0], attrs: [[1, [10, 1, 0, 9]], [2, [10, 1, 0, 9]]] });
  assert.is(msg.readUInt32LE(ADDR_INDEX_AT), 9, 'the index where the netns helper writes it');
});

test('a group delete names no link: index 0, no IFLA_IFNAME, the group as IFLA_GROUP', () => {
  const msg = encodeRequest(ipLine('link del group 1577058305'), 1, indexOf).msg;
  assert.equal(split(msg.subarray(16), 16), { head: Array(16).fill(0), attrs: [[27, [1, 0, 0, 0x5e]]] });
  // Neither a name nor a group: no link at all, refused.
  assert.throws(() => encodeRequest({ ...ipLine('link del group 7'), attrs: {} }, 1, indexOf), (e: unknown) => e instanceof NetlinkEncodeError);
  const get = getLinkRequest('br0', 3);
  assert.equal([get.readUInt16LE(4), get.readUInt32LE(8), get.subarray(36).toString('latin1')], [RTM.GETLINK, 3, 'br0\0']);
});

test('a veth into another netns names the byte where the relay writes that netns\'s fd', () => {
  const r = ipLine('link add v1 mtu 1400 type veth peer name eth0 mtu 1400 netns sb-t-1');
  const { msg, fd } = encodeRequest(r, 1, indexOf);
  assert.is(fd?.path, '/run/netns/sb-t-1');
  const { linkinfo, fdAt } = vethLinkinfo('eth0', 1400);
  assert.is(msg.indexOf(linkinfo) + fdAt, fd!.at);
  assert.is(msg.readUInt16LE(fd!.at - 2), 28, 'IFLA_NET_NS_FD');
});

test('a macvlan made into the task netns: its lower by index (IFLA_LINK), its own netns fd slot, bridge mode', () => {
  const r = ipLine('link add link vxlan0 name eth0 netns sb-t-1 mtu 1400 type macvlan mode bridge');
  const { msg, fd } = encodeRequest(r, 1, (n) => (n === 'vxlan0' ? 42 : 0));
  assert.is(fd?.path, '/run/netns/sb-t-1');
  assert.is(msg.readUInt16LE(fd!.at - 2), 28, 'IFLA_NET_NS_FD');
  const link = msg.indexOf(Buffer.from([8, 0, 5, 0]));
  assert.ok(link > 0, 'IFLA_LINK');
  assert.is(msg.readUInt32LE(link + 4), 42);
  assert.ok(msg.indexOf(macvlanLinkinfo()) > 0);
});

test('a field the encoder does not know is refused, never dropped', () => {
  const base = ipLine('link set v1 up');
  const bad: NlRequest[] = [
    { ...base, data: { ...base.data, family: 7 } },
    { ...base, attrs: { broadcast: { $hex: '00' } } },
    { ...ipLine('addr add 10.1.0.9/24 dev eth0'), attrs: { label: { $hex: '00' } } },
    { ...ipLine('addr add 10.1.0.9/24 dev eth0'), data: { family: 2, scope: 1 } },
    { ...ipLine('addr add 10.1.0.9/24 dev eth0'), dev: undefined },
    { ...base, data: { flags: { promisc: true }, change: {} } },
    { ...ipLine('neigh del 10.1.0.5 dev vxlan0'), attrs: { dst: { $hex: 'zz' } } },
    { ...ipLine('neigh del 10.1.0.5 dev vxlan0'), dev: undefined },
    { ...ipLine('neigh del 10.1.0.5 dev vxlan0'), lower: 'vxlan0' },
    { ...base, netns: { path: '/run/netns/x', at: 0 } },
    { ...base, method: 'index' },
    { ...base, lower: 'vxlan0' },
    { ...ipLine('link del v1'), lower: 'vxlan0' },
    { ...base, method: 'bogus' as NlRequest['method'] },
  ];
  for (const r of bad) assert.throws(() => encodeRequest(r, 1, indexOf), (e: unknown) => e instanceof NetlinkEncodeError, JSON.stringify(r));
});

test.run();
