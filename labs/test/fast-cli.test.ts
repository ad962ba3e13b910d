// The built CLI's fast path (cli/fast-path.ts, dist/fast.js) prints what oclif prints:
// each command line below runs twice against one daemon, once as oclif runs it
// (SHOAL_CLI_FAST=0) and once as `shoal` runs it, and stdout, stderr and the exit code must
// match. The lines the fast path should take run a third time with SHOAL_CLI_FAST=require,
// which fails when the fast path declines them. Builds dist/ when it is stale.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { newestSourceMtime } from '../../bin/freshness.js';

const DIST_SHOAL = join(REPO_ROOT, 'dist/shoal.js');
let daemon: DaemonProcess | undefined;

function distFresh(): boolean {
  try {
    const info = JSON.parse(readFileSync(join(REPO_ROOT, 'dist/build-info.json'), 'utf8')) as { newestSourceMtimeMs: number };
    return existsSync(DIST_SHOAL) && newestSourceMtime(REPO_ROOT) <= info.newestSourceMtimeMs;
  } catch {
    return false;
  }
}

/** "3 seconds ago" moves between two runs; everything else must be byte for byte. */
const clockFree = (s: string) => s.replace(/(\d+ (second|minute|hour|day)s?|Less than a second|About an? (minute|hour)) ago/g, 'AGO');

function shoal(args: string[], mode?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, SHOAL_HOST: daemon!.host };
  delete env.SHOAL_CLI_FAST;
  if (mode !== undefined) env.SHOAL_CLI_FAST = mode;
  const r = spawnSync(process.execPath, [DIST_SHOAL, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: clockFree(r.stdout), stderr: clockFree(r.stderr) };
}

test.before(async () => {
  if (!distFresh()) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/build.ts'), '--no-typecheck'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
    assert.is(r.status, 0, `build failed: ${r.stdout}${r.stderr}`);
  }
  daemon = await startDaemonProcess([], { hostname: 'fastcli' });
  const c = daemon.client;
  // Each line runs two or three times and the outputs must match byte for byte, so the node's
  // status must not move between runs: with the 1 s default heartbeat, a CI machine busy
  // with another lab file once starved this daemon for 3 s and `node ls` read Down in one run
  // of a pair. A 10 s heartbeat (30 s grace) keeps that out of a test about formatting.
  await c.post('/swarm/init', { ListenAddr: '127.0.0.1:0', AdvertiseAddr: '127.0.0.1', Spec: { Dispatcher: { HeartbeatPeriod: 10_000_000_000 } } });
  await c.post('/networks/create', { Name: 'fast-net', Driver: 'overlay', Labels: { tier: 'db' } });
  await c.post('/secrets/create', { Name: 'fast-secret', Data: Buffer.from('s').toString('base64'), Labels: { env: 'prod' } });
  await c.post('/configs/create', { Name: 'fast-config', Data: Buffer.from('c').toString('base64') });
  for (const [name, ns] of [['fast-web', 'shop'], ['fast-db', undefined]] as const) {
    await c.post('/services/create', {
      Name: name,
      Labels: ns ? { 'com.docker.stack.namespace': ns } : {},
      TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Command: ['sleep', '1d'] } },
      Mode: { Replicated: { Replicas: 0 } },
    });
  }
});

test.after(async () => {
  await daemon?.stop();
  await daemon?.cleanup();
});

/** Lines the fast path runs itself. */
const FAST = [
  ['version'],
  ['version', '--format', 'json'],
  ['version', '-f', '{{.Client.Version}} {{.Server.Version}}'],
  ['version', '--format={{json .Server.Platform}}'],
  ['version', '-H', 'unix:///nonexistent/shoal.sock'],
  ['service', 'ls'],
  ['service', 'ls', '-q'],
  ['service', 'ls', '--filter', 'name=fast-web', '-f', 'mode=replicated'],
  ['service', 'ls', '--format', 'json'],
  ['service', 'ls', '--format', '{{.Name}} {{.Replicas}}'],
  ['service', 'ls', '-H', 'unix:///nonexistent/shoal.sock'],
  ['node', 'ls'],
  ['node', 'ls', '--filter', 'role=manager', '-q'],
  ['node', 'ls', '--format', '{{.Hostname}} {{.ManagerStatus}}'],
  ['network', 'ls'],
  ['network', 'ls', '--no-trunc', '--filter', 'label=tier=db'],
  ['secret', 'ls'],
  ['secret', 'ls', '--format', 'json'],
  ['config', 'ls', '-q'],
  ['config', 'ls'],
  ['stack', 'ls'],
  ['image', 'ls', '-q'],
  ['image', 'ls'],
];

/** Lines the fast path hands to oclif (help, errors oclif formats, forms it does not parse). */
const DECLINED = [
  ['service', 'ls', '--help'],
  ['version', '--bogus'],
  ['service', 'ls', 'extra'],
  ['service', 'ls', '--format'],
  ['service', 'ls', '-qf', 'name=x'],
  ['service', 'ls', '--filter', 'nonsense'],
  ['node', 'ls', '--filter', 'bogus=1'],
  ['network', 'ls', '--quiet', '--quiet'],
];

/** What some lines must show, so that the comparison is not of two empty lists. */
const SHOWS: Record<string, RegExp> = {
  version: /Server: Shoal/,
  'service ls': /fast-db .*\n.*fast-web /,
  'node ls': /fastcli/,
  'network ls': /fast-net/,
  'secret ls': /fast-secret/,
  'config ls': /fast-config/,
  'stack ls': /shop\s+1/,
};

test('the fast path prints what oclif prints, and takes the lines meant for it', () => {
  for (const args of FAST) {
    const slow = shoal(args, '0');
    const shows = SHOWS[args.join(' ')];
    if (shows) assert.match(slow.stdout, shows, `${args.join(' ')}: ${slow.stdout}${slow.stderr}`);
    assert.equal(shoal(args), slow, args.join(' '));
    assert.equal(shoal(args, 'require'), slow, `${args.join(' ')} (fast path required)`);
  }
});

test('lines the fast path declines run under oclif unchanged', () => {
  for (const args of DECLINED) {
    const slow = shoal(args, '0');
    assert.equal(shoal(args), slow, args.join(' '));
    assert.is(shoal(args, 'require').status, 97, `${args.join(' ')} is declined`);
  }
});

test.run();
