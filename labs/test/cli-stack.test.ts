// `shoal stack …` and the stock `docker stack …` as a user runs them, on one drained
// loopback node (no task runs): what a deploy creates and labels, a redeploy updating
// in place, `--prune`, `ls`/`services`, `rm` removing exactly the stack's objects, and
// compose errors naming file, line and key before anything is created.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHOAL_BIN, freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { docker, ok as dockerOk } from './docker-cli.ts';

interface Run { code: number; out: string; err: string }

function shoal(d: DaemonProcess, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SHOAL_BIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env, SHOAL_HOST: d.host } }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
    });
  });
}

async function ok(d: DaemonProcess, args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await shoal(d, args, env);
  assert.is(r.code, 0, `shoal ${args.join(' ')} failed: ${r.err}`);
  return r.out;
}

let d: DaemonProcess;
let dir = '';

const COMPOSE = `
services:
  web:
    image: busybox:\${TAG:-1}
    command: httpd -f -p 80
    ports: ["8080:80"]
    networks: [front]
    configs: [{source: conf, target: /etc/web.conf}]
    deploy: {replicas: 2, update_config: {parallelism: 1, delay: 1s}}
  api:
    image: busybox:1
    networks: {front: {aliases: [backend]}, back: {}}
    secrets: [pw]
  db:
    image: busybox:1
    volumes: ["data:/data"]
    networks: [back]
networks:
  front: {attachable: true}
  back: {}
volumes:
  data: {}
secrets:
  pw: {file: ./pw.txt}
configs:
  conf: {file: ./web.conf}
`;

const listNames = async (kind: string, stack: string) =>
  (await ok(d, [kind, 'ls', '--filter', `label=com.docker.stack.namespace=${stack}`, '--format', '{{.Name}}'])).trim().split('\n').filter(Boolean).sort();

test.before(async () => {
  const addr = `127.0.0.1:${await freePort()}`;
  d = await startDaemonProcess(['--listen-addr', addr], { hostname: 'cst' });
  dir = await mkdtemp(join(tmpdir(), 'shoal-cst-'));
  await writeFile(join(dir, 'stack.yml'), COMPOSE);
  await writeFile(join(dir, 'pw.txt'), 'pw');
  await writeFile(join(dir, 'web.conf'), 'listen 80');
  await ok(d, ['swarm', 'init', '--advertise-addr', addr, '--availability', 'drain']);
  await ok(d, ['network', 'create', '-d', 'overlay', 'bystander']);
});
test.after(async () => {
  await d?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('shoal stack deploy creates the stack\'s networks, secret, config and services, named and labelled', async () => {
  const out = await ok(d, ['stack', 'deploy', '--resolve-image', 'never', '-c', join(dir, 'stack.yml'), 'shop']);
  assert.equal(out.trim().split('\n'), [
    'Creating network shop_back', 'Creating network shop_front', 'Creating secret shop_pw', 'Creating config shop_conf',
    'Creating service shop_api', 'Creating service shop_db', 'Creating service shop_web',
  ]);
  assert.equal(await listNames('service', 'shop'), ['shop_api', 'shop_db', 'shop_web']);
  assert.equal(await listNames('network', 'shop'), ['shop_back', 'shop_front']);
  assert.equal(await listNames('secret', 'shop'), ['shop_pw']);
  assert.equal(await listNames('config', 'shop'), ['shop_conf']);
  const web = JSON.parse(await ok(d, ['service', 'inspect', 'shop_web']))[0];
  assert.is(web.Spec.Labels['com.docker.stack.image'], 'busybox:1');
  assert.equal(web.Spec.TaskTemplate.ContainerSpec.Args, ['httpd', '-f', '-p', '80']);
  assert.equal(web.Spec.Mode, { Replicated: { Replicas: 2 } });
  const db = JSON.parse(await ok(d, ['service', 'inspect', 'shop_db']))[0];
  assert.is(db.Spec.TaskTemplate.ContainerSpec.Mounts[0].Source, 'shop_data');
});

test('stack ls and stack services', async () => {
  assert.match(await ok(d, ['stack', 'ls']), /^NAME\s+SERVICES\nshop\s+3\n$/);
  const services = await ok(d, ['stack', 'services', '--format', '{{.Name}} {{.Mode}} {{.Image}}', 'shop']);
  assert.equal(services.trim().split('\n'), ['shop_api replicated busybox:1', 'shop_db replicated busybox:1', 'shop_web replicated busybox:1']);
  const none = await shoal(d, ['stack', 'services', 'nope']);
  assert.is(none.code, 0);
  assert.match(none.err, /Nothing found in stack: nope/);
  const ps = await shoal(d, ['stack', 'ps', 'nope']);
  assert.equal([ps.code, ps.err], [1, 'nothing found in stack: nope\n']);
});

test('a redeploy updates in place (same IDs, new version), warns that it records no digest, and --prune removes dropped services', async () => {
  const before = JSON.parse(await ok(d, ['service', 'inspect', 'shop_web']))[0];
  const r = await shoal(d, ['stack', 'deploy', '-c', join(dir, 'stack.yml'), 'shop'], { TAG: '2' });
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /Updating service shop_web \(id: \w+\)/);
  assert.not.match(r.out, /Creating/);
  assert.match(r.err, /image busybox:2 could not be accessed on a registry to record\nits digest/);
  const after = JSON.parse(await ok(d, ['service', 'inspect', 'shop_web']))[0];
  assert.is(after.ID, before.ID);
  assert.ok(after.Version.Index > before.Version.Index);
  assert.is(after.Spec.TaskTemplate.ContainerSpec.Image, 'busybox:2');
  await writeFile(join(dir, 'small.yml'), COMPOSE.replace(/\n {2}db:\n(?: {4}.*\n)+/, '\n'));
  const pruned = await ok(d, ['stack', 'deploy', '--prune', '--resolve-image', 'never', '-c', join(dir, 'small.yml'), 'shop'], { TAG: '2' });
  assert.match(pruned, /^Removing service shop_db$/m);
  assert.equal(await listNames('service', 'shop'), ['shop_api', 'shop_web']);
});

test('compose errors name the file, line and key, and nothing is created', async () => {
  await writeFile(join(dir, 'bad.yml'), 'services:\n  web:\n    image: x\n    imgae: y\n');
  const r = await shoal(d, ['stack', 'deploy', '-c', join(dir, 'bad.yml'), 'bad']);
  assert.is(r.code, 1);
  assert.match(r.err, /bad\.yml:4: services\.web\.imgae: additional property imgae is not allowed/);
  await writeFile(join(dir, 'iso.yml'), 'services:\n  web:\n    image: x\n    isolation: hyperv\n');
  const i = await shoal(d, ['stack', 'deploy', '-c', join(dir, 'iso.yml'), 'bad']);
  assert.is(i.code, 1);
  assert.match(i.err, /iso\.yml:4: services\.web\.isolation: an isolation technology other than the default is not supported by Shoal yet/);
  const v = await shoal(d, ['stack', 'deploy', '-c', join(dir, 'stack.yml'), '-c', join(dir, 'bad.yml'), 'bad']);
  assert.match(v.err, /bad\.yml:4/);
  assert.equal(await listNames('service', 'bad'), []);
  assert.equal(await listNames('network', 'bad'), []);
});

test('shoal stack rm removes the stack\'s objects and nothing else', async () => {
  const out = await ok(d, ['stack', 'rm', 'shop']);
  assert.match(out, /Removing service shop_web/);
  assert.match(out, /Removing network shop_front/);
  for (const kind of ['service', 'network', 'secret', 'config']) assert.equal(await listNames(kind, 'shop'), [], kind);
  assert.match(await ok(d, ['network', 'ls', '--format', '{{.Name}}']), /^bystander$/m);
  assert.match(await ok(d, ['stack', 'rm', 'shop']), /Nothing found in stack: shop/);
});

test('the stock docker CLI: stack deploy, ls, services, redeploy, rm', async () => {
  const file = join(dir, 'stack.yml');
  const out = await dockerOk(d, 'stack', 'deploy', '--detach=true', '--resolve-image', 'never', '-c', file, 'dk');
  assert.match(out, /Creating service dk_web/);
  assert.equal(await listNames('service', 'dk'), ['dk_api', 'dk_db', 'dk_web']);
  assert.equal(await listNames('secret', 'dk'), ['dk_pw']);
  const db = JSON.parse(await ok(d, ['service', 'inspect', 'dk_db']))[0];
  assert.equal(db.Spec.TaskTemplate.ContainerSpec.Mounts[0], { Type: 'volume', Source: 'dk_data', Target: '/data', VolumeOptions: { Labels: { 'com.docker.stack.namespace': 'dk' } } });
  assert.match(await dockerOk(d, 'stack', 'ls'), /dk\s+3/);
  assert.match(await dockerOk(d, 'stack', 'services', 'dk'), /dk_web\s+replicated\s+0\/2\s+busybox:1\s+\*:8080->80\/tcp/);
  const before = JSON.parse(await ok(d, ['service', 'inspect', 'dk_web']))[0];
  const r = await docker(d, 'stack', 'deploy', '--detach=true', '--resolve-image', 'never', '-c', file, 'dk');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /Updating service dk_web/);
  assert.is(JSON.parse(await ok(d, ['service', 'inspect', 'dk_web']))[0].ID, before.ID);
  await dockerOk(d, 'stack', 'rm', 'dk');
  for (const kind of ['service', 'network', 'secret', 'config']) assert.equal(await listNames(kind, 'dk'), [], kind);
});

test.run();
