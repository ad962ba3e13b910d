// The stock docker client manages a Shoal node's local volumes (issue 23, item 4):
// `docker volume create/ls/inspect/rm/prune` with labels, filters and the local
// driver's tmpfs/bind options, refusals that name what is refused, and
// `docker system df`, against one daemon on loopback (no swarm needed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemonProcess, type DaemonProcess } from './daemon-process.ts';
import { docker, ok } from './docker-cli.ts';

let d: DaemonProcess;
let bindSrc: string;
const lines = (s: string) => s.split('\n').filter(Boolean);

test.before(async () => {
  d = await startDaemonProcess([], { hostname: 'vol' });
  bindSrc = await mkdtemp(join(tmpdir(), 'shoal-volsrc-'));
});
test.after(async () => {
  await d?.cleanup();
  if (bindSrc) await rm(bindSrc, { recursive: true, force: true });
});

test('volume create, ls with filters, inspect', async () => {
  assert.is((await ok(d, 'volume', 'create', '--label', 'app=web', '--label', 'tier', 'webdata')).trim(), 'webdata');
  await ok(d, 'volume', 'create', 'dbdata');
  await ok(d, 'volume', 'create', '-d', 'local', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=1m', 'scratch');
  await ok(d, 'volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${bindSrc}`, 'bound');
  const ls = (...f: string[]) => ok(d, 'volume', 'ls', '-q', ...f.flatMap((x) => ['--filter', x])).then(lines);
  assert.equal(await ls(), ['bound', 'dbdata', 'scratch', 'webdata']);
  assert.equal(await ls('name=data'), ['dbdata', 'webdata']);
  assert.equal(await ls('label=app=web'), ['webdata']);
  assert.equal(await ls('label=tier'), ['webdata']);
  assert.equal(await ls('dangling=true'), ['bound', 'dbdata', 'scratch', 'webdata']);
  assert.equal(await ls('dangling=false'), []);
  assert.equal(await ls('driver=local'), ['bound', 'dbdata', 'scratch', 'webdata']);
  const [v] = JSON.parse(await ok(d, 'volume', 'inspect', 'webdata'));
  assert.is(v.Driver, 'local');
  assert.is(v.Scope, 'local');
  assert.equal(v.Labels, { app: 'web', tier: '' });
  assert.is(v.Mountpoint, join(d.dataRoot, 'volumes', 'webdata', '_data'));
  assert.is((await stat(join(d.dataRoot, 'volumes', 'webdata'))).mode & 0o777, 0o700);
  const opts = (await ok(d, 'volume', 'inspect', '--format', '{{json .Options}}', 'scratch')).trim();
  assert.equal(JSON.parse(opts), { type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
  const anon = (await ok(d, 'volume', 'create')).trim();
  assert.match(anon, /^[0-9a-f]{64}$/);
  await ok(d, 'volume', 'rm', anon);
});

test('what shoal does not do is refused, naming it', async () => {
  const driver = await docker(d, 'volume', 'create', '-d', 'nfsplugin', 'x1');
  assert.is.not(driver.code, 0);
  assert.match(driver.err, /driver "nfsplugin" is not supported/);
  const nfs = await docker(d, 'volume', 'create', '-o', 'type=nfs', '-o', 'o=addr=10.0.0.1', '-o', 'device=:/srv', 'x2');
  assert.is.not(nfs.code, 0);
  assert.match(nfs.err, /type: "nfs" is not supported/);
  const key = await docker(d, 'volume', 'create', '-o', 'size=10G', 'x3');
  assert.match(key.err, /invalid option key: "size"/);
  const filter = await docker(d, 'volume', 'ls', '--filter', 'color=red');
  assert.match(filter.err, /invalid filter 'color'/);
  assert.equal(lines(await ok(d, 'volume', 'ls', '-q', '--filter', 'name=x')), []);
});

test('rm, rm of a missing volume, prune with a label', async () => {
  const missing = await docker(d, 'volume', 'rm', 'nosuchvol');
  assert.is.not(missing.code, 0);
  assert.match(missing.err, /no such volume/);
  await ok(d, 'volume', 'rm', '-f', 'nosuchvol');
  await ok(d, 'volume', 'rm', 'bound');
  assert.ok((await stat(bindSrc)).isDirectory(), 'removing a bind volume leaves its source');
  const pruned = await ok(d, 'volume', 'prune', '-f', '--filter', 'label=app');
  assert.match(pruned, /webdata/);
  assert.equal(lines(await ok(d, 'volume', 'ls', '-q')), ['dbdata', 'scratch']);
});

test('system df lists volumes with sizes; build cache empty', async () => {
  const df = await ok(d, 'system', 'df');
  assert.match(df, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE/);
  assert.match(df, /Local Volumes\s+2\s+0\s/);
  assert.match(df, /Build Cache\s+0\s+0\s/);
  assert.match(df, /Containers\s+0\s+0\s/);
  const verbose = await ok(d, 'system', 'df', '-v');
  assert.match(verbose, /dbdata\s+0\s+0B/);
});

test.run();
