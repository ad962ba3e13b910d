import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDaemonConfig, parseAddrPort, ConfigError } from './config.ts';

test('defaults follow Docker: socket, data root, port 2377', () => {
  const c = parseDaemonConfig({ hostname: 'n1' });
  assert.is(c.host, 'unix:///run/shoal/shoal.sock');
  assert.equal(c.hostAddress, { kind: 'unix', socketPath: '/run/shoal/shoal.sock' });
  assert.is(c.dataRoot, '/var/lib/shoal');
  assert.equal(c.listenAddr, { ip: '0.0.0.0', port: 2377 });
  assert.is(c.runtime, 'runc');
});

test('listen address takes IPv4, IPv6 in brackets, and a port', () => {
  assert.equal(parseAddrPort('192.168.100.11:2377', '--listen-addr'), { ip: '192.168.100.11', port: 2377 });
  assert.equal(parseAddrPort('10.0.0.1', '--listen-addr'), { ip: '10.0.0.1', port: 2377 });
  assert.equal(parseAddrPort('[::1]:4000', '--listen-addr'), { ip: '::1', port: 4000 });
});

test('bad values are refused with an error naming the flag', () => {
  const bad: [object, RegExp][] = [
    [{ host: 'http://x' }, /--host/],
    [{ dataRoot: 'relative/dir' }, /--data-root/],
    [{ listenAddr: 'nohost:99' }, /--listen-addr/],
    [{ listenAddr: '1.2.3.4:70000' }, /--listen-addr/],
    [{ advertiseAddr: 'eth0x' }, /--advertise-addr/],
    [{ hostname: 'bad name' }, /--hostname/],
    [{ insecureRegistry: ['http://reg'] }, /--insecure-registry/],
    [{ label: ['novalue'] }, /--label/],
  ];
  for (const [flags, re] of bad) {
    assert.throws(() => parseDaemonConfig({ hostname: 'n', ...flags }), (e: Error) => e instanceof ConfigError && re.test(e.message));
  }
});

test('--metrics-addr is off by default and wants IP:PORT', () => {
  assert.is(parseDaemonConfig({ hostname: 'n1' }).metricsAddr, undefined);
  assert.equal(parseDaemonConfig({ hostname: 'n1', metricsAddr: '0.0.0.0:9323' }).metricsAddr, { ip: '0.0.0.0', port: 9323 });
  assert.throws(() => parseDaemonConfig({ hostname: 'n1', metricsAddr: '0.0.0.0' }), (e: Error) => e instanceof ConfigError && /--metrics-addr "0\.0\.0\.0": expected IP:PORT/.test(e.message));
  assert.throws(() => parseDaemonConfig({ hostname: 'n1', metricsAddr: 'localhost:9323' }), /--metrics-addr/);
});

test.run();
