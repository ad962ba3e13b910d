// The `shoal` command line as a user runs it: help, version, global --host, errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { SHOAL_BIN, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';

function shoal(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [SHOAL_BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let d: DaemonProcess;
test.before(async () => {
  d = await startDaemonProcess();
});
test.after(async () => {
  await d?.cleanup();
});

test('--help lists the commands', () => {
  const r = shoal(['--help']);
  assert.is(r.code, 0);
  for (const cmd of ['daemon', 'info', 'version']) assert.match(r.out, new RegExp(`\\n\\s+${cmd}\\s`));
});

test('daemon --help documents its flags', () => {
  const r = shoal(['daemon', '--help']);
  assert.is(r.code, 0);
  for (const flag of ['--data-root', '--host', '--listen-addr', '--advertise-addr', '--hostname', '--insecure-registry']) assert.ok(r.out.includes(flag), flag);
});

test('version prints client and server versions through --host', () => {
  const r = shoal(['version', '--host', d.host]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /Client: Shoal/);
  assert.match(r.out, /Server: Shoal Engine/);
  assert.match(r.out, /API version:\s+1\.41/);
});

test('SHOAL_HOST selects the daemon when --host is absent', () => {
  const r = shoal(['info', '--format', '{{.Name}}'], { SHOAL_HOST: d.host });
  assert.is(r.code, 0, r.err);
  assert.is(r.out.trim(), 'testhost');
});

test('info --format json prints one JSON document', () => {
  const r = shoal(['info', '--format', 'json', '-H', d.host]);
  assert.is(r.code, 0, r.err);
  assert.is(JSON.parse(r.out).Swarm.LocalNodeState, 'inactive');
});

test('without a daemon, commands fail with one clear line', () => {
  const r = shoal(['info', '-H', `unix://${d.dir}/missing.sock`]);
  assert.is(r.code, 1);
  assert.match(r.err, /cannot connect to the Shoal daemon at unix:\/\/.*missing\.sock: is the daemon running\?/);
  assert.not.match(r.err, /at .*\.ts:\d+/, 'no stack trace');
});

test('a malformed --host is refused with exit code 2', () => {
  const r = shoal(['info', '-H', 'ftp://x']);
  assert.is(r.code, 2);
  assert.match(r.err, /invalid host "ftp:\/\/x"/);
});

test('an unknown command says so', () => {
  const r = shoal(['frobnicate']);
  assert.is.not(r.code, 0);
  assert.match(r.err, /command frobnicate not found/i);
});

test.run();
