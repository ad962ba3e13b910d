// `shoal swarm backup` on a running manager and `shoal swarm restore` on a fresh daemon:
// the restored cluster has the same ID, root CA and join tokens, every service, network,
// secret and config, the old nodes as down workers, and autolock's backups need the key.
// Two daemons on loopback, no data plane (the lab test runs the services: labs/backup.lab.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { shoalCli } from './shoal-cli.ts';

const { shoal, ok } = shoalCli({ timeoutMs: 60_000 });

const daemons: DaemonProcess[] = [];
let dir = '';

async function daemon(name: string): Promise<{ d: DaemonProcess; addr: string }> {
  const addr = `127.0.0.1:${await freePort()}`;
  const d = await startDaemonProcess(['--listen-addr', addr], { hostname: name });
  daemons.push(d);
  return { d, addr };
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shoal-bak-'));
});
test.after(async () => {
  for (const d of daemons) await d.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a backup restored on a fresh daemon brings back the cluster and every object', async () => {
  const { d: a, addr: addrA } = await daemon('bak-a');
  await ok(a, ['swarm', 'init', '--advertise-addr', addrA, '--availability', 'drain']);
  await ok(a, ['network', 'create', '-d', 'overlay', 'backnet']);
  await ok(a, ['secret', 'create', 'db_pass', '-'], 'backup-secret-7f3');
  await ok(a, ['config', 'create', 'app.conf', '-'], 'port=80');
  await ok(a, ['service', 'create', '-d', '--name', 'web', '--replicas', '2', '--network', 'backnet', '--secret', 'db_pass', '--config', 'app.conf', 'busybox', 'sleep', '3600']);
  const before = JSON.parse(await ok(a, ['swarm', 'inspect']))[0];
  const workerToken = (await ok(a, ['swarm', 'join-token', '-q', 'worker'])).trim();
  const file = join(dir, 'swarm.json');
  assert.match(await ok(a, ['swarm', 'backup', file]), /Backed up swarm \w+ at Raft index \d+ to .*\(1 services\)/);
  assert.is((await stat(file)).mode & 0o777, 0o600);
  await a.stop();

  const { d: b, addr: addrB } = await daemon('bak-b');
  assert.match(await ok(b, ['swarm', 'restore', file, '--advertise-addr', addrB]), /restored: this node \(\w+\) is its only manager; 1 services/);
  const after = JSON.parse(await ok(b, ['swarm', 'inspect']))[0];
  assert.is(after.ID, before.ID);
  assert.is(after.TLSInfo.TrustRoot, before.TLSInfo.TrustRoot);
  assert.is((await ok(b, ['swarm', 'join-token', '-q', 'worker'])).trim(), workerToken);
  assert.match(await ok(b, ['service', 'ls', '--format', '{{.Name}}']), /^web$/m);
  const svc = JSON.parse(await ok(b, ['service', 'inspect', 'web']))[0];
  assert.is(svc.Spec.Mode.Replicated.Replicas, 2);
  assert.match(await ok(b, ['network', 'ls', '--format', '{{.Name}}']), /^backnet$/m);
  assert.match(await ok(b, ['secret', 'ls', '--format', '{{.Name}}']), /^db_pass$/m);
  assert.match(await ok(b, ['config', 'ls', '--format', '{{.Name}}']), /^app\.conf$/m);
  const nodes = await ok(b, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}']);
  assert.match(nodes, /^bak-a Down\s*$/m);
  assert.match(nodes, /^bak-b Ready Leader$/m);
  // A node in a swarm refuses a restore.
  const again = await shoal(b, ['swarm', 'restore', file]);
  assert.is(again.code, 1);
  assert.match(again.err, /already part of a swarm/);
});

test('with autolock the backup is encrypted and the restore needs the unlock key', async () => {
  const { d: a, addr: addrA } = await daemon('lock-a');
  await ok(a, ['swarm', 'init', '--advertise-addr', addrA, '--autolock']);
  const key = (await ok(a, ['swarm', 'unlock-key', '-q'])).trim();
  await ok(a, ['secret', 'create', 'locked_pw', '-'], 'locked-secret-2c9');
  const file = join(dir, 'locked.json');
  assert.match(await ok(a, ['swarm', 'backup', file]), /encrypted with the unlock key/);
  const text = await readFile(file, 'utf8');
  assert.not.ok(text.includes('locked_pw') || text.includes('BEGIN EC PRIVATE KEY') || text.includes('PRIVATE KEY'));
  await a.stop();

  const { d: b, addr: addrB } = await daemon('lock-b');
  const without = await shoal(b, ['swarm', 'restore', file, '--advertise-addr', addrB]);
  assert.is(without.code, 1);
  assert.match(without.err, /encrypted .*unlock key/);
  const wrong = await shoal(b, ['swarm', 'restore', file, '--advertise-addr', addrB, '--unlock-key', 'SWMKEY-1-7c3TqoF1CKKnuP9Gm5v7S5F1vo+zbvADFkY6aT4j8VM']);
  assert.is(wrong.code, 1);
  assert.match(wrong.err, /does not open this backup/);
  await ok(b, ['swarm', 'restore', file, '--advertise-addr', addrB, '--unlock-key', key]);
  assert.match(await ok(b, ['secret', 'ls', '--format', '{{.Name}}']), /^locked_pw$/m);
});

test('a file that is no backup is refused with a clear error', async () => {
  const { d: c } = await daemon('bad-c');
  const file = join(dir, 'nope.json');
  await writeFile(file, '{"hello": 1}');
  const r = await shoal(c, ['swarm', 'restore', file]);
  assert.is(r.code, 1);
  assert.match(r.err, /not a Shoal swarm backup/);
});

test.run();
