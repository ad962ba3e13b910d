// The multi-host lab itself (root): hosts, isolation, registry, daemons, partitions, host
// loss, and a `down` that leaves nothing behind, also after failures and crashes.
// Uses its own prefixes (shoalt, shoalu), so it runs next to a user's `shoal` lab.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobPath } from './lib/test-image.ts';
import { Lab, withLab } from './lib/lab.ts';
import { LabNames } from './lib/names.ts';
import { labNetns } from './lib/netns.ts';
import { isAlive, signal, sleep, waitExit } from './lib/procs.ts';
import { labLeftovers, labNftTables, labProcesses, type ProcessId } from './lib/teardown.ts';
import { ping } from './lib/unix-http.ts';


const PREFIX = 'shoalt';
const BASE = '/tmp/shoalt-lab';
/** Every process of a lab while it is up (to find stragglers after down). */
type Snapshot = { processes: ProcessId[] };
function snapshot(lab: Lab): Snapshot {
  return { processes: labProcesses(lab.names) };
}

async function assertNothingLeft(names: LabNames, snap: Snapshot) {
  const left = labLeftovers(names, snap);
  assert.equal(left.netns, [], 'namespaces left');
  assert.equal(left.mounts, [], 'mounts left');
  assert.equal(left.processes, [], 'processes left');
  assert.is(left.cgroup, undefined, 'cgroup left');
  assert.is(left.dir, false, 'base dir left');
  assert.equal(await labNftTables(names), [], 'nftables tables left');
}

/** Starts a stand-in container inside a host: a process in a netns bound in the host's /run. */
async function startFakeContainer(lab: Lab, host: string, name: string): Promise<number> {
  const r = await lab.exec(host, ['sh', '-c',
    `ip netns add ${name} && ip netns exec ${name} sleep 3000 </dev/null >/dev/null 2>&1 & wait_pid=$!; sleep 0.2; echo $wait_pid`]);
  assert.is(r.code, 0, r.stderr);
  const pid = Number(r.stdout.trim());
  assert.ok(isAlive(pid), 'fake container runs');
  return pid;
}

/**
 * Starts a real runc container (busybox test image, its own fresh netns, cgroup
 * /<prefix>-ct/<id>) inside a host, state under the host's /run/runc. Returns its init PID.
 */
async function startRuncContainer(lab: Lab, host: string, id: string): Promise<{ pid: number; cgroup: string }> {
  const bundle = join(lab.host(host).hostDir, 'bundles', id);
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  const layer = blobPath(lab.layoutDir!, lab.images.v1 ? readManifestLayer(lab.layoutDir!, lab.images.v1.digest) : '');
  execFileSync('tar', ['-xzf', layer, '-C', join(bundle, 'rootfs')]);
  execFileSync('runc', ['spec'], { cwd: bundle });
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = ['sleep', '3000'];
  const cgroup = `/${lab.prefix}-ct/${id}`;
  config.linux.cgroupsPath = cgroup;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  const r = await lab.exec(host, ['runc', 'run', '-d', '--bundle', bundle, id], { timeoutMs: 20_000 });
  assert.is(r.code, 0, r.stderr);
  const state = await lab.exec(host, ['runc', 'state', id]);
  const pid = JSON.parse(state.stdout).pid as number;
  assert.ok(isAlive(pid), 'runc container runs');
  return { pid, cgroup };
}

function readManifestLayer(layoutDir: string, digest: string): string {
  return JSON.parse(readFileSync(blobPath(layoutDir, digest), 'utf8')).layers[0].digest;
}

const up = suite<{ lab?: Lab }>('lab up --hosts 2');

up.before(async (ctx) => {
  ctx.lab = await Lab.up({ hosts: 2, prefix: PREFIX, baseDir: BASE, replace: true });
});

up.after(async () => {
  await Lab.down({ prefix: PREFIX, baseDir: BASE }); // a second down: a no-op when the test did it
});

up('hosts reach each other over the underlay', async ({ lab }) => {
  for (const [a, b] of [['h1', 'h2'], ['h2', 'h1']]) {
    const r = await lab!.exec(a, ['busybox', 'ping', '-c', '1', '-W', '2', lab!.address(b)]);
    assert.is(r.code, 0, `${a} → ${b}: ${r.stdout}${r.stderr}`);
  }
});

up('each host sees only its own interfaces, hostname, resolv.conf and /run', async ({ lab }) => {
  for (const h of ['h1', 'h2']) {
    const r = await lab!.exec(h, ['sh', '-c', 'ls /sys/class/net; echo --; hostname; echo --; cat /etc/resolv.conf; echo --; ls /run; ls /sys/fs/cgroup >/dev/null && echo cg']);
    const [nets, name, resolv, run] = r.stdout.split('--\n');
    assert.equal(nets.trim().split('\n').sort(), ['eth0', 'lo']);
    assert.is(name.trim(), h);
    assert.match(resolv, /nameserver 192\.168\.100\.1/);
    assert.not.match(run, /netns\/shoal/);
    assert.match(run, /cg/);
    const addr = await lab!.exec(h, ['ip', '-br', '-4', 'addr', 'show', 'eth0']);
    assert.match(addr.stdout, new RegExp(lab!.address(h).replace(/\./g, '\\.') + '/24'));
  }
  const rootHost = (await import('node:os')).hostname();
  assert.is.not(rootHost, 'h1');
});

up('the registry serves the test image v1 and v2 to a host, with different digests', async ({ lab }) => {
  const digests: string[] = [];
  for (const v of ['v1', 'v2'] as const) {
    const r = await lab!.exec('h2', ['sh', '-c',
      `timeout 5 busybox wget -q -O - --header 'Accept: application/vnd.oci.image.manifest.v1+json' http://${lab!.registryAddress}/v2/shoal/bb/manifests/${v} | sha256sum`]);
    assert.is(r.code, 0, r.stderr);
    const digest = 'sha256:' + r.stdout.split(' ')[0];
    assert.is(digest, lab!.images[v]!.digest);
    digests.push(digest);
  }
  assert.is.not(digests[0], digests[1]);
});

up('each daemon answers /_ping on its socket', async ({ lab }) => {
  for (const h of lab!.hosts) assert.ok(await ping(lab!.socket(h)), `${h} /_ping`);
  const info = await lab!.request('h2', '/info');
  assert.is(info.status, 200);
});

up('partition blocks traffic and heal restores it (nftables drop and link down)', async ({ lab }) => {
  const reach = async () => (await lab!.exec('h1', ['busybox', 'ping', '-c', '1', '-W', '1', lab!.address('h2')])).code === 0;
  for (const mode of ['drop', 'link'] as const) {
    await lab!.partition('h2', mode);
    assert.not.ok(await reach(), `partitioned (${mode})`);
    assert.ok((await lab!.status()).hosts[1].partitioned);
    await lab!.heal();
    assert.ok(await reach(), `healed (${mode})`);
  }
  // Only between h1 and h2: h1 still reaches the switch (registry).
  await lab!.partition('h1', { from: ['h2'] });
  assert.not.ok(await reach(), 'h1 cut from h2');
  const sw = await lab!.exec('h1', ['busybox', 'ping', '-c', '1', '-W', '1', '192.168.100.1']);
  assert.is(sw.code, 0, 'h1 still reaches the switch');
  await lab!.heal('h1');
  assert.ok(await reach(), 'healed (peers)');
});

up('lab.cli runs the shoal command against a host daemon', async ({ lab }) => {
  const r = await lab!.cli('h1', ['info', '--format', 'json']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /h1/);
});

up('kill takes a host daemon and its containers down; start brings the daemon back', async ({ lab }) => {
  const container = await startFakeContainer(lab!, 'h2', 'task1');
  const runc = await startRuncContainer(lab!, 'h2', 'c1');
  const other = lab!.daemonPid('h1');
  const before = lab!.daemonPid('h2');
  const killed = await lab!.killDaemon('h2');
  assert.ok(killed.includes(container), 'container killed');
  assert.ok(killed.includes(runc.pid), 'runc container killed');
  assert.not.ok(existsSync(`/sys/fs/cgroup/pids${runc.cgroup}`), 'runc container cgroup removed');
  assert.ok(before, 'h2 had a daemon running');
  assert.ok(killed.includes(before!), 'daemon killed');
  assert.not.ok(isAlive(container));
  assert.ok(isAlive(lab!.host('h2').anchorPid), 'anchor survives');
  assert.is(lab!.daemonPid('h1'), other, 'other host untouched');
  assert.is(lab!.daemonPid('h2'), undefined);
  const after = await lab!.startDaemon('h2');
  assert.is.not(after, before);
  assert.ok(await ping(lab!.socket('h2')));
});

up('a paused daemon does not answer until resumed', async ({ lab }) => {
  lab!.pauseDaemon('h1');
  try {
    assert.not.ok(await ping(lab!.socket('h1'), 300), 'paused daemon is silent');
  } finally {
    lab!.resumeDaemon('h1');
  }
  assert.ok(await ping(lab!.socket('h1'), 5000), 'resumed daemon answers');
});

up('down leaves no namespace, link, mount, table, cgroup, process or directory; twice is fine', async ({ lab }) => {
  const fake = await startFakeContainer(lab!, 'h1', 'task2');
  const runc = await startRuncContainer(lab!, 'h1', 'c2');
  await lab!.partition('h1');
  const snap = snapshot(lab!);
  const pids = snap.processes.map((p) => p.pid);
  for (const p of [fake, runc.pid, lab!.host('h1').anchorPid, lab!.host('h2').anchorPid]) assert.ok(pids.includes(p), `lab process ${p} found`);
  const t0 = Date.now();
  await lab!.down();
  console.log(`    down took ${Date.now() - t0} ms`);
  await assertNothingLeft(lab!.names, snap);
  assert.not.ok(isAlive(runc.pid));
  assert.not.ok(existsSync(`/sys/fs/cgroup/pids${runc.cgroup}`), 'runc container cgroup removed');
  await lab!.down();
  await assertNothingLeft(lab!.names, snap);
});

up.run();

const failures = suite('lab failures');

failures('a test that throws inside withLab still cleans up', async () => {
  const names = new LabNames('shoalu', '/tmp/shoalu-lab');
  let snap: Snapshot | undefined;
  try {
    await withLab({ hosts: 1, prefix: 'shoalu', baseDir: names.baseDir, registry: false, daemons: false }, async (lab) => {
      snap = snapshot(lab);
      throw new Error('boom');
    });
    assert.unreachable('withLab must rethrow');
  } catch (err) {
    assert.is((err as Error).message, 'boom');
  }
  await assertNothingLeft(names, snap!);
});

failures('down cleans up after a crash (anchor killed, state file gone)', async () => {
  const names = new LabNames('shoalu', '/tmp/shoalu-lab');
  const lab = await Lab.up({ hosts: 1, prefix: 'shoalu', baseDir: names.baseDir, registry: false, replace: true });
  try {
    const container = await startFakeContainer(lab, 'h1', 'task3');
    const snap = snapshot(lab);
    const anchor = lab.host('h1').anchorPid;
    signal(anchor, 'SIGKILL');
    await waitExit(anchor, 2000);
    rmSync(names.stateFile);
    assert.ok(labNetns(names).length > 0);
    await Lab.down({ prefix: 'shoalu', baseDir: names.baseDir });
    assert.not.ok(isAlive(container));
    await assertNothingLeft(names, snap);
  } finally {
    await Lab.down({ prefix: 'shoalu', baseDir: names.baseDir });
  }
});

failures('down cleans up after `lab up` itself was killed -9 midway', async () => {
  const names = new LabNames('shoalu', '/tmp/shoalu-lab');
  const cli = spawn(process.execPath, ['--import', 'tsx', 'labs/lab-cli.ts', '--prefix', 'shoalu', 'up', '--hosts', '2'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, SHOAL_LAB_DIR: names.baseDir },
    stdio: 'ignore',
  });
  let snap: Snapshot = { processes: [] };
  try {
    // Kill it once the hosts exist and their daemons are being started.
    const deadline = Date.now() + 20_000;
    while (!existsSync(join(names.hostDir('h2'), 'daemon.log')) && Date.now() < deadline) await sleep(20);
    assert.ok(existsSync(join(names.hostDir('h2'), 'daemon.log')), 'lab up got as far as the daemons');
    cli.kill('SIGKILL');
    await waitExit(cli.pid!, 2000);
    snap = { processes: labProcesses(names) };
    const pids = snap.processes.map((p) => p.pid);
    for (const h of ['h1', 'h2']) {
      const a = Number(readFileSync(join(names.hostDir(h), 'anchor.pid'), 'utf8'));
      assert.ok(pids.includes(a), `anchor of ${h} found`);
    }
    assert.ok(labNetns(names).length >= 3);
  } finally {
    cli.kill('SIGKILL');
    await Lab.down({ prefix: 'shoalu', baseDir: names.baseDir });
  }
  await assertNothingLeft(names, snap);
});

failures('down with nothing up succeeds', async () => {
  const names = new LabNames('shoalu', '/tmp/shoalu-lab');
  assert.not.ok(existsSync(names.baseDir));
  await Lab.down({ prefix: 'shoalu', baseDir: names.baseDir });
  await Lab.down({ prefix: 'shoalu', baseDir: names.baseDir });
  await assertNothingLeft(names, { processes: [] });
});

failures.run();
