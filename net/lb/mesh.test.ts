import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderMeshReplace, renderMeshTable, type PublishedPort } from './mesh.ts';
import { LbSpecError } from './errors.ts';

const web: PublishedPort = { service: 'web', protocol: 'tcp', published: 8080, target: 80, backends: ['10.255.0.10', '10.255.0.9'] };
const dns: PublishedPort = { service: 'dns', protocol: 'udp', published: 5353, target: 53, backends: [] };
const opts = { ingressSubnet: '10.255.0.0/16' };

test('published ports DNAT on local addresses over the tasks, masqueraded into the ingress network', () => {
  const t = renderMeshTable([web, dns], opts);
  assert.match(t, 'elements = { tcp . 8080 : goto p_tcp_8080_web }');
  assert.match(t, 'fib daddr type local meta l4proto . th dport vmap @published');
  assert.match(t, 'meta l4proto tcp dnat to numgen random mod 2 map { 0 : 10.255.0.9, 1 : 10.255.0.10 }:80');
  assert.match(t, 'ct status dnat ip daddr 10.255.0.0/16 masquerade');
  assert.match(t, 'type nat hook prerouting priority -100;');
  assert.match(t, 'type nat hook output priority -100;');
});

test('a port without tasks is refused instead of DNATed', () => {
  const t = renderMeshTable([web, dns], opts);
  assert.match(t, 'elements = { udp . 5353 }');
  assert.match(t, 'meta l4proto . th dport @unserved fib daddr type local reject');
  assert.not.match(t, 'p_udp_5353');
});

test('with the ingress device: only DNATed traffic enters ingress, and no VXLAN leaves it for the node', () => {
  const t = renderMeshTable([web], { ...opts, ingressDevice: 'shoal-ingress' });
  assert.match(t, 'type filter hook forward priority 0; policy accept;\n    ct status dnat tcp flags & rst == 0 ct reply ip saddr @gone reject with tcp reset\n    iifname "shoal-ingress" udp dport 4789 drop\n    oifname "shoal-ingress" ct status & dnat == 0 drop');
  assert.match(t, 'reject\n    iifname "shoal-ingress" udp dport 4789 drop');
  assert.not.match(renderMeshTable([web], opts), 'shoal-ingress', 'no device, no guard');
  assert.throws(() => renderMeshTable([web], { ...opts, ingressDevice: 'a"; flush ruleset' }), /invalid interface name/);
});

test('cluster policy (the default): every task, masqueraded, and no port keeps its source', () => {
  const t = renderMeshTable([{ ...web, policy: 'cluster', local: ['10.255.0.9'] }], opts);
  assert.is(t, renderMeshTable([web], opts), 'cluster is the default, and local addresses do not matter to it');
  assert.match(t, 'set keep_source_tcp {\n    type inet_service\n  }');
  assert.match(t, 'ct status dnat ip daddr 10.255.0.0/16 meta l4proto tcp ct original proto-dst @keep_source_tcp return\n    ct status dnat ip daddr 10.255.0.0/16 meta l4proto udp ct original proto-dst @keep_source_udp return\n    ct status dnat ip daddr 10.255.0.0/16 masquerade');
});

test('local policy: only this node\'s tasks, without source NAT; refused on a node without one', () => {
  const local = { ...web, policy: 'local' as const, local: ['10.255.0.10'] };
  const t = renderMeshTable([local], opts);
  assert.match(t, 'chain p_tcp_8080_web {\n    meta l4proto tcp dnat to 10.255.0.10:80');
  assert.match(t, 'set keep_source_tcp {\n    type inet_service\n    elements = { 8080 }');
  assert.not.match(t, 'tcp . 8080 }', 'served');
  const away = renderMeshTable([{ ...local, local: [] }], opts);
  assert.match(away, 'set unserved {\n    type inet_proto . inet_service\n    elements = { tcp . 8080 }');
  assert.not.match(away, 'p_tcp_8080_web');
  assert.match(away, 'set keep_source_tcp {\n    type inet_service\n  }');
  const stray = renderMeshTable([{ ...local, local: ['10.255.0.77'] }], opts);
  assert.is(stray, away, 'a local address that is no backend (not in rotation) does not count');
});

test('clients on the node\'s gateway bridge are masqueraded under every policy (their replies must come back through it)', () => {
  const t = renderMeshTable([{ ...web, policy: 'local', local: ['10.255.0.10'] }], { ...opts, natSources: ['172.18.0.0/16', '172.18.0.0/16'] });
  assert.match(t, 'type nat hook postrouting priority 100; policy accept;\n    ct status dnat ip daddr 10.255.0.0/16 ip saddr { 172.18.0.0/16 } masquerade\n    ct status dnat ip daddr 10.255.0.0/16 meta l4proto tcp ct original proto-dst @keep_source_tcp return');
  assert.throws(() => renderMeshTable([web], { ...opts, natSources: ['172.18.0.1/16'] }), /invalid client subnet "172.18.0.1\/16"/);
});

test('local-or-forward: local without source NAT where there is a task, the whole cluster with it elsewhere', () => {
  const udp = { ...dns, backends: ['10.255.0.3', '10.255.0.4'], policy: 'local-or-forward' as const };
  const here = renderMeshTable([{ ...udp, local: ['10.255.0.4'] }], opts);
  assert.match(here, 'meta l4proto udp dnat to 10.255.0.4:53');
  assert.match(here, 'set keep_source_udp {\n    type inet_service\n    elements = { 5353 }');
  const away = renderMeshTable([udp], opts);
  assert.match(away, 'meta l4proto udp dnat to numgen random mod 2 map { 0 : 10.255.0.3, 1 : 10.255.0.4 }:53');
  assert.match(away, 'set keep_source_udp {\n    type inet_service\n  }');
});

test('local policy keeps the weights of the local tasks', () => {
  const t = renderMeshTable([{ ...web, backends: ['10.255.0.1', '10.255.0.2', '10.255.0.3'], weights: { '10.255.0.1': 1, '10.255.0.2': 3, '10.255.0.3': 5 }, policy: 'local', local: ['10.255.0.1', '10.255.0.2'] }], opts);
  assert.match(t, 'dnat to numgen random mod 4 map { 0 : 10.255.0.1, 1-3 : 10.255.0.2 }:80');
});

test('gone backends: established TCP connections DNATed to them are reset; a current backend never is', () => {
  const t = renderMeshTable([{ ...web, gone: ['10.255.0.20', '10.255.0.10'] }, { ...dns, gone: ['10.255.0.21'] }], { ...opts, ingressDevice: 'shoal-ingress' });
  assert.match(t, 'set gone {\n    type ipv4_addr\n    elements = { 10.255.0.20, 10.255.0.21 }');
  assert.match(t, /chain reset_output \{\n {4}type filter hook output priority 0; policy accept;\n {4}ct status dnat tcp flags & rst == 0 ct reply ip saddr @gone reject with tcp reset/);
  assert.match(renderMeshTable([web], opts), /chain guard \{\n {4}type filter hook forward priority 0; policy accept;\n {4}ct status dnat tcp flags & rst == 0 ct reply ip saddr @gone reject with tcp reset\n {2}\}/);
});

test('no conntrack timeout of its own: idle mesh connections live as long as the host\'s established timeout', () => {
  const t = renderMeshTable([{ ...web, policy: 'local', local: ['10.255.0.10'], gone: ['10.255.0.30'] }, dns], { ...opts, ingressDevice: 'shoal-ingress', natSources: ['172.18.0.0/16'] });
  assert.not.match(t, /timeout/);
});

test('order does not matter; the replacement is one transaction', () => {
  assert.is(renderMeshTable([dns, web], opts), renderMeshTable([web, dns], opts));
  assert.ok(renderMeshReplace([web], { ...opts, table: 'm1' }).startsWith('table ip m1\ndelete table ip m1\ntable ip m1 {\n'));
});

test('bad input is refused, naming it', () => {
  const bad = (ports: PublishedPort[], o: typeof opts, text: string) =>
    assert.throws(() => renderMeshTable(ports, o), (e: Error) => e instanceof LbSpecError && e.message.includes(text));
  bad([web, { ...web, service: 'other' }], opts, 'published port tcp/8080 given twice');
  bad([{ ...web, target: 0 }], opts, 'invalid port "0"');
  bad([web], { ingressSubnet: '10.255.0.1/16' }, 'invalid ingress subnet "10.255.0.1/16"');
  bad([{ ...web, backends: ['x'] }], opts, '"x"');
  bad([{ ...web, policy: 'nearest' as never }], opts, 'invalid traffic policy "nearest" for service "web"');
  bad([{ ...web, local: ['y'] }], opts, 'invalid local backend of service "web": "y"');
  bad([{ ...web, gone: ['z'] }], opts, 'invalid gone backend of service "web": "z"');
});

test.run();
