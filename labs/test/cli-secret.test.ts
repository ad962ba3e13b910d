// `shoal secret …`, `shoal config …` and the --secret/--config flags of `shoal service
// create`, as a user runs them, on one drained loopback node (no task runs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { shoalCli } from './shoal-cli.ts';

const { shoal, ok } = shoalCli();

let d: DaemonProcess;
let dir = '';
const PLAIN = 'cli-secret-plaintext-91c2';

test.before(async () => {
  const addr = `127.0.0.1:${await freePort()}`;
  d = await startDaemonProcess(['--listen-addr', addr], { hostname: 'cs' });
  dir = await mkdtemp(join(tmpdir(), 'shoal-cs-'));
  await ok(d, ['swarm', 'init', '--advertise-addr', addr, '--availability', 'drain']);
});
test.after(async () => {
  await d?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('secret create from a file and from stdin; ls, filters and inspect never print the data', async () => {
  const file = join(dir, 'pw');
  await writeFile(file, PLAIN);
  const id = (await ok(d, ['secret', 'create', '--label', 'env=prod', 'db_pass', file])).trim();
  assert.match(id, /^[a-z0-9]{25}$/);
  await ok(d, ['secret', 'create', '--template-driver', 'golang', 'tpl', '-'], 'svc={{.Service.Name}}');
  const ls = await ok(d, ['secret', 'ls']);
  assert.match(ls, /^ID\s+NAME\s+DRIVER\s+CREATED\s+UPDATED/);
  assert.match(ls, /db_pass/);
  assert.is((await ok(d, ['secret', 'ls', '-q', '--filter', 'label=env=prod'])).trim(), id);
  assert.is((await ok(d, ['secret', 'ls', '--format', '{{.Name}}', '--filter', 'name=tp'])).trim(), 'tpl');
  const pretty = await ok(d, ['secret', 'inspect', '--pretty', 'db_pass']);
  assert.match(pretty, /Name:\s+db_pass/);
  assert.match(pretty, / - env=prod/);
  assert.match(await ok(d, ['secret', 'inspect', '--pretty', 'tpl']), /Template Driver:\s+golang/);
  const all = ls + pretty + (await ok(d, ['secret', 'inspect', 'db_pass', 'tpl']));
  assert.not.ok(all.includes(PLAIN) || all.includes(Buffer.from(PLAIN).toString('base64')));
  const r = await shoal(d, ['secret', 'create', 'db_pass', file]);
  assert.is(r.code, 1);
  assert.match(r.err, /secret db_pass already exists/);
  assert.not.ok(r.err.includes(PLAIN));
});

test('config create and inspect --pretty show the data', async () => {
  await ok(d, ['config', 'create', 'app.conf', '-'], 'port=8080\n');
  const pretty = await ok(d, ['config', 'inspect', '--pretty', 'app.conf']);
  assert.match(pretty, /Data:\nport=8080/);
  assert.match(await ok(d, ['config', 'ls']), /^ID\s+NAME\s+CREATED\s+UPDATED[\s\S]*app\.conf/);
});

test('service create --secret/--config; rm of one in use is refused and names the service', async () => {
  await ok(d, ['service', 'create', '-d', '--name', 'api', '--secret', 'source=db_pass,target=db,mode=0400', '--secret', 'tpl', '--config', 'source=app.conf,target=/etc/app.conf', 'busybox', 'sleep', '100']);
  const c = JSON.parse(await ok(d, ['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec}}', 'api']));
  assert.equal(c.Secrets.map((s: { SecretName: string; File: { Name: string; Mode: number } }) => [s.SecretName, s.File.Name, s.File.Mode]), [['db_pass', 'db', 0o400], ['tpl', 'tpl', 0o444]]);
  assert.match(c.Secrets[0].SecretID, /^[a-z0-9]{25}$/);
  assert.is(c.Configs[0].File.Name, '/etc/app.conf');
  const r = await shoal(d, ['secret', 'rm', 'db_pass', 'tpl']);
  assert.is(r.code, 1);
  assert.match(r.err, /secret 'db_pass' is in use by the following service: api/);
  const missing = await shoal(d, ['service', 'create', '-d', '--name', 'api2', '--config', 'nope', 'busybox']);
  assert.match(missing.err, /config not found: nope/);
});

test('service update --secret-rm/--secret-add and --config-rm change the references', async () => {
  await ok(d, ['service', 'update', '-d', '--secret-rm', 'tpl', '--secret-add', 'source=tpl,target=t2', '--config-rm', 'app.conf', 'api']);
  const c = JSON.parse(await ok(d, ['service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec}}', 'api']));
  assert.equal(c.Secrets.map((s: { SecretName: string; File: { Name: string } }) => [s.SecretName, s.File.Name]), [['db_pass', 'db'], ['tpl', 't2']]);
  assert.equal(c.Configs ?? [], []);
  const r = await shoal(d, ['service', 'update', '-d', '--secret-add', 'nope', 'api']);
  assert.match(r.err, /secret not found: nope/);
});

test('rm removes what no service uses', async () => {
  await ok(d, ['service', 'rm', 'api']);
  assert.is((await ok(d, ['secret', 'rm', 'db_pass', 'tpl'])).trim(), 'db_pass\ntpl');
  assert.is((await ok(d, ['config', 'rm', 'app.conf'])).trim(), 'app.conf');
  const gone = await shoal(d, ['secret', 'inspect', 'db_pass']);
  assert.match(gone.err, /No such secret: db_pass/);
  assert.not.ok(d.output().includes(PLAIN), 'the daemon log never holds the secret');
});

test.run();
