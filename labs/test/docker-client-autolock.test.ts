// The stock docker client against an autolocked Shoal manager (issue 16, items 4, 5, 8):
// `docker swarm init --autolock`, `swarm unlock-key [-q] [--rotate]`, `swarm unlock`
// (the key on stdin, as an operator pipes it), `swarm update --autolock=false`; a
// restarted manager answers Docker's 503 and runs no Raft until unlocked; a wrong key
// changes nothing; no byte of the data root holds a secret's plaintext or its base64.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { docker, eventually, ok } from './docker-cli.ts';

const PLAIN = 'autolock-plaintext-7f3a9c1e-do-not-store';
const LOCKED = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';

let m: DaemonProcess | undefined;
let dir = '';
let addr = '';
let key = '';

/** `docker ARGS` with `input` on stdin. */
function dockerIn(d: DaemonProcess, input: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = execFile('docker', args, { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DOCKER_HOST: d.host } }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
    });
    child.stdin!.end(input);
  });
}

async function restart(): Promise<DaemonProcess> {
  await m!.stop();
  m = await startDaemonProcess(['--listen-addr', addr], { dir, hostname: 'al' });
  return m;
}

/** Every file under `root`, concatenated. */
async function allBytes(root: string): Promise<{ path: string; data: Buffer }[]> {
  const out: { path: string; data: Buffer }[] = [];
  for (const name of await readdir(root, { recursive: true })) {
    const p = join(root, name);
    if ((await stat(p)).isFile()) out.push({ path: p, data: await readFile(p) });
  }
  return out;
}

function portOpen(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

test.before(async () => {
  addr = `127.0.0.1:${await freePort()}`;
  m = await startDaemonProcess(['--listen-addr', addr], { hostname: 'al' });
  dir = m.dir;
});
test.after(async () => {
  await m?.cleanup();
});

test('docker swarm init --autolock prints the unlock key; unlock-key -q prints it again', async () => {
  const out = await ok(m!, 'swarm', 'init', '--autolock', '--advertise-addr', addr, '--listen-addr', addr);
  assert.match(out, /To unlock a swarm manager after it restarts, run the `docker swarm unlock`/);
  key = /SWMKEY-1-[A-Za-z0-9+/]{43}/.exec(out)?.[0] ?? '';
  assert.ok(key, `a key in: ${out}`);
  assert.is((await ok(m!, 'swarm', 'unlock-key', '-q')).trim(), key);
  assert.is((await ok(m!, 'info', '--format', '{{.Swarm.Cluster.Spec.EncryptionConfig.AutoLockManagers}}')).trim(), 'true');
  const sw = await m!.client.request('GET', '/swarm');
  assert.is(sw.status, 200);
  assert.not.match(sw.body.toString(), /SWMKEY/, 'GET /swarm never shows the key');
  assert.not.match(await ok(m!, 'info'), /SWMKEY/);
});

test('no byte of the data root holds a secret, its base64, the CA key or the TLS key in clear', async () => {
  await ok(m!, 'swarm', 'unlock', '--help'); // the CLI knows the command (no daemon call)
  const created = await dockerIn(m!, PLAIN, 'secret', 'create', 'db-pass', '-');
  assert.is(created.code, 0, created.err);
  // The manager has sealed its files (the follower runs right after the key is set).
  await eventually('the TLS key sealed', async () => (await readFile(join(m!.dataRoot, 'swarm', 'certificates', 'swarm-node.key'), 'utf8')).includes('ENCRYPTED PRIVATE KEY'));
  const files = await allBytes(m!.dataRoot);
  const needles = [PLAIN, Buffer.from(PLAIN).toString('base64'), 'BEGIN PRIVATE KEY', 'BEGIN EC PRIVATE KEY', key];
  for (const f of files) for (const n of needles) assert.is(f.data.indexOf(n), -1, `${n} found in ${f.path}`);
  assert.ok(files.some((f) => f.path.includes(`${join('swarm', 'raft', 'wal')}`)), 'the WAL was searched');
  const kek = files.find((f) => f.path.endsWith('swarm-node.kek'))!;
  assert.is((await stat(kek.path)).mode & 0o777, 0o600);
  assert.is(JSON.parse(kek.data.toString()).locked, true);
});

test('a restarted manager is locked: Docker\'s 503, no Raft port, a wrong key refused and nothing changed', async () => {
  const walDir = join(m!.dataRoot, 'swarm', 'raft', 'wal');
  await restart();
  const before = await allBytes(join(m!.dataRoot, 'swarm'));
  assert.is((await ok(m!, 'info', '--format', '{{.Swarm.LocalNodeState}}')).trim(), 'locked');
  const ls = await docker(m!, 'node', 'ls');
  assert.is.not(ls.code, 0);
  assert.ok(ls.err.includes(LOCKED), ls.err);
  const res = await m!.client.request('GET', '/services');
  assert.is(res.status, 503);
  assert.is(JSON.parse(res.body.toString()).message, LOCKED);
  assert.not.ok(await portOpen(addr), 'a locked manager listens on no swarm port (no Raft)');
  const wrong = await dockerIn(m!, 'SWMKEY-1-WuYH/IX284+lRcXuoVf38viIDK3HJEKY13MIHX+tTt8\n', 'swarm', 'unlock');
  assert.is.not(wrong.code, 0);
  assert.match(wrong.err, /swarm could not be unlocked: invalid key provided/);
  const malformed = await dockerIn(m!, 'not-a-key\n', 'swarm', 'unlock');
  assert.is.not(malformed.code, 0);
  assert.is((await ok(m!, 'info', '--format', '{{.Swarm.LocalNodeState}}')).trim(), 'locked');
  const after = await allBytes(join(m!.dataRoot, 'swarm'));
  assert.equal(after.map((f) => [f.path, f.data.toString('base64')]), before.map((f) => [f.path, f.data.toString('base64')]), 'a refused key changes no file');
  assert.ok(before.some((f) => f.path.startsWith(walDir)));
});

test('the right key unlocks: the manager serves reads and writes, and the secret is intact', async () => {
  const r = await dockerIn(m!, `${key}\n`, 'swarm', 'unlock');
  assert.is(r.code, 0, r.err);
  assert.is((await ok(m!, 'info', '--format', '{{.Swarm.LocalNodeState}}')).trim(), 'active');
  await eventually('writes served', async () => (await dockerIn(m!, 'x', 'secret', 'create', 'after-unlock', '-')).code === 0);
  assert.match(await ok(m!, 'secret', 'ls', '--format', '{{.Name}}'), /db-pass/);
  const again = await dockerIn(m!, `${key}\n`, 'swarm', 'unlock');
  assert.match(again.err, /swarm is not locked/);
});

test('docker swarm unlock-key --rotate: a new key; after a restart only the new key unlocks', async () => {
  // The manager re-seals its own files to follow the cluster's key: read which key seals
  // them before the rotation, since the re-seal may be done by the time the CLI returns.
  const kekPath = join(m!.dataRoot, 'swarm', 'certificates', 'swarm-node.kek');
  const sealedBy = async () => JSON.parse(await readFile(kekPath, 'utf8')).unlockKeyId as string;
  const first = await sealedBy();
  const out = await ok(m!, 'swarm', 'unlock-key', '--rotate');
  assert.match(out, /Successfully rotated manager unlock key\./);
  const next = /SWMKEY-1-[A-Za-z0-9+/]{43}/.exec(out)?.[0] ?? '';
  assert.ok(next && next !== key, 'a new key');
  await eventually('files re-sealed by the new key', async () => (await sealedBy()) !== first);
  await restart();
  const old = await dockerIn(m!, `${key}\n`, 'swarm', 'unlock');
  assert.match(old.err, /invalid key provided/);
  const r = await dockerIn(m!, `${next}\n`, 'swarm', 'unlock');
  assert.is(r.code, 0, r.err);
  key = next;
});

test('docker swarm update --autolock=false: keys back in clear beside the TLS key; a restart is not locked', async () => {
  await ok(m!, 'swarm', 'update', '--autolock=false');
  const r = await docker(m!, 'swarm', 'unlock-key');
  assert.is.not(r.code, 0);
  assert.match(r.err, /no unlock key is set/);
  await eventually('TLS key in clear again', async () => !(await readFile(join(m!.dataRoot, 'swarm', 'certificates', 'swarm-node.key'), 'utf8')).includes('ENCRYPTED'));
  await restart();
  assert.is((await ok(m!, 'info', '--format', '{{.Swarm.LocalNodeState}}')).trim(), 'active');
  const rot = await docker(m!, 'swarm', 'unlock-key', '--rotate');
  assert.match(rot.err, /cannot rotate because autolock is not turned on/);
  await ok(m!, 'swarm', 'leave', '--force');
});

test.run();
