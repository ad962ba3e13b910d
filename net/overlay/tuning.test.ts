import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlaySpecError } from './errors.ts';
import { SANDBOX_SYSCTLS, VXLAN_NOTRACK_TABLE, renderVxlanNotrack, renderVxlanNotrackDelete, sandboxSysctlArgv } from './tuning.ts';

test('a sandbox turns every br_netfilter hook off, and a missing key is no error', () => {
  assert.equal(sandboxSysctlArgv(), [
    'sysctl', '-q', '-e', '-w',
    'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0',
  ]);
  assert.is(SANDBOX_SYSCTLS.length, 3);
});

test('the notrack table: made if missing, flushed and redefined in one transaction', () => {
  const t = renderVxlanNotrack();
  const lines = t.split('\n').map((l) => l.trim());
  assert.equal(lines.slice(0, 3), [`table ip ${VXLAN_NOTRACK_TABLE} {}`, `flush table ip ${VXLAN_NOTRACK_TABLE}`, `table ip ${VXLAN_NOTRACK_TABLE} {`]);
  // Both raw hooks, before conntrack (-200) sees the packet.
  assert.ok(lines.includes('type filter hook prerouting priority raw; policy accept;'));
  assert.ok(lines.includes('type filter hook output priority raw; policy accept;'));
});

test('only the node\'s own VXLAN is untracked: addressed to it, or sent by it', () => {
  const rules = renderVxlanNotrack().split('\n').map((l) => l.trim()).filter((l) => l.endsWith('notrack'));
  assert.equal(rules, ['udp dport 4789 fib daddr type local notrack', 'udp dport 4789 notrack']);
});

test('with the node\'s VTEP address, received VXLAN is matched by address, not by a FIB lookup', () => {
  const rules = renderVxlanNotrack({ localAddresses: ['192.168.100.12'] }).split('\n').map((l) => l.trim()).filter((l) => l.endsWith('notrack'));
  assert.equal(rules, ['ip daddr 192.168.100.12 udp dport 4789 notrack', 'udp dport 4789 notrack']);
  // Two (underlay and WireGuard), deduplicated and in a stable order; none: the FIB lookup.
  assert.match(renderVxlanNotrack({ localAddresses: ['10.9.0.2', '192.168.100.12', '10.9.0.2'] }), /ip daddr \{ 10\.9\.0\.2, 192\.168\.100\.12 \} udp dport 4789 notrack/);
  assert.match(renderVxlanNotrack({ localAddresses: [] }), /udp dport 4789 fib daddr type local notrack/);
});

test('another data path port and table name', () => {
  const t = renderVxlanNotrack({ port: 7777, table: 'lab-vx' });
  assert.match(t, /table ip lab-vx \{\n/);
  assert.match(t, /udp dport 7777 fib daddr type local notrack/);
  assert.not.match(t, /4789/);
});

test('removal tolerates a table already gone', () => {
  assert.is(renderVxlanNotrackDelete(), `table ip ${VXLAN_NOTRACK_TABLE} {}\ndelete table ip ${VXLAN_NOTRACK_TABLE}\n`);
});

test('bad ports and names are refused', () => {
  for (const port of [0, 65536, 1.5, Number.NaN]) assert.throws(() => renderVxlanNotrack({ port }), (e: unknown) => e instanceof OverlaySpecError);
  for (const table of ['', 'a b', 'x;flush ruleset', '1abc']) assert.throws(() => renderVxlanNotrack({ table }), (e: unknown) => e instanceof OverlaySpecError);
  for (const a of ['', '10.0.0', '10.0.0.256', '1.2.3.4; flush ruleset', '::1']) {
    assert.throws(() => renderVxlanNotrack({ localAddresses: [a] }), (e: unknown) => e instanceof OverlaySpecError && /VTEP address/.test((e as Error).message));
  }
});

test.run();
