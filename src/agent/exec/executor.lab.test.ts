// Real containers (runc, overlayfs, cgroups, netns) from the lab's busybox image.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { withExecLab, until, type ExecLab } from '../../../labs/lib/executor-fixture.ts';
import { spawnKernel } from './kernel.ts';
import type { TaskContainerSpec } from './types.ts';
import type { TaskController } from './controller.ts';

const t = suite('executor');
let started = 0;
t.before.each(() => { started = Date.now(); });
t.after.each((ctx) => { if (process.env.SHOAL_TEST_TIMES) console.log(`${Date.now() - started} ms  ${(ctx as { __test__?: string }).__test__}`); });
let n = 0;
const spec = (lab: ExecLab, extra: Partial<TaskContainerSpec>): TaskContainerSpec => ({ taskId: `${lab.name}-${n++}`, image: lab.image, ...extra });

async function run(lab: ExecLab, extra: Partial<TaskContainerSpec>): Promise<TaskController> {
  const c = lab.ex.controller(spec(lab, extra));
  await c.prepare();
  await c.start();
  return c;
}

async function output(c: TaskController): Promise<string> {
  let s = '';
  for await (const e of c.logs()) s += e.log;
  return s;
}

t('exit codes are reported, and a signal death as 128+N', async () => {
  await withExecLab(async (lab) => {
    const a = await run(lab, { command: ['sh', '-c', 'exit 3'] });
    const b = await run(lab, { command: ['true'] });
    const k = await run(lab, { command: ['sleep', '30'] });
    await k.terminate();
    assert.equal(await a.wait(), { exitCode: 3, oomKilled: false });
    assert.equal(await b.wait(), { exitCode: 0, oomKilled: false });
    assert.equal(await k.wait(), { exitCode: 137, oomKilled: false, signal: 'SIGKILL' });
    for (const c of [a, b, k]) await c.remove();
  });
});

t('stop: a process that ignores SIGTERM is killed after the grace period; one that handles it exits early', async () => {
  await withExecLab(async (lab) => {
    const stubborn = await run(lab, { command: ['sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.05; done'] });
    const polite = await run(lab, { command: ['sh', '-c', 'trap "exit 7" TERM; echo ready; while true; do sleep 0.05; done'] });
    await until(async () => (await output(stubborn)).includes('ready') && (await output(polite)).includes('ready'));
    let t0 = Date.now();
    await stubborn.shutdown({ graceMs: 400 });
    const stubbornMs = Date.now() - t0;
    assert.ok(stubbornMs >= 380, `killed after ${stubbornMs} ms`);
    assert.is((await stubborn.wait()).exitCode, 137);
    t0 = Date.now();
    await polite.shutdown({ graceMs: 5000 });
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(await polite.wait(), { exitCode: 7, oomKilled: false });
    await stubborn.remove();
    await polite.remove();
  });
});

t('a memory limit kills a hog and the OOM kill is reported', async () => {
  await withExecLab(async (lab) => {
    const c = await run(lab, { command: ['sh', '-c', 'x=a; while true; do x=$x$x; done'], resources: { memoryBytes: 16 << 20 } });
    const exit = await c.wait();
    assert.ok(exit.oomKilled, JSON.stringify(exit));
    assert.is(exit.exitCode, 137);
    await c.remove();
  });
});

t('a pids limit stops fork bombs at the limit', async () => {
  await withExecLab(async (lab) => {
    const c = await run(lab, {
      // The bomb runs in a subshell (a failed fork ends the shell that tried it), and the
      // count uses builtins only: at the limit nothing more can fork. The old version
      // printed nothing, and an empty output passed.
      command: ['sh', '-c', '(i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done) 2>/dev/null; n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo "procs $n"'],
      resources: { pidsLimit: 10 },
    });
    await c.wait();
    const out = await output(c);
    // Without a limit all 30 sleeps (and the shell) would run; an empty output must not pass.
    const m = /^procs (\d+)$/m.exec(out);
    assert.ok(m, `the shell reported its count: ${JSON.stringify(out)}`);
    const procs = Number(m![1]);
    assert.ok(procs >= 2 && procs <= 10, `at most 10 processes, and some: ${out}`);
    await c.remove();
  });
});

t('env, user, workdir and hostname reach the process; lo is up', async () => {
  await withExecLab(async (lab) => {
    const c = await run(lab, { command: ['sh', '-c', 'echo "$FOO|$(id -u):$(id -g)|$(pwd)|$(hostname)|$(cat /sys/class/net/lo/flags)"'], env: ['FOO=bar'], user: 'nobody', dir: '/tmp', hostname: 'web-1' });
    assert.is((await c.wait()).exitCode, 0);
    assert.is((await output(c)).trim(), 'bar|65534:65534|/tmp|web-1|0x9', 'lo is up in the fresh netns');
    await c.remove();
    const d = await run(lab, { command: ['sh', '-c', 'id -u'], user: '1234:5678' });
    await d.wait();
    assert.is((await output(d)).trim(), '1234');
    await d.remove();
  });
});

t('bind, named volume and tmpfs mounts; a read-only rootfs', async () => {
  await withExecLab(async (lab) => {
    const host = join(lab.base, 'host');
    mkdirSync(host);
    writeFileSync(join(host, 'in.txt'), 'from-host\n');
    const c = await run(lab, {
      readOnly: true,
      command: ['sh', '-c', 'cat /h/in.txt; echo v > /v/file; echo t > /t/x && cat /t/x; grep " /t " /proc/mounts | cut -d" " -f3; touch /rootfile 2>/dev/null || echo ro'],
      mounts: [
        { type: 'bind', source: host, target: '/h', readOnly: true },
        { type: 'volume', source: 'vol1', target: '/v' },
        { type: 'tmpfs', target: '/t', tmpfsSize: 1 << 20 },
      ],
    });
    assert.is((await c.wait()).exitCode, 0);
    assert.is(await output(c), 'from-host\nt\ntmpfs\nro\n');
    await c.remove();
    assert.is(readFileSync(join(lab.dataRoot, 'volumes', 'vol1', '_data', 'file'), 'utf8'), 'v\n', 'the volume outlives the task');
  });
});

t('logs: stdout and stderr with timestamps, tail, since, and follow until exit', async () => {
  await withExecLab(async (lab) => {
    const c = await run(lab, { command: ['sh', '-c', 'echo one; echo two >&2; sleep 0.3; echo three; sleep 0.3; echo four'] });
    const seen: string[] = [];
    for await (const e of c.logs({ follow: true })) {
      seen.push(`${e.stream}:${e.log.trim()}`);
      assert.ok(!Number.isNaN(Date.parse(e.time)));
    }
    assert.equal(seen, ['stdout:one', 'stderr:two', 'stdout:three', 'stdout:four']);
    await c.wait();
    const tail: string[] = [];
    for await (const e of c.logs({ tail: 2 })) tail.push(e.log.trim());
    assert.equal(tail, ['three', 'four']);
    const since: string[] = [];
    for await (const e of c.logs({ since: Date.now() + 60_000 })) since.push(e.log);
    assert.equal(since, []);
    await c.remove();
  });
});

t('logs rotate at the size limit and keep maxFiles files', async () => {
  await withExecLab(async (lab) => {
    const c = await run(lab, { command: ['sh', '-c', 'i=0; while [ $i -lt 400 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done'] });
    await c.wait();
    const dir = join(lab.dataRoot, 'exec', 'containers', c.cid, 'logs');
    assert.ok(existsSync(join(dir, 'container.log.1')));
    assert.not.ok(existsSync(join(dir, 'container.log.2')));
    let last = '';
    for await (const e of c.logs({ tail: 1 })) last = e.log;
    assert.is(last.trim().split('-')[1], '399');
    await c.remove();
  }, { logLimits: { maxSize: 8 * 1024, maxFiles: 2 } });
});

t('health checks move a task from starting to healthy to unhealthy', async () => {
  await withExecLab(async (lab) => {
    const c = await run(lab, {
      command: ['sh', '-c', 'touch /tmp/ok; sleep 0.8; rm /tmp/ok; sleep 30'],
      healthcheck: { test: ['CMD-SHELL', 'test -e /tmp/ok'], intervalMs: 150, timeoutMs: 1000, retries: 2 },
    });
    assert.is(c.inspect().health?.status, 'starting');
    assert.ok(await until(() => c.inspect().health?.status === 'healthy', 3000), 'healthy');
    assert.ok(await until(() => c.inspect().health?.status === 'unhealthy', 5000), 'unhealthy');
    await c.terminate();
    await c.remove();
  });
});

t('secrets and configs: content, uid/gid/mode on a tmpfs, gone after remove', async () => {
  await withExecLab(async (lab) => {
    const c = await run(lab, {
      command: ['sh', '-c', 'cat /run/secrets/pw; stat -c "%a %u %g" /run/secrets/pw; cat /etc/app.conf; grep " /run/secrets/pw " /proc/mounts | cut -d" " -f3; sleep 30'],
      secrets: [{ name: 'pw', data: Buffer.from('s3cret'), target: 'pw', uid: 65534, gid: 65534, mode: 0o460 }],
      configs: [{ name: 'conf', data: Buffer.from('k=v'), target: '/etc/app.conf' }],
    });
    assert.ok(await until(async () => (await output(c)).includes('tmpfs')));
    assert.is(await output(c), 's3cret460 65534 65534\nk=vtmpfs\n');
    const files = join(lab.stateDir, 'exec', 'tasks', c.cid, 'files');
    assert.ok(readFileSync('/proc/self/mounts', 'utf8').includes(` ${files} tmpfs `));
    await c.terminate();
    await c.remove();
    assert.not.ok(existsSync(files));
    assert.not.ok(readFileSync('/proc/self/mounts', 'utf8').includes(files));
  });
});

t('prepare and start are idempotent: no second container', async () => {
  await withExecLab(async (lab) => {
    const s = spec(lab, { command: ['sleep', '30'] });
    const c = lab.ex.controller(s);
    await c.prepare(); await c.start();
    const pid = c.inspect().pid;
    assert.is(lab.ex.controller(s), c);
    await c.prepare(); await c.start();
    assert.is(c.inspect().pid, pid);
    assert.is((await lab.ex.runtime.list()).length, 1);
    await c.terminate();
    await c.remove();
    assert.is((await lab.ex.runtime.list()).length, 0);
  });
});

t('a missing image fails prepare with a clear error and leaves nothing behind', async () => {
  await withExecLab(async (lab) => {
    const c = lab.ex.controller(spec(lab, { image: 'nope/missing:1', command: ['true'] }));
    await c.prepare().then(() => assert.unreachable('prepared'), (e: Error) => {
      assert.is(e.name, 'ImageNotFoundError');
      assert.match(e.message, /No such image: nope\/missing:1/);
    });
    assert.is(c.state, 'new');
    assert.equal(readdirSync(lab.ex.paths.tasksDir), []);
    assert.equal(readdirSync(lab.ex.paths.containersDir), []);
    await c.remove();
  });
});

t('capabilities, sysctls and ulimits reach the process', async () => {
  await withExecLab(async (lab) => {
    const c = await run(lab, {
      command: ['sh', '-c', 'chown 1 /tmp 2>/dev/null && echo chown-ok || echo chown-denied; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; ulimit -n'],
      capDrop: ['CHOWN'], sysctls: { 'net.ipv4.ip_unprivileged_port_start': '79' }, ulimits: [{ name: 'nofile', soft: 321, hard: 321 }],
    });
    await c.wait();
    assert.is(await output(c), 'chown-denied\n79\n321\n');
    await c.remove();
  });
});

t('a caller-provided netns is joined and left in place on remove', async () => {
  await withExecLab(async (lab) => {
    const ns = `${lab.name}-callerns`;
    const path = await spawnKernel.createNetns(ns);
    try {
      assert.is(spawnSync('ip', ['-n', ns, 'link', 'add', 'v7a', 'type', 'veth', 'peer', 'name', 'v7b']).status, 0);
      const c = await run(lab, { netnsPath: path, command: ['sh', '-c', 'ls /sys/class/net | tr "\\n" " "'] });
      await c.wait();
      assert.is((await output(c)).trim(), 'lo v7a v7b');
      await c.remove();
      assert.ok(existsSync(path), 'the caller owns its netns');
    } finally {
      await spawnKernel.deleteNetns(ns);
    }
  });
});

t.run();
