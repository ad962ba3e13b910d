import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  allocateAddress, allocateAddresses, allocateNetwork, createIpamState, freeAddresses, releaseAddress, releaseNetwork, FIRST_VNI,
  type IpamState,
} from './ipam.ts';
import { ipVersion } from './cidr.ts';
import { InUseError, InvalidAddressError, OverlapError, PoolExhaustedError, UnknownNetworkError } from './errors.ts';

function net(state: IpamState, id: string, extra: Record<string, unknown> = {}) {
  return allocateNetwork(state, { id, name: id, ...extra });
}

function throwsKind(fn: () => unknown, kind: new (...a: any[]) => Error, text: string) {
  try { fn(); } catch (err) {
    assert.instance(err, kind);
    assert.ok((err as Error).message.includes(text), `message ${JSON.stringify((err as Error).message)} lacks ${JSON.stringify(text)}`);
    return;
  }
  assert.unreachable(`expected ${kind.name}`);
}

test('networks get consecutive /24s of 10.0.0.0/8, gateway .1 and VNIs from 4096', () => {
  let s = createIpamState();
  const a = net(s, 'a'); s = a.state;
  const b = net(s, 'b'); s = b.state;
  assert.is(a.network.subnet, '10.0.0.0/24');
  assert.is(a.network.gateway, '10.0.0.1');
  assert.is(a.network.vni, FIRST_VNI);
  assert.is(b.network.subnet, '10.0.1.0/24');
  assert.is(b.network.vni, FIRST_VNI + 1);
});

test('carving skips subnets taken by requested ones and reuses released ones', () => {
  let s = net(createIpamState(), 'big', { subnet: '10.0.0.0/23' }).state;
  const c = net(s, 'c'); s = c.state;
  assert.is(c.network.subnet, '10.0.2.0/24');
  s = releaseNetwork(s, 'big');
  assert.is(net(s, 'd').network.subnet, '10.0.0.0/24');
  assert.is(net(s, 'd').network.vni, FIRST_VNI, 'the released VNI is free again');
});

test('default pools are settable and exhaust with a clear error', () => {
  let s = createIpamState({ pools: [{ subnet: '172.30.0.0/23', size: 24 }, { subnet: '192.168.7.0/24', size: 25 }] });
  const names: string[] = [];
  for (const id of ['a', 'b', 'c', 'd']) { const r = net(s, id); s = r.state; names.push(r.network.subnet); }
  assert.equal(names, ['172.30.0.0/24', '172.30.1.0/24', '192.168.7.0/25', '192.168.7.128/25']);
  throwsKind(() => net(s, 'e'), PoolExhaustedError, 'pool exhausted');
  throwsKind(() => createIpamState({ pools: [{ subnet: '10.0.0.0/8', size: 4 }] }), InvalidAddressError, '10.0.0.0/8');
  throwsKind(() => createIpamState({ pools: [{ subnet: '10.0.0.0/33', size: 24 }] }), InvalidAddressError, 'invalid pool "10.0.0.0/33"');
});

test('reserved prefixes are never carved, but may be requested', () => {
  let s = createIpamState({ pools: [{ subnet: '10.0.0.0/22', size: 24 }], reserved: ['10.0.0.0/25', '10.0.2.0/24'] });
  const a = net(s, 'a'); s = a.state;
  const b = net(s, 'b'); s = b.state;
  assert.equal([a.network.subnet, b.network.subnet], ['10.0.1.0/24', '10.0.3.0/24']);
  assert.is(net(s, 'c', { subnet: '10.0.2.0/24' }).network.subnet, '10.0.2.0/24');
  throwsKind(() => net(s, 'c'), PoolExhaustedError, 'pool exhausted');
  throwsKind(() => createIpamState({ reserved: ['nope'] }), InvalidAddressError, 'invalid reserved prefix "nope"');
});

test('a requested subnet, gateway and ip range are honoured', () => {
  const r = net(createIpamState(), 'web', { subnet: '10.20.0.0/16', gateway: '10.20.0.254', ipRange: '10.20.5.0/24' });
  assert.is(r.network.subnet, '10.20.0.0/16');
  assert.is(r.network.gateway, '10.20.0.254');
  assert.is(r.network.ipRange, '10.20.5.0/24');
  const a = allocateAddress(r.state, 'web', { owner: 'vip:web' });
  assert.is(a.address, '10.20.5.0', 'inside a larger subnet the range base is a host address');
});

test('bad values are refused with errors naming them', () => {
  const s = net(createIpamState(), 'front', { subnet: '10.1.0.0/24' }).state;
  throwsKind(() => net(s, 'x', { subnet: '10.1.0.0/25' }), OverlapError, 'overlaps with network "front"');
  throwsKind(() => net(s, 'x', { subnet: '10.0.0.0/8' }), OverlapError, 'overlaps with network "front"');
  throwsKind(() => net(s, 'x', { subnet: 'banana' }), InvalidAddressError, 'invalid subnet "banana"');
  throwsKind(() => net(s, 'x', { subnet: '10.2.0.300/24' }), InvalidAddressError, 'invalid subnet "10.2.0.300/24"');
  throwsKind(() => net(s, 'x', { subnet: '10.2.0.1/24' }), InvalidAddressError, 'host bits set');
  throwsKind(() => net(s, 'x', { subnet: 'fd00:1::/64' }), InvalidAddressError, 'invalid subnet "fd00:1::/64": IPv6 is not supported yet');
  throwsKind(() => net(s, 'x', { subnet: '10.2.0.0/24', gateway: 'fd00::1' }), InvalidAddressError, 'invalid gateway "fd00::1": IPv6 is not supported yet');
  throwsKind(() => net(s, 'x', { subnet: '10.2.0.0/24', gateway: '10.3.0.1' }), InvalidAddressError, 'invalid gateway "10.3.0.1"');
  throwsKind(() => net(s, 'x', { subnet: '10.2.0.0/24', gateway: '10.2.0.255' }), InvalidAddressError, 'broadcast');
  throwsKind(() => net(s, 'x', { subnet: '10.2.0.0/24', ipRange: '10.2.0.0/23' }), InvalidAddressError, 'invalid ip range "10.2.0.0/23"');
  throwsKind(() => net(s, 'x', { gateway: '10.2.0.1' }), InvalidAddressError, 'need --subnet');
  throwsKind(() => net(s, 'front'), InUseError, 'network id "front"');
  throwsKind(() => net(s, 'x', { vni: FIRST_VNI }), InUseError, 'VXLAN ID "4096"');
  throwsKind(() => allocateAddress(s, 'nope', { owner: 't' }), UnknownNetworkError, '"nope"');
});

test('ipVersion tells IPv4 from IPv6 addresses and prefixes, and neither', () => {
  assert.equal([ipVersion('10.0.0.1'), ipVersion('10.0.0.0/8'), ipVersion('fd00::1'), ipVersion('fd00::/64')], [4, 4, 6, 6]);
  assert.equal([ipVersion('banana'), ipVersion('10.0.0.0/33'), ipVersion('')], [undefined, undefined, undefined]);
});

test('addresses are handed out once, in order, skipping the gateway', () => {
  let s = net(createIpamState(), 'n', { subnet: '10.9.0.0/29' }).state;
  const got: string[] = [];
  for (const owner of ['vip:a', 't1', 't2', 't3', 't4']) { const r = allocateAddress(s, 'n', { owner }); s = r.state; got.push(r.address); }
  assert.equal(got, ['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
  throwsKind(() => allocateAddress(s, 'n', { owner: 't5' }), PoolExhaustedError, 'pool exhausted');
  assert.is(new Set(Object.keys(s.networks.n.addresses)).size, 6);
});

test('a released address is not reused before the range wraps', () => {
  let s = net(createIpamState(), 'n', { subnet: '10.9.0.0/29' }).state;
  for (const owner of ['t1', 't2', 't3']) s = allocateAddress(s, 'n', { owner }).state; // .2 .3 .4
  s = releaseAddress(s, 'n', '10.9.0.2');
  let r = allocateAddress(s, 'n', { owner: 't4' }); s = r.state;
  assert.is(r.address, '10.9.0.5');
  r = allocateAddress(s, 'n', { owner: 't5' }); s = r.state;
  assert.is(r.address, '10.9.0.6');
  r = allocateAddress(s, 'n', { owner: 't6' });
  assert.is(r.address, '10.9.0.2', 'after wrapping, the released one comes back');
});

test('a requested address must be free and a host address of the subnet', () => {
  let s = net(createIpamState(), 'n', { subnet: '10.9.0.0/24' }).state;
  const r = allocateAddress(s, 'n', { owner: 't1', address: '10.9.0.50' }); s = r.state;
  assert.is(r.address, '10.9.0.50');
  throwsKind(() => allocateAddress(s, 'n', { owner: 't2', address: '10.9.0.50' }), InUseError, '"10.9.0.50" already in use in network "n"');
  throwsKind(() => allocateAddress(s, 'n', { owner: 't2', address: '10.9.0.1' }), InUseError, '"10.9.0.1"');
  throwsKind(() => allocateAddress(s, 'n', { owner: 't2', address: '10.9.0.255' }), InvalidAddressError, 'not a host address');
  throwsKind(() => allocateAddress(s, 'n', { owner: 't2', address: '10.9.1.5' }), InvalidAddressError, '"10.9.1.5"');
  throwsKind(() => releaseAddress(s, 'n', '10.9.0.1'), InvalidAddressError, 'gateway');
});

test('allocation is idempotent per owner and release is idempotent', () => {
  let s = net(createIpamState(), 'n').state;
  const a = allocateAddress(s, 'n', { owner: 'task1' }); s = a.state;
  const again = allocateAddress(s, 'n', { owner: 'task1' });
  assert.is(again.address, a.address);
  assert.is(again.state, s, 'nothing changes');
  const r1 = releaseAddress(s, 'n', a.address);
  assert.is(releaseAddress(r1, 'n', a.address), r1);
});

test('allocateAddresses equals one allocateAddress per owner; exhaustion changes nothing', () => {
  let s = net(createIpamState(), 'n', { subnet: '10.1.0.0/29' }).state; // hosts .2-.6 free
  s = allocateAddress(s, 'n', { owner: 'x' }).state; // .2
  s = allocateAddress(s, 'n', { owner: 'y' }).state; // .3
  s = releaseAddress(s, 'n', '10.1.0.2');
  assert.is(freeAddresses(s, 'n'), 4);
  let seq = s;
  const one: string[] = [];
  for (const o of ['a', 'y', 'b', 'c']) {
    const r = allocateAddress(seq, 'n', { owner: o });
    seq = r.state;
    one.push(r.address);
  }
  const batch = allocateAddresses(s, 'n', ['a', 'y', 'b', 'c']);
  assert.equal(batch.addresses, one);
  assert.equal(batch.addresses, ['10.1.0.4', '10.1.0.3', '10.1.0.5', '10.1.0.6']);
  assert.equal(batch.state, seq);
  assert.is(freeAddresses(batch.state, 'n'), 1);
  const before = JSON.stringify(batch.state);
  throwsKind(() => allocateAddresses(batch.state, 'n', ['d', 'e']), PoolExhaustedError, 'no free address in "10.1.0.0/29"');
  assert.is(JSON.stringify(batch.state), before);
  assert.equal(allocateAddresses(batch.state, 'n', ['d']).addresses, ['10.1.0.2']);
  assert.equal(allocateAddresses(batch.state, 'n', []).state, batch.state);
  throwsKind(() => allocateAddresses(batch.state, 'n', ['gateway']), InvalidAddressError, 'reserved');
});

test('state is plain data: a JSON round trip continues identically (leader change)', () => {
  let s = net(createIpamState(), 'a').state;
  s = net(s, 'b', { subnet: '10.0.1.0/24', ipRange: '10.0.1.128/25' }).state;
  for (const o of ['x', 'y']) s = allocateAddress(s, 'b', { owner: o }).state;
  const revived = JSON.parse(JSON.stringify(s)) as IpamState;
  assert.equal(revived, s);
  const n1 = net(s, 'c'); const n2 = net(revived, 'c');
  assert.equal(n1.network, n2.network);
  assert.equal(allocateAddress(s, 'b', { owner: 'z' }), allocateAddress(revived, 'b', { owner: 'z' }));
  assert.is(allocateAddress(s, 'b', { owner: 'z' }).address, '10.0.1.130');
});

test('inputs are never mutated', () => {
  const s0 = net(createIpamState(), 'a').state;
  const frozen = JSON.stringify(s0);
  const s1 = allocateAddress(s0, 'a', { owner: 't' }).state;
  releaseAddress(s1, 'a', '10.0.0.2');
  net(s0, 'b');
  releaseNetwork(s0, 'a');
  assert.is(JSON.stringify(s0), frozen);
});

test.run();
