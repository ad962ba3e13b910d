import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assignHostPorts, EPHEMERAL, inspectPorts, parsePortBindings, summaryPorts } from './ports.ts';

test('port bindings parse as -p writes them', () => {
  assert.equal(parsePortBindings({ '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '0.0.0.0', HostPort: '' }], '9000': null }), [
    { protocol: 'tcp', port: 80, hostPort: 8080 },
    { protocol: 'udp', port: 53, hostPort: 0 },
  ]);
  assert.equal(parsePortBindings(undefined), []);
  assert.equal(parsePortBindings({}), []);
});

test('bad or unsupported bindings are refused naming the part', () => {
  assert.throws(() => parsePortBindings({ 'x/tcp': [] }), /invalid port 'x\/tcp'/);
  assert.throws(() => parsePortBindings({ '80/sctp': [] }), /sctp/);
  assert.throws(() => parsePortBindings({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '80' }] }), /host address 127\.0\.0\.1/);
  assert.throws(() => parsePortBindings({ '80/tcp': [{ HostPort: '8000-8010' }] }), /ranges/);
  assert.throws(() => parsePortBindings({ '80/tcp': [{ HostPort: '70000' }] }), /out of range/);
  assert.throws(() => parsePortBindings({ '80/tcp': [{ HostPort: '8080' }], '81/tcp': [{ HostPort: '8080' }] }), /bound twice/);
});

test('host ports: the asked one, or the lowest free ephemeral one; a taken one is refused', () => {
  const b = parsePortBindings({ '80/tcp': [{ HostPort: '' }], '81/tcp': [{ HostPort: '8081' }] });
  assert.equal(assignHostPorts(b, new Set([`tcp/${EPHEMERAL.low}`])), [
    { protocol: 'tcp', port: 80, hostPort: EPHEMERAL.low + 1 },
    { protocol: 'tcp', port: 81, hostPort: 8081 },
  ]);
  assert.throws(() => assignHostPorts(b, new Set(['tcp/8081'])), /0\.0\.0\.0:8081 failed: port is already allocated/);
});

test('the Ports shapes of ps and inspect', () => {
  const bound = [{ protocol: 'tcp' as const, port: 80, hostPort: 8080 }];
  assert.equal(inspectPorts(['80/tcp', '443/tcp'], bound), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '443/tcp': null });
  assert.equal(summaryPorts(['80/tcp', '443/tcp'], bound), [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 443, Type: 'tcp' },
  ]);
});

test.run();
