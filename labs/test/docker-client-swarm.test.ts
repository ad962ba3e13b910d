// The stock docker client drives a Shoal swarm: `docker swarm init | join-token | join |
// update | leave` and `docker node ls | inspect | update | promote | demote | rm` against
// two daemons on loopback (issue 5, item 8).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { docker, eventually, ok } from './docker-cli.ts';

let m: DaemonProcess, w: DaemonProcess;
let mAddr = '', wAddr = '';

test.before(async () => {
  mAddr = `127.0.0.1:${await freePort()}`;
  wAddr = `127.0.0.1:${await freePort()}`;
  m = await startDaemonProcess(['--listen-addr', mAddr], { hostname: 'dm' });
  w = await startDaemonProcess(['--listen-addr', wAddr], { hostname: 'dw' });
});
test.after(async () => {
  await Promise.all([m?.cleanup(), w?.cleanup()]);
});

test('docker swarm init prints the join command', async () => {
  const out = await ok(m, 'swarm', 'init', '--advertise-addr', mAddr, '--listen-addr', mAddr);
  assert.match(out, /Swarm initialized: current node \([a-z0-9]{25}\) is now a manager\./);
  assert.match(out, new RegExp(`docker swarm join --token SWMTKN-1-[a-z0-9]{50}-[a-z0-9]{25} ${mAddr.replace(/\./g, '\\.')}`));
});

test('docker swarm join-token and join add a worker', async () => {
  const token = (await ok(m, 'swarm', 'join-token', '-q', 'worker')).trim();
  const out = await ok(w, 'swarm', 'join', '--token', token, '--advertise-addr', wAddr, '--listen-addr', wAddr, mAddr);
  assert.match(out, /This node joined a swarm as a worker\./);
  await eventually('both nodes ready', async () => (await ok(m, 'node', 'ls', '--format', '{{.Hostname}} {{.Status}}')).split('\n').filter((l) => / Ready$/.test(l)).length === 2);
});

test('docker node ls marks the leader and this node', async () => {
  const out = await ok(m, 'node', 'ls');
  assert.match(out, /\*\s+dm\s+Ready\s+Active\s+Leader/);
  assert.match(out, /\s+dw\s+Ready\s+Active\s+\s/);
});

test('docker node update and inspect', async () => {
  await ok(m, 'node', 'update', '--label-add', 'zone=a', '--availability', 'drain', 'dw');
  assert.is((await ok(m, 'node', 'inspect', 'dw', '--format', '{{.Spec.Labels.zone}} {{.Spec.Availability}}')).trim(), 'a drain');
});

test('docker node promote and demote', async () => {
  assert.match(await ok(m, 'node', 'promote', 'dw'), /promoted to a manager/);
  await eventually('dw reachable as a manager', async () => /dw\s+Ready\s+Drain\s+Reachable/.test(await ok(m, 'node', 'ls')));
  assert.match(await ok(m, 'node', 'demote', 'dw'), /demoted in the swarm/);
  await eventually('dw a worker again', async () => (await ok(m, 'node', 'inspect', 'dw', '--format', '{{.Spec.Role}}')).trim() === 'worker');
});

test('docker swarm update and join-token --rotate', async () => {
  const before = (await ok(m, 'swarm', 'join-token', '-q', 'worker')).trim();
  await ok(m, 'swarm', 'update', '--task-history-limit', '3');
  assert.is((await ok(m, 'info', '--format', '{{.Swarm.Cluster.Spec.Orchestration.TaskHistoryRetentionLimit}}')).trim(), '3');
  await ok(m, 'swarm', 'join-token', '--rotate', 'worker');
  assert.is.not((await ok(m, 'swarm', 'join-token', '-q', 'worker')).trim(), before);
});

test('docker swarm leave, then node rm of the node that left', async () => {
  // The demoted node follows its new role (a worker certificate) on its own, shortly after.
  await eventually('dw a worker on its own side', async () => (await docker(w, 'info', '--format', '{{.Swarm.ControlAvailable}}')).out.trim() === 'false');
  await ok(w, 'swarm', 'leave');
  assert.is((await ok(w, 'info', '--format', '{{.Swarm.LocalNodeState}}')).trim(), 'inactive');
  await eventually('dw down', async () => (await ok(m, 'node', 'inspect', 'dw', '--format', '{{.Status.State}}')).trim() === 'down');
  await ok(m, 'node', 'rm', 'dw');
  assert.not.match(await ok(m, 'node', 'ls'), /dw/);
  const r = await docker(m, 'swarm', 'leave');
  assert.is.not(r.code, 0, 'a manager is refused without --force');
  assert.match(r.err, /Removing the last manager erases all current state of the swarm/);
  await ok(m, 'swarm', 'leave', '--force');
});

test.run();
