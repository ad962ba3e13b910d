// The exec monitor (monitor.pl) over real processes, without runc: a stand-in for `runc run
// -d` / `runc create` forks a long-lived process, writes its PID file and exits, so the
// process is re-parented to the monitor as a container's init is. What a restarted daemon
// reads (`exits/<id>`) is the exit of the ID's newest process: a discarded created process
// of the same ID reaped late (after the newer one ended) does not overwrite it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../../../labs/lib/executor-fixture.ts';
import { connectMonitor, type MonitorClient, type MonitorExit } from './monitor.ts';

/** Whether `pid` exists (a zombie counts: not reaped yet). */
function exists(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Runs a stand-in container init of `id` under the monitor: a `sleep` whose PID the "runtime" writes. */
async function runInit(m: MonitorClient, dir: string, id: string, started: number[]): Promise<number> {
  const pidFile = join(dir, `${id}.pid`);
  const argv = ['/bin/sh', '-c', 'sleep 600 </dev/null >/dev/null 2>&1 & echo $! > "$0"', pidFile];
  const r = await m.run(id, argv, { stdout: join(dir, `${id}.out`), stderr: join(dir, `${id}.err`), pidFile });
  assert.is(r.status, 0, 'the stand-in runtime exits 0');
  assert.ok(r.pid > 0, 'its PID file names the init');
  started.push(r.pid);
  return r.pid;
}

test('a late exit of a discarded process of the same ID leaves the exit file of the newer one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lft9-monitor-'));
  const started: number[] = [];
  let m: MonitorClient | undefined;
  try {
    m = await connectMonitor(dir);
    const exits: MonitorExit[] = [];
    m.on('exit', (e: MonitorExit) => exits.push(e));
    const exited = (pid: number) => () => exits.some((e) => e.pid === pid);

    // A: created, then discarded without reaping yet (its kill is late); B: the same ID run again.
    const a = await runInit(m, dir, 'c1', started);
    const b = await runInit(m, dir, 'c1', started);
    assert.is.not(a, b);

    // B ends first (SIGTERM, through the monitor: the ID's process is B's now) ...
    assert.ok(await m.kill('c1', 'SIGTERM'), 'the monitor signals the ID\'s newest process');
    assert.ok(await until(exited(b), 5000), 'B\'s exit reported');
    assert.equal(m.recordedExit('c1'), { status: 15, pid: b });

    // ... then the discarded A is reaped: its exit is still reported (a discard waits for it by PID)
    process.kill(a, 'SIGKILL');
    assert.ok(await until(exited(a), 5000), 'A\'s exit reported');
    assert.equal(exits.find((e) => e.pid === a), { id: 'c1', pid: a, status: 9 });
    // ... but the exit file a restarted daemon reads is still B's.
    assert.equal(m.recordedExit('c1'), { status: 15, pid: b }, 'exit file of the newer process');
  } finally {
    for (const pid of started) if (exists(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    if (m) {
      const mpid = m.pid;
      const closed = new Promise((r) => m!.once('close', r));
      m.quit();
      await Promise.race([closed, until(() => !exists(mpid), 5000)]);
      m.close();
      // The monitor is ours (this test's directory): end it by its PID if quit did not.
      if (!(await until(() => !exists(mpid), 5000))) process.kill(mpid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
