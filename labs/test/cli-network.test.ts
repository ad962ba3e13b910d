// `shoal network …` and the network flags of `shoal service …` as a user runs them, on
// one drained loopback node (no task runs). Failures print one clear line and exit 1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { SHOAL_BIN, freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';

interface Run { code: number; out: string; err: string }

function shoal(d: DaemonProcess, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    // The daemon through SHOAL_HOST: a `-H` at the end would belong to a service's command.
    execFile(process.execPath, [SHOAL_BIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, SHOAL_HOST: d.host } }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
    });
  });
}

async function ok(d: DaemonProcess, ...args: string[]): Promise<string> {
  const r = await shoal(d, ...args);
  assert.is(r.code, 0, `shoal ${args.join(' ')} failed: ${r.err}`);
  return r.out;
}

let d: DaemonProcess;

test.before(async () => {
  const addr = `127.0.0.1:${await freePort()}`;
  d = await startDaemonProcess(['--listen-addr', addr], { hostname: 'cn' });
  await ok(d, 'swarm', 'init', '--advertise-addr', addr, '--availability', 'drain', '--default-addr-pool', '10.80.0.0/16', '--default-addr-pool-mask-length', '26');
});
test.after(async () => {
  await d?.cleanup();
});

let frontId = '';

test('network create prints the ID; inspect shows the subnet and gateway asked for', async () => {
  frontId = (await ok(d, 'network', 'create', '--subnet', '10.81.0.0/24', '--gateway', '10.81.0.1', '--attachable', '--label', 'tier=front', '-o', 'com.docker.network.driver.mtu=1400', 'front')).trim();
  assert.match(frontId, /^[a-z0-9]{25}$/);
  const [n] = JSON.parse(await ok(d, 'network', 'inspect', 'front'));
  assert.is(n.Id, frontId);
  assert.equal(n.IPAM.Config[0].Subnet, '10.81.0.0/24');
  assert.equal(n.IPAM.Config[0].Gateway, '10.81.0.1');
  assert.is(n.Attachable, true);
  assert.equal(n.Labels, { tier: 'front' });
  assert.is(n.Options['com.docker.network.driver.mtu'], '1400');
  assert.is((await ok(d, 'network', 'inspect', '--format', '{{.Name}} {{.Scope}}', frontId.slice(0, 8))).trim(), 'front swarm');
});

test('network ls: table, -q, --filter', async () => {
  await ok(d, 'network', 'create', 'back');
  // Without --subnet, a subnet from the pool `swarm init` was given.
  assert.match((await ok(d, 'network', 'inspect', '--format', '{{json .IPAM.Config}}', 'back')), /"Subnet":"10\.80\.\d+\.\d+\/26"/);
  const out = await ok(d, 'network', 'ls');
  assert.match(out, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE\n/);
  assert.match(out, new RegExp(`${frontId.slice(0, 12)}\\s+front\\s+overlay\\s+swarm`));
  assert.match(out, /\s+back\s+overlay\s+swarm/);
  assert.is((await ok(d, 'network', 'ls', '-q', '--filter', 'label=tier=front')).trim(), frontId.slice(0, 12));
  assert.is((await ok(d, 'network', 'ls', '--format', '{{.Name}}', '--filter', 'name=bac')).trim(), 'back');
  const bad = await shoal(d, 'network', 'ls', '--filter', 'colour=red');
  assert.is(bad.code, 1);
  assert.match(bad.err, /invalid filter 'colour'/);
});

test('network create refusals are one clear line, exit 1, nothing made', async () => {
  const before = await ok(d, 'network', 'ls', '-q');
  for (const [args, re] of [
    [['network', 'create', 'front'], /Error response from daemon: network with name front already exists/],
    [['network', 'create', '-d', 'bridge', 'b'], /network driver "bridge" is not supported/],
    [['network', 'create', '--gateway', '10.1.0.1', 'g'], /needs a subnet/],
    // A bare key is an option set to '' (docker's MapOpts, as `--opt encrypted`): refused by the daemon by name.
    [['network', 'create', '-o', 'novalue', 'o'], /network option "novalue" is not supported/],
    [['network', 'create', '-o', '=x', 'o'], /invalid key\/value pair format in driver options/],
  ] as [string[], RegExp][]) {
    const r = await shoal(d, ...args);
    assert.is(r.code, 1, args.join(' '));
    assert.match(r.err, re);
    assert.not.match(r.err, /\n\s+at /, 'no stack trace');
  }
  assert.is(await ok(d, 'network', 'ls', '-q'), before);
});

test('service create --network (both syntaxes), -p, --endpoint-mode; ls shows PORTS; inspect --pretty', async () => {
  await ok(d, 'service', 'create', '--detach', '--name', 'web', '--network', 'front', '--network', 'name=back,alias=www', '-p', '8080:80', '-p', 'published=9053,target=53,protocol=udp', 'busybox', 'sleep', '3600');
  const spec = JSON.parse(await ok(d, 'service', 'inspect', '--format', '{{json .Spec}}', 'web'));
  const back = JSON.parse(await ok(d, 'network', 'inspect', 'back'))[0];
  assert.equal(spec.TaskTemplate.Networks, [{ Target: frontId }, { Target: back.Id, Aliases: ['www'] }]);
  assert.equal(spec.EndpointSpec.Ports.map((p: { PublishedPort: number; Protocol: string }) => `${p.PublishedPort}/${p.Protocol}`), ['8080/tcp', '9053/udp']);
  assert.match(await ok(d, 'service', 'ls'), /web\s+replicated\s+0\/1\s+busybox\s+\*:8080->80\/tcp, \*:9053->53\/udp/);
  const pretty = await ok(d, 'service', 'inspect', '--pretty', 'web');
  assert.match(pretty, /Networks:\s+front back/);
  assert.match(pretty, /Endpoint Mode:\s+vip/);
  assert.match(pretty, /PublishedPort = 8080\n\s+Protocol = tcp\n\s+TargetPort = 80\n\s+PublishMode = ingress/);
  // Repeatable flags right before the image take one value each (the image is not a second
  // constraint), and flags after the image are its command's (`sh -c`), as in Docker's CLI.
  await ok(d, 'service', 'create', '--detach', '--name', 'rr', '--endpoint-mode', 'dnsrr', '--network', 'back', '-e', 'A=1', '--constraint', 'node.role==manager', 'busybox', 'sh', '-c', 'sleep 9');
  assert.is((await ok(d, 'service', 'inspect', '--format', '{{.Spec.EndpointSpec.Mode}}', 'rr')).trim(), 'dnsrr');
  const rr = JSON.parse(await ok(d, 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate}}', 'rr'));
  assert.equal([rr.ContainerSpec.Image, rr.ContainerSpec.Env, rr.ContainerSpec.Command, rr.Placement.Constraints], ['busybox', ['A=1'], ['sh', '-c', 'sleep 9'], ['node.role==manager']]);
});

test('service create refusals: unknown network, port in use, dnsrr with a published port, bad -p', async () => {
  const before = await ok(d, 'service', 'ls', '-q');
  for (const [args, re] of [
    [['--network', 'nosuch'], /network nosuch not found/],
    [['-p', '8080:81'], /port '8080' is already in use by service 'web'/],
    [['--endpoint-mode', 'dnsrr', '-p', '8081:80'], /port published with ingress mode can't be used with dnsrr mode/],
    [['-p', '8080:80/sctp'], /sctp is not supported/],
    [['-p', 'published=1'], /missing mandatory field "target"/],
    [['--network', 'alias=x'], /network name\/id is not specified/],
  ] as [string[], RegExp][]) {
    const r = await shoal(d, 'service', 'create', '--detach', '--name', 'bad', ...args, 'busybox');
    assert.is(r.code, 1, args.join(' '));
    assert.match(r.err, re);
  }
  assert.is(await ok(d, 'service', 'ls', '-q'), before);
});

test('network rm: in use → clear error and exit 1, the others still removed', async () => {
  await ok(d, 'network', 'create', 'spare');
  const r = await shoal(d, 'network', 'rm', 'front', 'spare', 'nosuch');
  assert.is(r.code, 1);
  assert.is(r.out, 'spare\n');
  assert.match(r.err, /network front is in use by service web/);
  assert.match(r.err, /network nosuch not found/);
  await ok(d, 'service', 'rm', 'web', 'rr');
  assert.is(await ok(d, 'network', 'rm', 'front', 'back'), 'front\nback\n');
  assert.not.match(await ok(d, 'network', 'ls'), /front|back|spare/);
});

test.run();
