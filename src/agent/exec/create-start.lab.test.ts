// The early create of swarm tasks (`createEarly`): `runc create` during prepare, once the
// netns exists, and only `runc start` at start. The created process is the monitor's child
// (its exit is recorded), a created container removed unstarted leaves nothing, a netns made
// again meanwhile is not joined, and a daemon killed between create and start never runs a
// task twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withExecLab, until, type ExecLab } from '../../../labs/lib/executor-fixture.ts';
import { Executor } from './executor.ts';
import type { TaskController } from './controller.ts';
import type { TaskContainerSpec } from './types.ts';

const CHILD = fileURLToPath(new URL('./restart-child.ts', import.meta.url));
let n = 0;
const spec = (lab: ExecLab, extra: Partial<TaskContainerSpec>): TaskContainerSpec => ({ taskId: `${lab.name}-c${n++}`, image: lab.image, createEarly: true, ...extra });

/** Whether `pid` runs: it exists and is not a zombie waiting to be reaped. */
function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
  } catch { return false; }
}

function ppidOf(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
}

async function created(c: TaskController): Promise<number> {
  assert.ok(await until(() => c.record?.created === true, 10_000), 'created early');
  return c.record!.pid!;
}

async function output(c: TaskController): Promise<string> {
  let s = '';
  for await (const e of c.logs()) s += e.log;
  return s;
}

test('prepare creates the container; its process waits under the monitor; start runs that process and its exit is recorded', async () => {
  await withExecLab(async (lab) => {
    const c = lab.ex.controller(spec(lab, { command: ['sh', '-c', 'echo hello; exit 6'] }));
    await c.prepare();
    assert.ok(c.createsEarly);
    const pid = await created(c);
    assert.is((await lab.ex.runtime.state(c.cid))?.status, 'created');
    assert.is(ppidOf(pid), (await lab.ex.monitor()).pid, 'the created init is the monitor\'s child');
    assert.is(c.state, 'prepared');
    await c.start();
    assert.is(c.inspect().pid, pid, 'start ran the created process, not a new one');
    assert.equal(await c.wait(), { exitCode: 6, oomKilled: false });
    assert.is(await output(c), 'hello\n');
    await c.remove();
    assert.is((await lab.ex.runtime.list()).length, 0);
  });
});

test('a created container removed without a start leaves nothing: process, runtime state, exit file', async () => {
  await withExecLab(async (lab) => {
    const c = lab.ex.controller(spec(lab, { command: ['sleep', '60'] }));
    await c.prepare();
    const pid = await created(c);
    assert.ok(alive(pid));
    await c.remove();
    assert.not.ok(alive(pid), 'the created process is gone');
    assert.is((await lab.ex.runtime.list()).length, 0);
    assert.not.ok(existsSync(join(lab.ex.paths.monitorDir, 'exits', c.cid)), 'no exit file left behind');
    assert.not.ok(existsSync(lab.ex.paths.task(c.cid)));
  });
});

test('a shutdown of a prepared task (stopped before start) ends its created process; remove then leaves nothing', async () => {
  await withExecLab(async (lab) => {
    const c = lab.ex.controller(spec(lab, { command: ['sleep', '60'] }));
    await c.prepare();
    const pid = await created(c);
    await c.shutdown();
    assert.not.ok(alive(pid), 'the created process is gone at shutdown, not at remove');
    assert.is((await lab.ex.runtime.list()).length, 0, 'no runtime state left');
    assert.is(c.state, 'prepared');
    await c.remove();
    assert.not.ok(existsSync(lab.ex.paths.task(c.cid)));
  });
});

test('a remove while the create runs, or while it waits for a netns never made, leaves nothing', async () => {
  await withExecLab(async (lab) => {
    // Its own netns exists at once: the create is in flight when remove comes.
    const inFlight = lab.ex.controller(spec(lab, { command: ['sleep', '60'] }));
    const waiting = lab.ex.controller(spec(lab, { command: ['sleep', '60'], netnsPath: `/run/netns/${lab.name}never` }));
    for (const c of [inFlight, waiting]) await c.prepare();
    assert.ok(inFlight.createsEarly && waiting.createsEarly);
    // runc made the container's state folder: `runc create` runs (or just ended).
    assert.ok(await until(() => existsSync(join(lab.ex.runtime.root, inFlight.cid)), 10_000), 'create began');
    await Promise.all([inFlight.remove(), waiting.remove()]);
    assert.is((await lab.ex.runtime.list()).length, 0, 'no container left, created or not');
    for (const c of [inFlight, waiting]) {
      assert.not.ok(existsSync(join(lab.ex.paths.monitorDir, 'exits', c.cid)), 'no exit file left behind');
      assert.not.ok(existsSync(lab.ex.paths.task(c.cid)));
    }
  });
});

test('net.* sysctls: no early create (runc writes them after the interfaces, at start); the task runs', async () => {
  await withExecLab(async (lab) => {
    const c = lab.ex.controller(spec(lab, { command: ['cat', '/proc/sys/net/ipv4/ip_default_ttl'], sysctls: { 'net.ipv4.ip_default_ttl': '33' } }));
    await c.prepare();
    assert.not.ok(c.createsEarly, 'no early create begun');
    await c.start();
    assert.equal(await c.wait(), { exitCode: 0, oomKilled: false });
    assert.is(await output(c), '33\n');
    await c.remove();
  });
});

test('a netns made elsewhere: the create waits for it; a netns made again before start is joined by a new process', async () => {
  await withExecLab(async (lab) => {
    const ns = `${lab.name}x`;
    const path = `/run/netns/${ns}`;
    const ip = (...a: string[]) => { const r = spawnSync('ip', a, { encoding: 'utf8' }); if (r.status !== 0) throw new Error(`ip ${a.join(' ')}: ${r.stderr}`); };
    try {
      const c = lab.ex.controller(spec(lab, { command: ['sleep', '60'], netnsPath: path }));
      await c.prepare();
      assert.not.ok(c.record!.created, 'no create before the netns exists');
      ip('netns', 'add', ns);
      const first = await created(c);
      // The data plane cleans a leftover netns and makes it again: the created process is in the old one.
      ip('netns', 'del', ns);
      ip('netns', 'add', ns);
      await c.start();
      const pid = c.inspect().pid!;
      assert.is.not(pid, first, 'a new process, not the one in the old netns');
      assert.not.ok(alive(first), 'the one in the old netns is gone');
      assert.is(statSync(`/proc/${pid}/ns/net`).ino, statSync(path).ino, 'runs in the netns at the path now');
      assert.is((await lab.ex.runtime.list()).filter((s) => s.id === c.cid).length, 1);
      await c.shutdown({ graceMs: 0 });
      assert.equal(await c.wait(), { exitCode: 137, oomKilled: false, signal: 'SIGKILL' }, 'the exit of the new process is reported');
      await c.remove();
    } finally {
      spawnSync('ip', ['netns', 'del', ns]);
    }
  });
});

test('kill -9 of the daemon between create and start: restore discards the created container, start runs exactly one process', async () => {
  await withExecLab(async (lab) => {
    const s = spec(lab, { command: ['sh', '-c', 'echo once; sleep 60'] });
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, lab.name, lab.dataRoot, lab.stateDir, JSON.stringify([s]), 'created'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    let ex2: Executor | undefined;
    let ex3: Executor | undefined;
    try {
      assert.ok(await until(() => out.includes('\n'), 20_000), 'child created its task');
      const old = (JSON.parse(out) as { pids: Record<string, number> }).pids[s.taskId];
      assert.ok(alive(old));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));

      ex2 = new Executor({ name: lab.name, dataRoot: lab.dataRoot, stateDir: lab.stateDir, images: lab.images });
      const report = await ex2.restore();
      assert.equal(report.discarded, [s.taskId]);
      assert.equal([report.adopted, report.exited, report.orphansRemoved], [[], [], []]);
      assert.not.ok(alive(old), 'the created process is gone');
      assert.is((await ex2.runtime.list()).length, 0);

      const c = ex2.controller(s);
      assert.is(c.state, 'prepared');
      await c.prepare();
      await c.start();
      const pid = c.inspect().pid!;
      assert.is.not(pid, old);
      assert.is((await ex2.runtime.list()).filter((x) => x.id === c.cid).length, 1, 'one container');
      assert.ok(await until(async () => (await output(c)) === 'once\n'), 'the task ran once');

      // The discarded process's exit file does not make the running one look exited.
      ex2.close();
      ex2 = undefined; // its controller is stale now: ex3 owns the task
      ex3 = new Executor({ name: lab.name, dataRoot: lab.dataRoot, stateDir: lab.stateDir, images: lab.images });
      assert.equal((await ex3.restore()).adopted, [s.taskId]);
      const c3 = ex3.controller(s);
      assert.is(c3.inspect().pid, pid);
      await c3.shutdown({ graceMs: 0 });
      assert.equal(await c3.wait(), { exitCode: 137, oomKilled: false, signal: 'SIGKILL' });
      await c3.remove();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await ex3?.destroy();
      await ex2?.destroy();
    }
  });
});

test.run();
