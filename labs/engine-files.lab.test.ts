// A node's container files and prunes with the stock docker CLI (issue 23, items 1, 4
// and 5): `docker cp` both ways on a task container (a file, a directory, into a volume
// the task mounts), a link inside the container that points at a host directory read
// and written only inside the container's root, `docker diff`, `docker export`, and
// `docker image|network|system prune` keeping what a task uses. What labs/engine and
// labs/volumes already check (ps, inspect, logs, exec, stats, kill → replaced, volume
// create/ls/inspect/rm, system df) is not repeated here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, type Lab } from './lib/lab.ts';
import { run } from './lib/procs.ts';
import { client, IMAGE, waitFor, waitRunning } from './lib/swarm-services.ts';
import { docker as dockerCli } from './test/docker-cli.ts';
import type { DaemonProcess } from './test/daemon-process.ts';
import { loadFacts, SchemaBook } from './test/docker-api-schema.ts';

const V2 = IMAGE.replace(/:v1$/, ':v2');
const lines = (s: string) => s.split('\n').filter(Boolean);

test('docker cp both ways never leaves the root; diff, export and the prunes', async () => {
  const local = mkdtempSync(join(tmpdir(), 'shoalcpy-'));
  // A host directory the container's links name: nothing may be read from or written to it.
  const secret = mkdtempSync(join(tmpdir(), 'shoalcpy-secret-'));
  writeFileSync(join(secret, 'key'), 'host secret\n');
  try {
    await withLab({ hosts: 1, prefix: 'shoalcpy' }, async (lab: Lab) => {
      const d = { host: lab.dockerHost('h1') } as DaemonProcess;
      const cli = (...args: string[]) => dockerCli(d, ...args);
      const ok = async (...args: string[]) => { const r = await cli(...args); assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.err}`); return r.out; };
      await client(lab, 'h1').post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
      await ok('network', 'create', '--driver', 'overlay', 'cpynet');
      await ok('service', 'create', '--detach', '--name', 'cpy', '--network', 'cpynet', '--mount', 'type=volume,source=cpyvol,target=/data', '--stop-grace-period', '1s',
        IMAGE, 'sh', '-c', 'echo hello > /tmp/hello; mkdir -p /tmp/tree/sub; echo deep > /tmp/tree/sub/f; rm /etc/group; trap "exit 0" TERM; while true; do sleep 0.2; done');
      const [task] = await waitRunning(lab, 'cpy', 1);
      const name = `cpy.1.${task.ID}`;
      await waitFor('the task wrote its files', async () => (await cli('exec', name, 'cat', '/tmp/tree/sub/f')).out === 'deep\n', 30_000);

      // Out: a file, a directory, and a directory's content (`/.`).
      await ok('cp', `${name}:/tmp/hello`, join(local, 'hello'));
      assert.is(readFileSync(join(local, 'hello'), 'utf8'), 'hello\n');
      await ok('cp', `${name}:/tmp/tree`, join(local, 'tree'));
      assert.is(readFileSync(join(local, 'tree', 'sub', 'f'), 'utf8'), 'deep\n');
      mkdirSync(join(local, 'dot'));
      await ok('cp', `${name}:/tmp/tree/.`, join(local, 'dot'));
      assert.equal(readdirSync(join(local, 'dot')), ['sub']);
      const missing = await cli('cp', `${name}:/nosuch`, join(local, 'x'));
      assert.is.not(missing.code, 0);
      assert.match(missing.err, /Could not find the file \/nosuch/);

      // In: a file, a directory, and into the volume the task mounts (through the container's view).
      writeFileSync(join(local, 'in.txt'), 'from the host\n');
      await ok('cp', join(local, 'in.txt'), `${name}:/tmp/`);
      assert.is(await ok('exec', name, 'cat', '/tmp/in.txt'), 'from the host\n');
      await ok('cp', join(local, 'tree'), `${name}:/tmp/copied`);
      assert.is(await ok('exec', name, 'cat', '/tmp/copied/sub/f'), 'deep\n');
      await ok('cp', join(local, 'in.txt'), `${name}:/data/`);
      const mountpoint = (await ok('volume', 'inspect', '--format', '{{.Mountpoint}}', 'cpyvol')).trim();
      assert.is(readFileSync(join(mountpoint, 'in.txt'), 'utf8'), 'from the host\n');

      // Links at a host path (absolute, and climbing with ..): read and written inside the root only.
      await ok('exec', name, 'ln', '-s', secret, '/tmp/abs');
      await ok('exec', name, 'ln', '-s', `../../../../../../../../..${secret}`, '/tmp/up');
      for (const link of ['/tmp/abs', '/tmp/up']) {
        const out = await cli('cp', `${name}:${link}/key`, join(local, 'stolen'));
        assert.is.not(out.code, 0, `cp out through ${link} is refused`);
        assert.match(out.err, /Could not find the file/);
      }
      await ok('cp', join(local, 'in.txt'), `${name}:/tmp/abs/`);
      assert.equal(readdirSync(secret), ['key'], 'nothing was written into the host directory');
      assert.is(readFileSync(join(secret, 'key'), 'utf8'), 'host secret\n');
      // The CLI copies to where the link leads (missing in the container: the file takes that name), inside the root.
      assert.is(await ok('exec', name, 'cat', secret), 'from the host\n', 'the copy landed at that path inside the container');

      // docker diff: adds, a change and a delete (the whiteout of /etc/group).
      const diff = lines(await ok('diff', name));
      for (const want of ['A /tmp/hello', 'A /tmp/copied/sub/f', 'C /etc', 'D /etc/group']) assert.ok(diff.includes(want), `${want} in:\n${diff.join('\n')}`);
      // The served documents validate against Docker's v1.41 schema (the conformance test has no running container).
      const book = new SchemaBook(loadFacts());
      const api = client(lab, 'h1');
      const changes = await api.request('GET', `/containers/${name}/changes`);
      assert.equal(book.check('GET', '/containers/{id}/changes', 200, JSON.parse(changes.body.toString())), []);
      const head = await api.request('HEAD', `/containers/${name}/archive`, { query: { path: '/tmp/hello' } });
      const stat = JSON.parse(Buffer.from(String(head.headers['x-docker-container-path-stat']), 'base64').toString());
      assert.equal(Object.keys(stat).sort(), ['linkTarget', 'mode', 'mtime', 'name', 'size']);
      assert.equal([stat.name, stat.size, stat.mode], ['hello', 6, 0o644]);
      // docker export: the root filesystem, with the container's changes and without its volumes.
      await ok('export', '-o', join(local, 'root.tar'), name);
      const listing = (await run('tar', ['-tf', join(local, 'root.tar')])).stdout.split('\n');
      assert.ok(listing.includes('bin/busybox') && listing.includes('tmp/hello'), 'image and changes exported');
      assert.not.ok(listing.includes('data/in.txt'), 'the volume is not exported');
      assert.not.ok(listing.includes('etc/group'), 'the deleted file is not exported');

      // Prunes keep what a task uses: its network and image; remove the rest.
      await ok('network', 'create', '--driver', 'overlay', '--label', 'cpy=1', 'cpyunused');
      await ok('pull', V2);
      const netPrune = await ok('network', 'prune', '-f');
      assert.match(netPrune, /cpyunused/);
      assert.not.match(netPrune, /cpynet/);
      assert.equal(lines(await ok('network', 'ls', '--filter', 'name=cpy', '--format', '{{.Name}}')), ['cpynet']);
      const imgPrune = await ok('image', 'prune', '-a', '-f');
      assert.match(imgPrune, /untagged: .*bb:v2/i);
      assert.equal(lines(await ok('image', 'ls', '--format', '{{.Repository}}:{{.Tag}}')), [IMAGE]);
      const bad = await cli('image', 'prune', '-f', '--filter', 'reference=x');
      assert.is.not(bad.code, 0, 'a filter prune does not take is refused');
      await ok('network', 'create', '--driver', 'overlay', 'cpyunused2');
      await ok('volume', 'create', 'cpyloose');
      const sys = await ok('system', 'prune', '-a', '-f', '--volumes');
      assert.match(sys, /cpyunused2/);
      assert.match(sys, /cpyloose/);
      assert.match(sys, /Total reclaimed space/);
      assert.equal(lines(await ok('volume', 'ls', '-q')), ['cpyvol'], 'the volume the task uses stays');
      assert.equal(lines(await ok('ps', '--format', '{{.Names}}')), [name], 'the task still runs');

      // A stopped task container (the service replaced it) is still copied from and diffed.
      await ok('stop', name);
      await waitFor('a replacement task', async () => lines(await ok('ps', '--format', '{{.Names}}')).some((n) => n !== name), 60_000);
      await ok('cp', `${name}:/tmp/hello`, join(local, 'hello-stopped'));
      assert.is(readFileSync(join(local, 'hello-stopped'), 'utf8'), 'hello\n');
      assert.ok(lines(await ok('diff', name)).includes('A /tmp/hello'));
    });
  } finally {
    rmSync(local, { recursive: true, force: true });
    rmSync(secret, { recursive: true, force: true });
  }
});

test.run();
