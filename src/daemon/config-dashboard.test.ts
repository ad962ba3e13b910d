// `--dashboard-addr`: off by default, a bare port on loopback, IP:PORT as given, bad values named.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, parseDaemonConfig, parseDashboardAddr } from './config.ts';

test('the dashboard is off unless asked for', () => {
  assert.is(parseDaemonConfig({ hostname: 'h1' }).dashboardAddr, undefined);
});

test('a bare port binds loopback; IP:PORT is kept', () => {
  assert.equal(parseDashboardAddr('8088'), { ip: '127.0.0.1', port: 8088 });
  assert.equal(parseDashboardAddr(':8088'), { ip: '127.0.0.1', port: 8088 });
  assert.equal(parseDashboardAddr('192.168.100.11:8088'), { ip: '192.168.100.11', port: 8088 });
  assert.equal(parseDashboardAddr('[::1]:8088'), { ip: '::1', port: 8088 });
  assert.equal(parseDaemonConfig({ hostname: 'h1', dashboardAddr: '9000' }).dashboardAddr, { ip: '127.0.0.1', port: 9000 });
});

test('bad values are refused naming the flag', () => {
  for (const v of ['192.168.100.11', 'localhost:80', '70000', '1.2.3.4:0', '']) {
    assert.throws(() => parseDashboardAddr(v), (e: unknown) => e instanceof ConfigError && /--dashboard-addr/.test((e as Error).message), v);
  }
});

test.run();
