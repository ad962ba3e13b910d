import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  GatewayError, emptyGatewayState, type GatewayPort, gatewayAddress, hostPortMappings, hostVethName, lowestFreeAddress,
  parseGatewayState, planAttach, planDetach, type GatewayState,
} from './gateway-state.ts';

const web: GatewayPort = { protocol: 'tcp', published: 8080, target: 80 };
const dns: GatewayPort = { protocol: 'udp', published: 5353, target: 53 };
const s0 = emptyGatewayState('172.18.0.0/16');
const req = (netns: string, ports: GatewayPort[] = [web]) => ({ netns, ifIndex: 1, ports });
const refused = (fn: () => unknown, text: string) =>
  assert.throws(fn, (e: Error) => e instanceof GatewayError && e.message.includes(text), text);

test('the gateway is the first address; tasks get the lowest free one after it', () => {
  assert.is(gatewayAddress('172.18.0.0/16'), '172.18.0.1');
  const s1 = planAttach(s0, 't1', req('ns1'));
  const s2 = planAttach(s1, 't2', req('ns2', [dns]));
  assert.is(s2.tasks.t1.address, '172.18.0.2');
  assert.is(s2.tasks.t2.address, '172.18.0.3');
  const s3 = planAttach(planDetach(s2, 't1'), 't3', req('ns3', []));
  assert.is(s3.tasks.t3.address, '172.18.0.2', 'a freed address is the lowest free again');
  assert.is(s0.tasks.t1, undefined, 'states are never mutated');
});

test('a task attached again keeps its address and gets its ports replaced', () => {
  const s1 = planAttach(planAttach(s0, 't1', req('ns1')), 't2', req('ns2', []));
  const s2 = planAttach(s1, 't1', req('ns1', [dns]));
  assert.is(s2.tasks.t1.address, '172.18.0.2');
  assert.equal(s2.tasks.t1.ports, [dns]);
  refused(() => planAttach(s1, 't1', { netns: 'other', ifIndex: 1, ports: [] }), 'is attached already as ns1/eth1');
});

test('a port another task publishes is refused, naming it; the same number on the other protocol is fine', () => {
  const s1 = planAttach(s0, 't1', req('ns1'));
  refused(() => planAttach(s1, 't2', req('ns2', [dns, web])), 'port 8080/tcp is already published on this node by task t1');
  const s2 = planAttach(s1, 't2', req('ns2', [{ ...web, protocol: 'udp' }]));
  assert.equal(hostPortMappings(s2), [
    { protocol: 'tcp', published: 8080, target: 80, address: '172.18.0.2' },
    { protocol: 'udp', published: 8080, target: 80, address: '172.18.0.3' },
  ]);
});

test('bad requests are refused, naming the fault', () => {
  refused(() => planAttach(s0, 't1', req('ns1', [web, { ...web, target: 81 }])), 'port 8080/tcp given twice');
  refused(() => planAttach(s0, 't1', req('ns1', [{ ...web, published: 0 }])), 'invalid port "0"');
  refused(() => planAttach(s0, 't1', req('ns1', [{ ...web, target: 1.5 }])), 'invalid port "1.5"');
  refused(() => planAttach(s0, 't1', req('ns1', [{ ...web, protocol: 'sctp' as 'tcp' }])), 'invalid protocol "sctp"');
  refused(() => planAttach(s0, 't1', req('../etc')), 'invalid netns name "../etc"');
  refused(() => planAttach(s0, 't1', { netns: 'n', ifIndex: -1, ports: [] }), 'invalid interface index "-1"');
  refused(() => planAttach(s0, 'a b', req('ns1')), 'invalid task ID "a b"');
  refused(() => emptyGatewayState('172.18.0.1/16'), 'invalid gateway subnet "172.18.0.1/16"');
  refused(() => emptyGatewayState('10.0.0.0/31'), 'prefix length of 8 to 30');
});

test('a full subnet is refused', () => {
  let s = emptyGatewayState('10.9.0.0/30');                 // .1 gateway, .2 the only task address
  s = planAttach(s, 't1', req('ns1', []));
  assert.is(s.tasks.t1.address, '10.9.0.2');
  refused(() => lowestFreeAddress(s), 'no free address left in 10.9.0.0/30');
  refused(() => planAttach(s, 't2', req('ns2', [])), 'no free address left');
});

test('detaching a task not attached returns the same state', () => {
  assert.is(planDetach(s0, 'nope'), s0);
});

test('the state survives a round trip through JSON, addresses as recorded', () => {
  let s: GatewayState = planAttach(planAttach(planAttach(s0, 't1', req('ns1')), 't2', req('ns2', [dns])), 't3', req('ns3', []));
  s = planDetach(s, 't1');                                  // t2 .3, t3 .4: a hole at .2
  const back = parseGatewayState(JSON.stringify(s));
  assert.equal(back, s);
  assert.is(lowestFreeAddress(back), '172.18.0.2');
});

test('a damaged state file is refused, naming the fault', () => {
  const one = planAttach(s0, 't1', req('ns1'));
  const edit = (f: (o: any) => void) => { const o = JSON.parse(JSON.stringify(one)); f(o); return JSON.stringify(o); };
  refused(() => parseGatewayState('{'), 'not JSON');
  refused(() => parseGatewayState('{"version":2}'), 'unknown shape');
  refused(() => parseGatewayState(edit((o) => { o.tasks.t1.address = '10.0.0.2'; })), 'outside 172.18.0.0/16');
  refused(() => parseGatewayState(edit((o) => { o.tasks.t1.address = '172.18.0.1'; })), 'outside');
  refused(() => parseGatewayState(edit((o) => { o.tasks.t2 = { ...o.tasks.t1, netns: 'x' }; })), 'held twice');
  refused(() => parseGatewayState(edit((o) => { o.tasks.t2 = { ...o.tasks.t1, netns: 'x', address: '172.18.0.3' }; })), 'already published');
});

test('host veth names come from the address, with the prefix, within 15 characters', () => {
  assert.is(hostVethName('172.18.0.2'), 'gwac120002');
  assert.is(hostVethName('172.18.255.254', 't1234'), 't1234gwac12fffe');
  assert.ok(hostVethName('255.255.255.255', 'abcde').length <= 15);
});

test.run();
