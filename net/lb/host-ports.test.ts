import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderHostPortsDelete, renderHostPortsReplace, renderHostPortsTable, type HostPortMapping } from './host-ports.ts';
import { LbSpecError } from './errors.ts';

const web: HostPortMapping = { protocol: 'tcp', published: 8080, address: '172.18.0.2', target: 80 };
const dns: HostPortMapping = { protocol: 'udp', published: 5353, address: '172.18.0.3', target: 53 };
const opts = { subnet: '172.18.0.0/16', bridge: 'shoal-gw' };

test('every port on a local address is DNATed to its task address and target port', () => {
  const t = renderHostPortsTable([web, dns], opts);
  assert.match(t, 'type inet_proto . inet_service : ipv4_addr . inet_service');
  assert.match(t, 'elements = { tcp . 8080 : 172.18.0.2 . 80, udp . 5353 : 172.18.0.3 . 53 }');
  assert.match(t, 'fib daddr type local meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @ports');
  assert.match(t, 'type nat hook prerouting priority -100;');
  assert.match(t, 'type nat hook output priority -100;');
});

test('tasks egress, hairpin and loopback connections are masqueraded', () => {
  const t = renderHostPortsTable([web], opts);
  assert.match(t, 'ip saddr 172.18.0.0/16 oifname != "shoal-gw" masquerade');
  assert.match(t, 'oifname "shoal-gw" ct status dnat ip saddr 172.18.0.0/16 masquerade');
  assert.match(t, 'oifname "shoal-gw" ip saddr 127.0.0.0/8 masquerade');
});

test('VXLAN from the bridge is dropped, to the node and through it', () => {
  const t = renderHostPortsTable([web], opts);
  assert.match(t, 'type filter hook input priority 0; policy accept;\n    iifname "shoal-gw" udp dport 4789 drop');
  assert.match(t, 'type filter hook forward priority 0; policy accept;\n    iifname "shoal-gw" udp dport 4789 drop');
});

test('no ports: an empty map (nft refuses "{ }"), the masquerade stays', () => {
  const t = renderHostPortsTable([], opts);
  assert.not.match(t, 'elements');
  assert.match(t, 'masquerade');
});

test('order does not matter; the replacement is one transaction', () => {
  assert.is(renderHostPortsTable([dns, web], opts), renderHostPortsTable([web, dns], opts));
  assert.ok(renderHostPortsReplace([web], { ...opts, table: 'h1' }).startsWith('table ip h1\ndelete table ip h1\ntable ip h1 {\n'));
  assert.is(renderHostPortsDelete(), 'table ip shoal-hostports\ndelete table ip shoal-hostports\n');
});

test('the same port number may be mapped once per protocol', () => {
  const t = renderHostPortsTable([web, { ...web, protocol: 'udp', address: '172.18.0.4' }], opts);
  assert.match(t, 'tcp . 8080 : 172.18.0.2 . 80, udp . 8080 : 172.18.0.4 . 80');
});

test('bad input is refused, naming it', () => {
  const bad = (ms: HostPortMapping[], o: typeof opts, text: string) =>
    assert.throws(() => renderHostPortsTable(ms, o), (e: Error) => e instanceof LbSpecError && e.message.includes(text));
  bad([web, { ...web, address: '172.18.0.9' }], opts, 'host port tcp/8080 mapped twice');
  bad([{ ...web, target: 0 }], opts, 'invalid port "0"');
  bad([{ ...web, published: 70000 }], opts, 'invalid port "70000"');
  bad([{ ...web, protocol: 'sctp' as 'tcp' }], opts, 'invalid protocol "sctp"');
  bad([{ ...web, address: 'x' }], opts, '"x"');
  bad([web], { ...opts, subnet: '172.18.0.1/16' }, 'invalid gateway subnet "172.18.0.1/16"');
  bad([web], { ...opts, bridge: 'a"; flush ruleset' }, 'invalid bridge name');
});

test.run();
