// Autolock and roles with the stock docker client: a manager that joins an autolocked
// swarm seals its keys under the cluster's unlock key (locked after a restart); demoted,
// it drops them and restarts unlocked, since workers are never locked.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { docker, eventually, ok } from './docker-cli.ts';

let m: DaemonProcess | undefined, w: DaemonProcess | undefined;
let mAddr = '', wAddr = '';

async function restartW(): Promise<void> {
  const dir = w!.dir;
  await w!.stop();
  w = await startDaemonProcess(['--listen-addr', wAddr], { dir, hostname: 'dw2' });
}

const state = async (d: DaemonProcess) => (await ok(d, 'info', '--format', '{{.Swarm.LocalNodeState}}')).trim();
const tlsKey = (d: DaemonProcess) => readFile(join(d.dataRoot, 'swarm', 'certificates', 'swarm-node.key'), 'utf8');

test.before(async () => {
  mAddr = `127.0.0.1:${await freePort()}`;
  wAddr = `127.0.0.1:${await freePort()}`;
  m = await startDaemonProcess(['--listen-addr', mAddr], { hostname: 'dm2' });
  w = await startDaemonProcess(['--listen-addr', wAddr], { hostname: 'dw2' });
});
test.after(async () => {
  await Promise.all([m?.cleanup(), w?.cleanup()]);
});

test('a manager joining an autolocked swarm seals its keys and restarts locked', async () => {
  const out = await ok(m!, 'swarm', 'init', '--autolock', '--advertise-addr', mAddr, '--listen-addr', mAddr);
  const key = /SWMKEY-1-[A-Za-z0-9+/]{43}/.exec(out)![0];
  const token = (await ok(m!, 'swarm', 'join-token', '-q', 'manager')).trim();
  await ok(w!, 'swarm', 'join', '--token', token, '--advertise-addr', wAddr, '--listen-addr', wAddr, mAddr);
  await eventually('dw2 sealed its TLS key', async () => (await tlsKey(w!)).includes('ENCRYPTED PRIVATE KEY'));
  await restartW();
  assert.is(await state(w!), 'locked');
  const r = await new Promise<number>((resolve) => {
    import('node:child_process').then(({ execFile }) => {
      const c = execFile('docker', ['swarm', 'unlock'], { env: { ...process.env, DOCKER_HOST: w!.host } }, (err) => resolve(err ? 1 : 0));
      c.stdin!.end(`${key}\n`);
    });
  });
  assert.is(r, 0);
  // Unlocked, dw2 starts its Raft member again and the two-manager cluster regains its
  // quorum: an election round and a heartbeat on a loaded CI machine can outlast 20 s.
  // Both members stand for election then, so dw2 may come back as the leader (a split vote
  // at one term, dw2 first at the next): either way it is a manager in the quorum again.
  await eventually('dw2 reachable', async () => /dw2\s+Ready\s+Active\s+(?:Reachable|Leader)/.test(await ok(m!, 'node', 'ls')), 60_000);
});

test('demoted, it drops its KEK and restarts unlocked as a worker', async () => {
  await ok(m!, 'node', 'demote', 'dw2');
  await eventually('dw2 a worker on its own side', async () => (await docker(w!, 'info', '--format', '{{.Swarm.ControlAvailable}}')).out.trim() === 'false');
  await eventually('TLS key in clear', async () => !(await tlsKey(w!)).includes('ENCRYPTED'));
  await restartW();
  assert.is(await state(w!), 'active');
  await ok(w!, 'swarm', 'leave');
  await ok(m!, 'swarm', 'leave', '--force');
});

test.run();
