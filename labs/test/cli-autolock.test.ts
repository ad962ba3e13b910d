// `shoal swarm init --autolock | unlock-key [-q] [--rotate] | unlock | update --autolock`
// as an operator runs them against one daemon that is restarted in between.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { SHOAL_BIN, freePort, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';

interface Run { code: number; out: string; err: string }

function shoal(d: DaemonProcess, input: string | undefined, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [SHOAL_BIN, ...args, '-H', d.host], { encoding: 'utf8', timeout: 30_000 }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut });
    });
    child.stdin!.end(input ?? '');
  });
}

async function ok(d: DaemonProcess, ...args: string[]): Promise<string> {
  const r = await shoal(d, undefined, ...args);
  assert.is(r.code, 0, `shoal ${args.join(' ')}: ${r.err}`);
  return r.out;
}

const KEY = /SWMKEY-1-[A-Za-z0-9+/]{43}/;
let d: DaemonProcess | undefined;
let addr = '';

async function restart(): Promise<DaemonProcess> {
  const dir = d!.dir;
  await d!.stop();
  d = await startDaemonProcess(['--listen-addr', addr], { dir, hostname: 'cl' });
  return d;
}

async function nodeState(): Promise<string> {
  return JSON.parse(await ok(d!, 'info', '--format', 'json')).Swarm.LocalNodeState;
}

test.before(async () => {
  addr = `127.0.0.1:${await freePort()}`;
  d = await startDaemonProcess(['--listen-addr', addr], { hostname: 'cl' });
});
test.after(async () => {
  await d?.cleanup();
});

test('init --autolock prints the key; unlock on an unlocked swarm is refused before asking', async () => {
  const out = await ok(d!, 'swarm', 'init', '--autolock', '--advertise-addr', addr, '--listen-addr', addr);
  assert.match(out, /shoal swarm unlock/);
  const key = KEY.exec(out)![0];
  assert.is((await ok(d!, 'swarm', 'unlock-key', '-q')).trim(), key);
  const r = await shoal(d!, `${key}\n`, 'swarm', 'unlock');
  assert.is(r.code, 1);
  assert.match(r.err, /swarm is not locked/);
});

test('after a restart: locked; a wrong key refused; the piped key unlocks', async () => {
  const key = (await ok(d!, 'swarm', 'unlock-key', '-q')).trim();
  await restart();
  assert.is(await nodeState(), 'locked');
  const ls = await shoal(d!, undefined, 'node', 'ls');
  assert.is.not(ls.code, 0);
  assert.match(ls.err, /Swarm is encrypted and needs to be unlocked/);
  const wrong = await shoal(d!, 'SWMKEY-1-WuYH/IX284+lRcXuoVf38viIDK3HJEKY13MIHX+tTt8\n', 'swarm', 'unlock');
  assert.is.not(wrong.code, 0);
  assert.match(wrong.err, /invalid key provided/);
  assert.is(await nodeState(), 'locked');
  const empty = await shoal(d!, '', 'swarm', 'unlock'); // no key on stdin: refused
  assert.is.not(empty.code, 0);
  assert.is(await nodeState(), 'locked');
  const r = await shoal(d!, `${key}\n`, 'swarm', 'unlock');
  assert.is(r.code, 0, r.err);
  assert.is(await nodeState(), 'active');
});

test('unlock-key --rotate prints a new key; update --autolock=false turns it off', async () => {
  const before = (await ok(d!, 'swarm', 'unlock-key', '-q')).trim();
  const out = await ok(d!, 'swarm', 'unlock-key', '--rotate');
  assert.match(out, /Successfully rotated manager unlock key/);
  assert.is.not(KEY.exec(out)![0], before);
  assert.match(await ok(d!, 'swarm', 'update', '--autolock=false'), /Swarm updated\./);
  const none = await shoal(d!, undefined, 'swarm', 'unlock-key');
  assert.match(none.err, /no unlock key is set/);
  const on = await ok(d!, 'swarm', 'update', '--autolock=true');
  assert.match(on, KEY);
  await ok(d!, 'swarm', 'leave', '--force');
});

test.run();
