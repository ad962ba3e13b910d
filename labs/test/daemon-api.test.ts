// The daemon as a process: the Docker-shaped system endpoints, the stock docker
// client against its socket, clean SIGTERM shutdown, one daemon per data root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startDaemonProcess, type DaemonProcess } from './daemon-process.ts';

let d: DaemonProcess;

test.before(async () => {
  d = await startDaemonProcess();
});
test.after(async () => {
  await d?.cleanup();
});

test('GET /_ping answers OK with API-Version and Swarm headers', async () => {
  const res = await d.client.request('GET', '/_ping');
  assert.is(res.status, 200);
  assert.is(res.body.toString(), 'OK');
  assert.is(res.headers['api-version'], '1.41');
  assert.is(res.headers['swarm'], 'inactive');
});

test('HEAD /_ping answers 200 with no body', async () => {
  const res = await d.client.request('HEAD', '/_ping');
  assert.is(res.status, 200);
  assert.is(res.body.length, 0);
});

test('GET /version has the Docker Engine API shape', async () => {
  const v = await d.client.get<Record<string, any>>('/version');
  assert.is(v.ApiVersion, '1.41');
  assert.is(v.Os, 'linux');
  assert.type(v.Version, 'string');
  assert.is(v.Components[0].Name, 'Engine');
  assert.is(v.Components[0].Details.ApiVersion, '1.41');
});

test('GET /info names the node and says it is in no swarm yet', async () => {
  const info = await d.client.get<Record<string, any>>('/info');
  assert.is(info.Name, 'testhost');
  assert.is(info.DockerRootDir, d.dataRoot);
  assert.is(info.Swarm.LocalNodeState, 'inactive');
  assert.is(info.OSType, 'linux');
  assert.ok(info.NCPU >= 1);
  assert.match(info.ID, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
});

test('/v1.41 prefixes are accepted and unknown paths give a JSON 404', async () => {
  const res = await d.client.request('GET', '/nothing/here');
  assert.is(res.status, 404);
  assert.ok(JSON.parse(res.body.toString()).message);
});

test('the stock docker client reads version and info from the socket', () => {
  const env = { ...process.env, DOCKER_HOST: d.host };
  const version = spawnSync('docker', ['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}}'], { env, encoding: 'utf8' });
  assert.is(version.status, 0, version.stderr);
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+ 1\.41$/);
  const info = spawnSync('docker', ['info', '--format', '{{.Name}} {{.Swarm.LocalNodeState}}'], { env, encoding: 'utf8' });
  assert.is(info.status, 0, info.stderr);
  assert.is(info.stdout.trim(), 'testhost inactive');
});

test('a second daemon on the same data root refuses to start with a clear error', async () => {
  const second = spawnSync(process.execPath, [
    'bin/shoal.js', 'daemon', '--data-root', d.dataRoot, '--host', `unix://${d.dir}/other.sock`,
  ], { encoding: 'utf8', timeout: 20_000 });
  assert.is(second.status, 1);
  assert.match(second.stderr, /data root .* is in use by another shoal daemon \(pid \d+\)/);
  assert.not.ok(existsSync(`${d.dir}/other.sock`), 'the refused daemon must not leave a socket');
  // and the first daemon still answers
  assert.is((await d.client.request('GET', '/_ping')).status, 200);
});

test('SIGTERM shuts the daemon down cleanly: exit 0, socket and lock removed', async () => {
  const code = await d.stop();
  assert.is(code, 0);
  assert.not.ok(existsSync(d.socket));
  assert.not.ok(existsSync(`${d.dataRoot}/shoal.pid`));
  assert.match(d.output(), /daemon stopped/);
});

test.run();
