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
  assert.match(t, 'fib daddr type local meta l4proto . th dport @unserved reject');
  assert.not.match(t, 'p_udp_5353');
});

test('with the ingress device: only DNATed traffic enters ingress, and no VXLAN leaves it for the node', () => {
  const t = renderMeshTable([web], { ...opts, ingressDevice: 'shoal-ingress' });
  assert.match(t, 'type filter hook forward priority 0; policy accept;\n    iifname "shoal-ingress" udp dport 4789 drop\n    oifname "shoal-ingress" ct status & dnat == 0 drop');
  assert.match(t, 'reject\n    iifname "shoal-ingress" udp dport 4789 drop');
  assert.not.match(renderMeshTable([web], opts), 'shoal-ingress', 'no device, no guard');
  assert.throws(() => renderMeshTable([web], { ...opts, ingressDevice: 'a"; flush ruleset' }), /invalid interface name/);
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
});

test.run();
