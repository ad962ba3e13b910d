// A daemon killed with SIGKILL and started again re-adopts its containers: no
// orphan, no duplicate, exits that happened meanwhile are reported, logs continue.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withExecLab, until } from '../../../labs/lib/executor-fixture.ts';
import { Executor } from './executor.ts';
import type { TaskContainerSpec } from './types.ts';

const CHILD = fileURLToPath(new URL('./restart-child.ts', import.meta.url));

/** Whether `pid` runs: it exists and is not a zombie waiting to be reaped. */
function running(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('kill -9 of the daemon: the restarted executor re-adopts running tasks, reports exits, removes orphans', async () => {
  await withExecLab(async (lab) => {
    const mk = (id: string, command: string[]): TaskContainerSpec => ({ taskId: `${lab.name}-${id}`, image: lab.image, command });
    const live = mk('live', ['sh', '-c', 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.1; done']);
    const quick = mk('quick', ['sh', '-c', 'sleep 0.5; exit 5']);
    const orphan = mk('orphan', ['sleep', '60']);
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, lab.name, lab.dataRoot, lab.stateDir, JSON.stringify([live, quick, orphan])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    let ex2: Executor | undefined;
    try {
      assert.ok(await until(() => out.includes('\n'), 20_000), 'child started its tasks');
      const { pids } = JSON.parse(out) as { pids: Record<string, number> };
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // `quick` exits while no daemon runs: wait for its process to be gone (or a zombie).
      assert.ok(await until(() => !running(pids[quick.taskId]), 10_000), '`quick` exited while the daemon was down');
      // A crash between `runc run` and the record write leaves a container without a record.
      rmSync(join(lab.stateDir, 'exec', 'tasks', orphan.taskId), { recursive: true, force: true });

      ex2 = new Executor({ name: lab.name, dataRoot: lab.dataRoot, stateDir: lab.stateDir, images: lab.images });
      const report = await ex2.restore();
      assert.equal(report.adopted, [live.taskId]);
      assert.equal(report.exited, [quick.taskId]);
      assert.equal(report.orphansRemoved, [orphan.taskId]);
      const ids = (await ex2.runtime.list()).map((s) => s.id).sort();
      assert.equal(ids, [live.taskId, quick.taskId].sort(), 'runtime holds the adopted and the exited one, not the orphan');
      assert.not.ok(existsSync(`/run/netns/shoal-${orphan.taskId}`), 'orphan netns removed');
      assert.not.ok(readFileSync('/proc/self/mounts', 'utf8').includes(orphan.taskId), 'orphan rootfs unmounted');

      const q = ex2.controller(quick);
      assert.equal(await q.wait(), { exitCode: 5, oomKilled: false }, 'exit status recorded while the daemon was down');

      const c = ex2.controller(live);
      assert.is(c.state, 'running');
      assert.is(c.inspect().pid, pids[live.taskId]);
      await c.prepare();
      await c.start();
      assert.is(c.inspect().pid, pids[live.taskId], 'start on an adopted task starts nothing new');
      assert.is((await ex2.runtime.list()).filter((s) => s.id === live.taskId).length, 1);

      const seen: string[] = [];
      const ac = new AbortController();
      const follow = (async () => { for await (const e of c.logs({ follow: true, tail: 0, signal: ac.signal })) { seen.push(e.log); if (seen.length >= 3) ac.abort(); } })();
      assert.ok(await until(() => seen.length >= 3, 3000), 'logs keep flowing after adoption');
      await follow;
      const ticks: number[] = [];
      for await (const e of c.logs()) ticks.push(Number(e.log.trim().split('-')[1]));
      assert.ok(ticks.length >= 10, `${ticks.length} lines`);
      assert.equal(ticks, ticks.map((_, i) => i), 'no line lost or repeated across the daemon restart');

      await c.shutdown({ graceMs: 200 });
      assert.equal(await c.wait(), { exitCode: 137, oomKilled: false, signal: 'SIGKILL' }, 'exit of an adopted task is reported');
      await c.remove();
      await q.remove();
      assert.is((await ex2.runtime.list()).length, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await ex2?.destroy();
    }
  });
});

test('the monitor killed with SIGKILL: a new one starts, running tasks are watched by PID and still stop', async () => {
  await withExecLab(async (lab) => {
    const c = lab.ex.controller({ taskId: `${lab.name}-m`, image: lab.image, command: ['sleep', '60'] });
    await c.prepare();
    await c.start();
    const old = (await lab.ex.monitor()).pid;
    process.kill(old, 'SIGKILL');
    assert.ok(await until(async () => { try { process.kill(old, 0); return false; } catch { return true; } }));
    assert.ok(await until(async () => (await lab.ex.monitor()).pid !== old, 5000), 'a new monitor');
    assert.is(c.state, 'running');
    await c.shutdown({ graceMs: 0 });
    assert.equal(await c.wait(), { exitCode: -1, oomKilled: false }, 'exit seen, code unknown');
    await c.remove();
    const d = lab.ex.controller({ taskId: `${lab.name}-n`, image: lab.image, command: ['sh', '-c', 'exit 4'] });
    await d.prepare();
    await d.start();
    assert.is((await d.wait()).exitCode, 4, 'new tasks run under the new monitor');
    await d.remove();
  });
});

test('a daemon stopping gracefully: its monitor stays while a task runs, a new daemon keeps it, then it exits with nothing left', async () => {
  await withExecLab(async (lab) => {
    const gone = (pid: number) => () => { try { process.kill(pid, 0); return false; } catch { return true; } };
    const spec: TaskContainerSpec = { taskId: `${lab.name}-g`, image: lab.image, command: ['sleep', '60'] };
    const c = lab.ex.controller(spec);
    await c.prepare();
    await c.start();
    const pid = (await lab.ex.monitor()).pid;
    lab.ex.close();
    const ex2 = new Executor({ name: lab.name, dataRoot: lab.dataRoot, stateDir: lab.stateDir, images: lab.images });
    try {
      assert.equal((await ex2.restore()).adopted, [spec.taskId]);
      assert.is((await ex2.monitor()).pid, pid, 'the running task kept its monitor for the next daemon');
      const c2 = ex2.controller(spec);
      await c2.shutdown({ graceMs: 0 });
      await c2.wait();
      await c2.remove();
      ex2.close();
      assert.ok(await until(gone(pid), 5000), 'with no task and no daemon, the monitor exits');
    } finally {
      await ex2.destroy();
    }
  });
});

test.run();
