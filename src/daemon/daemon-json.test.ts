import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDaemonJson, mergeDaemonFlags } from './daemon-json.ts';
import { ConfigError, parseDaemonConfig } from './config.ts';

const refused = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: Error) => e instanceof ConfigError && re.test(e.message));

test('daemon.json keys become the flags of the same names', () => {
  const f = parseDaemonJson(JSON.stringify({
    'data-root': '/srv/shoal', hosts: ['unix:///run/shoal/shoal.sock', 'tcp://10.0.0.1:2376'],
    tlsverify: true, tlscacert: '/etc/shoal/tls/ca.pem', tlscert: '/etc/shoal/tls/cert.pem', tlskey: '/etc/shoal/tls/key.pem',
    labels: ['zone=a'], 'insecure-registries': ['reg:5000'], runtime: 'crun', 'listen-addr': '10.0.0.1:2377',
  }), '/etc/shoal/daemon.json');
  const c = parseDaemonConfig({ hostname: 'n1', ...f });
  assert.is(c.dataRoot, '/srv/shoal');
  assert.equal(c.remoteHosts, [{ host: '10.0.0.1', port: 2376 }]);
  assert.equal(c.tls, { caCert: '/etc/shoal/tls/ca.pem', cert: '/etc/shoal/tls/cert.pem', key: '/etc/shoal/tls/key.pem' });
  assert.equal(c.labels, ['zone=a']);
  assert.equal(c.insecureRegistries, ['reg:5000']);
  assert.is(c.runtime, 'crun');
  assert.equal(c.listenAddr, { ip: '10.0.0.1', port: 2377 });
});

test('an empty object is the defaults', () => {
  assert.equal(parseDaemonJson('{}', 'f'), {});
});

test('unknown keys, wrong types and bad JSON are refused naming the key and file', () => {
  refused(() => parseDaemonJson('{"debug": true}', '/etc/shoal/daemon.json'), /\/etc\/shoal\/daemon\.json: unknown key "debug"/);
  refused(() => parseDaemonJson('{"hosts": "tcp://1.2.3.4:2376"}', 'f'), /"hosts" must be a list of strings/);
  refused(() => parseDaemonJson('{"tlsverify": "yes"}', 'f'), /"tlsverify" must be a boolean/);
  refused(() => parseDaemonJson('{"data-root": ', 'f'), /f: invalid JSON/);
  refused(() => parseDaemonJson('[]', 'f'), /expected a JSON object/);
});

test('a setting both in the file and as a flag is refused, as dockerd does', () => {
  refused(() => mergeDaemonFlags({ dataRoot: '/a' }, { dataRoot: '/b' }, '/etc/shoal/daemon.json'), /--data-root given both as a flag and in \/etc\/shoal\/daemon\.json/);
  assert.equal(mergeDaemonFlags({ dataRoot: '/a', label: ['x=1'] }, { hostname: 'h', runtime: undefined }, 'f'), { dataRoot: '/a', label: ['x=1'], hostname: 'h' });
});

test('the local socket is always served; tcp hosts come beside it', () => {
  const c = parseDaemonConfig({ hostname: 'n', host: ['tcp://0.0.0.0:2376'], insecureTcpHost: true });
  assert.is(c.host, 'unix:///run/shoal/shoal.sock');
  assert.equal(c.remoteHosts, [{ host: '0.0.0.0', port: 2376 }]);
  assert.is(c.insecureTcp, true);
  assert.is(c.tls, undefined);
});

test('a tcp host needs --tlsverify and its three files, or the explicit insecure flag', () => {
  const tcp = { hostname: 'n', host: ['tcp://10.0.0.1:2376'] };
  const files = { tlscacert: '/t/ca.pem', tlscert: '/t/cert.pem', tlskey: '/t/key.pem' };
  refused(() => parseDaemonConfig(tcp), /needs --tlsverify .*--insecure-tcp-host/);
  refused(() => parseDaemonConfig({ ...tcp, tlsverify: true, tlscacert: '/t/ca.pem' }), /--tlsverify needs --tlscert, --tlskey/);
  refused(() => parseDaemonConfig({ ...tcp, ...files }), /needs --tlsverify/);
  refused(() => parseDaemonConfig({ ...tcp, ...files, tlsverify: true, insecureTcpHost: true }), /contradict/);
  refused(() => parseDaemonConfig({ hostname: 'n', ...files, tlsverify: true }), /needs a tcp:\/\/ --host/);
  refused(() => parseDaemonConfig({ ...tcp, ...files, tlsverify: true, tlskey: 'key.pem' }), /--tlskey "key\.pem": must be an absolute path/);
  refused(() => parseDaemonConfig({ hostname: 'n', host: ['tcp://manager:2376'], insecureTcpHost: true }), /must be an IP address/);
  refused(() => parseDaemonConfig({ hostname: 'n', host: ['unix:///a.sock', 'unix:///b.sock'] }), /only one unix:\/\/ host/);
  assert.ok(parseDaemonConfig({ ...tcp, ...files, tlsverify: true }).tls);
});

test.run();
