import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderDelete, renderReplace, renderTable, type VipService } from './ruleset.ts';
import { LbSpecError } from './errors.ts';

const web: VipService = { name: 'web', vip: '10.0.0.2', backends: ['10.0.0.6', '10.0.0.5'] };
const api: VipService = { name: 'My API', vip: '10.0.0.3', ports: [{ protocol: 'udp', port: 53 }, { protocol: 'tcp', port: 80, targetPort: 8080 }], backends: ['10.0.0.9'] };
const idle: VipService = { name: 'idle', vip: '10.0.0.4', backends: [] };

test('renders the whole table: maps, hooks at -100, reject set and one chain per VIP port', () => {
  assert.fixture(renderTable([idle, api, web]), `table ip shoal-lb {
  map vip_ports {
    type ipv4_addr . inet_proto . inet_service : verdict
    elements = { 10.0.0.3 . tcp . 80 : goto s1_my_api_tcp_80, 10.0.0.3 . udp . 53 : goto s1_my_api_udp_53 }
  }
  map vip_any {
    type ipv4_addr : verdict
    elements = { 10.0.0.2 : goto s0_web }
  }
  set vip_none {
    type ipv4_addr
    elements = { 10.0.0.4 }
  }
  set vip_gone {
    type ipv4_addr . ipv4_addr
  }
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr . meta l4proto . th dport vmap @vip_ports
    ip daddr vmap @vip_any
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    ip daddr . meta l4proto . th dport vmap @vip_ports
    ip daddr vmap @vip_any
  }
  chain reject_output {
    type filter hook output priority 0; policy accept;
    ip daddr @vip_none reject
    tcp flags & rst == 0 ct original ip daddr . ct reply ip saddr @vip_gone reject with tcp reset
  }
  chain reject_forward {
    type filter hook forward priority 0; policy accept;
    ip daddr @vip_none reject
    tcp flags & rst == 0 ct original ip daddr . ct reply ip saddr @vip_gone reject with tcp reset
  }
  chain s0_web {
    dnat to numgen random mod 2 map { 0 : 10.0.0.5, 1 : 10.0.0.6 }
  }
  chain s1_my_api_tcp_80 {
    meta l4proto tcp dnat to 10.0.0.9:8080
  }
  chain s1_my_api_udp_53 {
    meta l4proto udp dnat to 10.0.0.9:53
  }
}
`);
});

test('the same services in any order render the same text; duplicate backends count once', () => {
  const a = renderTable([web, api, idle]);
  assert.is(renderTable([idle, web, api]), a);
  assert.is(renderTable([{ ...web, backends: ['10.0.0.5', '10.0.0.6', '10.0.0.5'] }, api, idle]), a);
});

test('an empty service list renders empty maps without elements', () => {
  const t = renderTable([]);
  assert.not.match(t, 'elements');
  assert.match(t, 'map vip_any {');
});

test('a replacement deletes and recreates the table in one file, and the table name is settable', () => {
  const r = renderReplace([web], { table: 'lb-x', priority: -150 });
  assert.ok(r.startsWith('table ip lb-x\ndelete table ip lb-x\ntable ip lb-x {\n'));
  assert.match(r, 'type nat hook output priority -150;');
  assert.is(renderDelete(), 'table ip shoal-lb\ndelete table ip shoal-lb\n');
});

test('no statement shares a line with a closing brace (nft 1.0.6)', () => {
  for (const line of renderTable([web, api, idle]).split('\n')) {
    if (line.trim().endsWith('}') && !line.includes('{')) assert.is(line.trim(), '}');
  }
});

test('bad specs are refused, naming the value', () => {
  const bad = (s: VipService[], text: string) => assert.throws(() => renderTable(s), (e: Error) => e instanceof LbSpecError && e.message.includes(text));
  bad([{ ...web, vip: '10.0.0' }], '"10.0.0"');
  bad([{ ...web, backends: ['x'] }], 'backend of service "web": "x"');
  bad([web, { ...api, vip: '10.0.0.2' }], 'VIP "10.0.0.2" given twice');
  bad([{ ...api, ports: [{ protocol: 'tcp', port: 0 }] }], 'invalid port "0"');
  bad([{ ...api, ports: [{ protocol: 'sctp' as 'tcp', port: 1 }] }], 'invalid protocol "sctp"');
  bad([{ ...api, ports: [{ protocol: 'tcp', port: 1 }, { protocol: 'tcp', port: 1, targetPort: 2 }] }], 'given twice');
  assert.throws(() => renderTable([], { table: 'a b' }), /invalid table name "a b"/);
});

test.run();
