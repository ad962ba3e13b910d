// What a node writes is private: a non-root user on the host can read none of the data
// root, the run-state dir, task records and bundles (which hold the environment), the
// monitor socket or the logs; modes are owner-only even below an owner-only folder, and
// a data root left world-readable is made private again on start. Also runs the sandbox
// flags end to end through the CLI: a --privileged service can mount, a default one not.
// One host, prefix shoalpf.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { withLab, type Lab } from './lib/lab.ts';
import { client, IMAGE, tasksOf, waitFor, waitRunning } from './lib/swarm-services.ts';

const STATE = '/run/shoal';
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

/** Mode bits of `path` inside the host (`stat -c %a`). */
async function modeOf(lab: Lab, path: string): Promise<number> {
  const r = await lab.exec('h1', ['stat', '-c', '%a', path]);
  assert.is(r.code, 0, `stat ${path}: ${r.stderr}`);
  return parseInt(r.stdout.trim(), 8);
}

/** Asserts `path` is owner-only and that user nobody can neither list/read nor connect to it. */
async function assertPrivate(lab: Lab, path: string, kind: 'dir' | 'file' | 'socket'): Promise<void> {
  const mode = await modeOf(lab, path);
  assert.is(mode & 0o077, 0, `${path} is owner-only (mode ${mode.toString(8)})`);
  const argv = kind === 'dir' ? ['ls', path] : kind === 'file' ? ['cat', path]
    : [process.execPath, '-e', `require('net').connect(${JSON.stringify(path)}).on('connect',()=>process.exit(0)).on('error',()=>process.exit(3))`];
  const r = await lab.exec('h1', [...NOBODY, ...argv]);
  assert.is.not(r.code, 0, `nobody can read ${path}: ${r.stdout}`);
  assert.not.match(r.stdout, /hunter2/);
}

test('a non-root host user reads none of the node\'s files; loose modes are fixed on start', async () => {
  await withLab({ hosts: 1, prefix: 'shoalpf' }, async (lab) => {
    const h1 = client(lab, 'h1');
    await h1.post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
    const created = await lab.cli('h1', ['service', 'create', '--name', 'env', '--detach', '--env', 'SHOAL_SECRET=hunter2', IMAGE, 'sh', '-c', 'echo hunter2; sleep 3600']);
    assert.is(created.code, 0, created.stderr);
    await waitRunning(lab, 'env', 1);
    const data = join(lab.host('h1').hostDir, 'data');
    const cid = (await lab.exec('h1', ['ls', `${STATE}/exec/tasks`])).stdout.trim().split('\n')[0];
    assert.ok(cid, 'a task directory');
    const task = `${STATE}/exec/tasks/${cid}`;
    const record = `${task}/record.json`;
    assert.match((await lab.exec('h1', ['cat', record])).stdout, /hunter2/, 'the record holds the environment');
    const log = `${data}/exec/containers/${cid}/logs/container.log`;
    await waitFor('the task log', async () => (await lab.exec('h1', ['cat', log])).stdout.includes('hunter2'));

    for (const d of [data, `${data}/images`, `${data}/exec`, `${data}/exec/containers`, `${data}/exec/containers/${cid}`, `${data}/swarm`,
      STATE, `${STATE}/exec`, `${STATE}/exec/tasks`, task, `${task}/bundle`, `${STATE}/exec/runtime`, `${STATE}/exec/monitor`, `${data}/exec/containers/${cid}/logs`]) {
      await assertPrivate(lab, d, 'dir');
    }
    for (const f of [record, `${task}/bundle/config.json`, log, `${data}/swarm/agent/tasks.json`]) await assertPrivate(lab, f, 'file');
    await assertPrivate(lab, `${STATE}/exec/monitor/monitor.sock`, 'socket');

    // A data root and run dir left readable (older version, by hand) are private again after a restart.
    await lab.killDaemon('h1');
    for (const d of [data, STATE, `${STATE}/exec/tasks`]) assert.is((await lab.exec('h1', ['chmod', '755', d])).code, 0);
    await lab.startDaemon('h1');
    for (const d of [data, STATE, `${STATE}/exec/tasks`]) assert.is(await modeOf(lab, d), 0o700, `${d} is 0700 again`);
    assert.is(statSync(data).mode & 0o777, 0o700);
  });
});

test('service create --privileged can mount; a default service cannot; --cap-drop ALL --cap-add NET_ADMIN works', async () => {
  await withLab({ hosts: 1, prefix: 'shoalpf' }, async (lab) => {
    const h1 = client(lab, 'h1');
    await h1.post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
    const script = 'mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && echo mounted && sleep 3600';
    for (const [name, flags] of [['priv', ['--privileged']], ['plain', []], ['netadm', ['--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN']]] as const) {
      const cmd = name === 'netadm' ? ['sh', '-c', 'ip addr add 10.99.0.1/32 dev lo && sleep 3600'] : ['sh', '-c', script];
      const r = await lab.cli('h1', ['service', 'create', '--name', name, '--detach', '--restart-condition', 'none', ...flags, IMAGE, ...cmd]);
      assert.is(r.code, 0, r.stderr);
    }
    const state = async (n: string) => (await tasksOf(lab, n)).map((t) => `${t.Status.State} ${t.Status.Err ?? t.Status.Message} ${t.Status.ContainerStatus?.ExitCode ?? ''}`).join('; ');
    await waitRunning(lab, 'priv', 1).catch(async (e) => { throw new Error(`${(e as Error).message}: ${await state('priv')}`); });
    await waitRunning(lab, 'netadm', 1).catch(async (e) => { throw new Error(`${(e as Error).message}: ${await state('netadm')}`); });
    const failed = await waitFor('the default service\'s task to fail', async () => (await tasksOf(lab, 'plain')).find((t) => t.Status.State === 'failed'));
    assert.ok(failed.Status.ContainerStatus?.ExitCode !== 0, 'mount refused in a default task');
    const bad = await lab.cli('h1', ['service', 'create', '--name', 'bad', '--detach', '--cap-add', 'NET_MAGIC', IMAGE, 'true']);
    assert.is.not(bad.code, 0);
    assert.match(bad.stderr + bad.stdout, /CapabilityAdd\[0\]: unknown capability/);
  });
});

test.run();
