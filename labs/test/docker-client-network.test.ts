// The stock docker client drives Shoal's networks: `docker network create | ls | inspect
// | rm` and `docker service create --network x -p 8080:80`, whose inspect shows the
// VirtualIPs and the published port (issue 7). One drained node: no task runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { docker, eventually, ok } from './docker-cli.ts';

let m: DaemonProcess;

test.before(async () => {
  const addr = `127.0.0.1:${await freePort()}`;
  m = await startDaemonProcess(['--listen-addr', addr], { hostname: 'dn' });
  await ok(m, 'swarm', 'init', '--advertise-addr', addr, '--listen-addr', addr, '--availability', 'drain');
});
test.after(async () => {
  await m?.cleanup();
});

let netId = '';

test('docker network create -d overlay prints the ID; inspect shows the subnet', async () => {
  netId = (await ok(m, 'network', 'create', '-d', 'overlay', '--label', 'tier=front', 'x')).trim();
  assert.match(netId, /^[a-z0-9]{25}$/);
  const [n] = JSON.parse(await ok(m, 'network', 'inspect', 'x'));
  assert.is(n.Id, netId);
  assert.is(n.Name, 'x');
  assert.is(n.Driver, 'overlay');
  assert.is(n.Scope, 'swarm');
  assert.equal(n.Labels, { tier: 'front' });
  assert.match(n.IPAM.Config[0]?.Subnet ?? '', /^\d+\.\d+\.\d+\.\d+\/\d+$/, 'allocated by the time create answered');
  assert.match(n.Options['com.docker.network.driver.overlay.vxlanid_list'] ?? '', /^\d+$/);
});

test('docker network ls lists it (and filters)', async () => {
  const out = await ok(m, 'network', 'ls');
  assert.match(out, /NETWORK ID\s+NAME\s+DRIVER\s+SCOPE/);
  assert.match(out, new RegExp(`${netId.slice(0, 12)}\\s+x\\s+overlay\\s+swarm`));
  assert.is((await ok(m, 'network', 'ls', '-q', '--filter', 'label=tier=front')).trim(), netId.slice(0, 12));
  assert.is((await ok(m, 'network', 'ls', '-q', '--filter', 'driver=bridge')).trim(), '');
});

test('docker network create refuses a duplicate and another driver, changing nothing', async () => {
  const before = await ok(m, 'network', 'ls', '-q');
  const dup = await docker(m, 'network', 'create', '-d', 'overlay', 'x');
  assert.is.not(dup.code, 0);
  assert.match(dup.err, /network with name x already exists/);
  const br = await docker(m, 'network', 'create', '-d', 'bridge', 'y');
  assert.is.not(br.code, 0);
  assert.match(br.err, /network driver "bridge" is not supported/);
  assert.is(await ok(m, 'network', 'ls', '-q'), before);
});

test('docker network create --opt encrypted is applied; an option Shoal does not apply is refused naming it', async () => {
  const before = await ok(m, 'network', 'ls', '-q');
  const enc = await docker(m, 'network', 'create', '-d', 'overlay', '--opt', 'encrypted', 'secret');
  assert.is(enc.code, 0, enc.err);
  const shown = JSON.parse(await ok(m, 'network', 'inspect', 'secret')) as { Options: Record<string, string> }[];
  assert.ok(Object.hasOwn(shown[0].Options, 'encrypted'), JSON.stringify(shown[0].Options));
  await ok(m, 'network', 'rm', 'secret');
  const icc = await docker(m, 'network', 'create', '-d', 'overlay', '-o', 'com.docker.network.bridge.enable_icc=false', 'icc');
  assert.is.not(icc.code, 0);
  assert.match(icc.err, /network option "com\.docker\.network\.bridge\.enable_icc" is not supported/);
  const aux = await docker(m, 'network', 'create', '-d', 'overlay', '--subnet', '10.66.0.0/24', '--aux-address', 'a=10.66.0.9', 'aux');
  assert.is.not(aux.code, 0);
  assert.match(aux.err, /AuxiliaryAddresses/);
  assert.is(await ok(m, 'network', 'ls', '-q'), before);
  // --internal is applied (tasks get no way out: src/agent/network/isolation.lab.test.ts) and shown.
  await ok(m, 'network', 'create', '-d', 'overlay', '--internal', 'vault');
  assert.is((await ok(m, 'network', 'inspect', '--format', '{{.Internal}}', 'vault')).trim(), 'true');
  await ok(m, 'network', 'rm', 'vault');
});

test('docker service create --network x -p 8080:80: inspect shows the VirtualIPs and the published port', async () => {
  const id = (await ok(m, 'service', 'create', '--detach', '--no-resolve-image', '--name', 'web', '--network', 'x', '-p', '8080:80', 'busybox', 'sleep', '3600')).trim();
  const spec = JSON.parse(await ok(m, 'service', 'inspect', '--format', '{{json .Spec}}', 'web'));
  assert.equal(spec.TaskTemplate.Networks.map((n: { Target: string }) => n.Target), [netId], 'stored by ID');
  assert.equal(spec.EndpointSpec.Ports, [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }]);
  let endpoint: { Ports?: { PublishedPort: number; TargetPort: number }[]; VirtualIPs?: { NetworkID: string; Addr: string }[] } = {};
  await eventually('the allocator fills the endpoint', async () => {
    endpoint = JSON.parse(await ok(m, 'service', 'inspect', '--format', '{{json .Endpoint}}', id));
    return (endpoint.VirtualIPs ?? []).some((v) => v.NetworkID === netId) && (endpoint.Ports ?? []).length === 1;
  });
  assert.is(endpoint.Ports![0].PublishedPort, 8080);
  assert.is(endpoint.Ports![0].TargetPort, 80);
  for (const v of endpoint.VirtualIPs!) assert.match(v.Addr, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
  const ingress = JSON.parse(await ok(m, 'network', 'inspect', 'ingress'))[0];
  assert.ok(endpoint.VirtualIPs!.some((v) => v.NetworkID === ingress.Id), 'a VIP on ingress for the published port');
  assert.match(await ok(m, 'service', 'ls'), /web\s+replicated\s+0\/1\s+busybox(:latest)?\s+\*:8080->80\/tcp/);
});

test('docker network rm refuses a network in use, then removes it', async () => {
  const busy = await docker(m, 'network', 'rm', 'x');
  assert.is.not(busy.code, 0);
  assert.match(busy.err, /network x is in use by service web/);
  await ok(m, 'service', 'rm', 'web');
  await eventually('x removed once unused', async () => (await docker(m, 'network', 'rm', 'x')).code === 0);
  assert.not.match(await ok(m, 'network', 'ls'), /\sx\s/);
});

test.run();
