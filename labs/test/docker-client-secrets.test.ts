// The stock docker client manages a Shoal swarm's secrets and configs: `docker secret
// create | ls | inspect | rm`, `docker config …`, and services that reference them
// (issue 16, items 1, 2 and 8), against one daemon on loopback.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { docker, eventually, ok } from './docker-cli.ts';

let m: DaemonProcess;
const PLAIN = 'shoal-docker-secret-plaintext-7f3a';

/** `docker ARGS` with `input` on stdin. */
function dockerIn(d: DaemonProcess, input: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = execFile('docker', args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DOCKER_HOST: d.host } }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
    });
    c.stdin!.end(input);
  });
}

test.before(async () => {
  const addr = `127.0.0.1:${await freePort()}`;
  m = await startDaemonProcess(['--listen-addr', addr], { hostname: 'sm' });
  await ok(m, 'swarm', 'init', '--advertise-addr', addr, '--listen-addr', addr);
});
test.after(async () => {
  await m?.cleanup();
});

test('docker secret create, ls and inspect never show the data', async () => {
  const r = await dockerIn(m, PLAIN, 'secret', 'create', '--label', 'env=prod', 'db_pass', '-');
  assert.is(r.code, 0, r.err);
  const id = r.out.trim();
  assert.match(id, /^[a-z0-9]{25}$/);
  const ls = await ok(m, 'secret', 'ls');
  assert.match(ls, /db_pass/);
  assert.is((await ok(m, 'secret', 'ls', '-q', '--filter', 'label=env=prod')).trim(), id);
  assert.is((await ok(m, 'secret', 'ls', '-q', '--filter', 'name=nope')).trim(), '');
  const inspect = await ok(m, 'secret', 'inspect', 'db_pass');
  assert.is(JSON.parse(inspect)[0].ID, id);
  assert.is(JSON.parse(inspect)[0].Spec.Labels.env, 'prod');
  assert.not.ok(inspect.includes(PLAIN) || inspect.includes(Buffer.from(PLAIN).toString('base64')), 'inspect shows no data');
  assert.is((await ok(m, 'secret', 'inspect', '--format', '{{.Spec.Name}}', id.slice(0, 6))).trim(), 'db_pass', 'by ID prefix');
  const raw = await m.client.request('GET', '/secrets');
  assert.not.ok(raw.body.toString().includes(Buffer.from(PLAIN).toString('base64')), 'list shows no data');
});

test('a second secret of one name is refused with docker\'s message; bad names too', async () => {
  const r = await dockerIn(m, 'x', 'secret', 'create', 'db_pass', '-');
  assert.is.not(r.code, 0);
  assert.match(r.err, /secret db_pass already exists/);
  const bad = await dockerIn(m, 'x', 'secret', 'create', 'bad!name', '-');
  assert.match(bad.err, /invalid name, only 64 \[a-zA-Z0-9-_.\] characters allowed/);
  const big = await dockerIn(m, 'x'.repeat(500 * 1024), 'secret', 'create', 'big', '-');
  assert.match(big.err, /secret data must be larger than 0 and less than 512000 bytes/);
  assert.not.ok(big.err.includes('xxxx'), 'the error does not quote the data');
});

test('docker config create and inspect show the data; configs are their own namespace', async () => {
  const r = await dockerIn(m, 'listen 8080\n', 'config', 'create', 'db_pass', '-');
  assert.is(r.code, 0, r.err);
  const data = (await ok(m, 'config', 'inspect', '--format', '{{json .Spec.Data}}', 'db_pass')).trim();
  assert.is(Buffer.from(JSON.parse(data) as string, 'base64').toString(), 'listen 8080\n');
  assert.match(await ok(m, 'config', 'ls'), /db_pass/);
});

test('a service references a secret and a config; in-use removal is refused naming it', async () => {
  await ok(m, 'service', 'create', '--name', 'web', '--detach', '--secret', 'source=db_pass,target=pw,mode=0400,uid=10',
    '--config', 'source=db_pass,target=/etc/app.conf', 'busybox:latest', 'sleep', '1000');
  const spec = JSON.parse(await ok(m, 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec}}', 'web'));
  assert.is(spec.Secrets[0].SecretName, 'db_pass');
  assert.equal(spec.Secrets[0].File, { Name: 'pw', UID: '10', GID: '0', Mode: 0o400 });
  assert.is(spec.Configs[0].File.Name, '/etc/app.conf');
  const rm = await docker(m, 'secret', 'rm', 'db_pass');
  assert.is.not(rm.code, 0);
  assert.match(rm.err, /secret 'db_pass' is in use by the following service: web/);
  const crm = await docker(m, 'config', 'rm', 'db_pass');
  assert.match(crm.err, /config 'db_pass' is in use by the following service: web/);
  const missing = await docker(m, 'service', 'create', '--name', 'web2', '--detach', '--secret', 'nope', 'busybox:latest');
  assert.is.not(missing.code, 0);
  assert.match(missing.err, /secret not found: nope/);
});

test('labels can be updated, data cannot; rm works once no service uses it', async () => {
  const id = (await ok(m, 'secret', 'inspect', '--format', '{{.ID}}', 'db_pass')).trim();
  const cur = JSON.parse((await m.client.request('GET', `/secrets/${id}`)).body.toString());
  const upd = await m.client.request('POST', `/secrets/${id}/update?version=${cur.Version.Index}`, { body: { Name: 'db_pass', Labels: { env: 'dev' } } });
  assert.is(upd.status, 200, upd.body.toString());
  assert.is((await ok(m, 'secret', 'inspect', '--format', '{{.Spec.Labels.env}}', 'db_pass')).trim(), 'dev');
  const now = JSON.parse((await m.client.request('GET', `/secrets/${id}`)).body.toString());
  const bad = await m.client.request('POST', `/secrets/${id}/update?version=${now.Version.Index}`, { body: { Name: 'db_pass', Labels: {}, Data: Buffer.from('other').toString('base64') } });
  assert.is(bad.status, 400);
  assert.match(bad.body.toString(), /only updates to Labels are allowed/);
  // service rm may lose a race with the orchestrator's own task writes (update out of sequence): retry.
  await eventually('service web removed', async () => (await docker(m, 'service', 'rm', 'web')).code === 0);
  assert.is((await ok(m, 'secret', 'rm', 'db_pass')).trim(), 'db_pass');
  await ok(m, 'config', 'rm', 'db_pass');
  assert.is((await ok(m, 'secret', 'ls', '-q')).trim(), '');
  const gone = await docker(m, 'secret', 'inspect', 'db_pass');
  assert.match(gone.err, /secret db_pass not found|No such secret/i);
});

test('the daemon log never holds the secret', async () => {
  assert.not.ok(m.output().includes(PLAIN));
});

test.run();
