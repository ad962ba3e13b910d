/**
 * What the executor benchmark measures the same way on both sides (issue 20): the bare
 * runtime floor (`runc run -d` of a prepared bundle alone, no daemon, no library) with
 * each side's runtime binary, and memory per task as the RSS growth of every process
 * the system runs for its tasks (Shoal: the daemon's process, its monitor and helpers;
 * Docker: dockerd, containerd and the shims), the tasks' own payload excluded on both.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Executor } from '../../src/agent/exec/executor.ts';
import type { TaskController } from '../../src/agent/exec/controller.ts';
import { orderFor } from './fair.ts';

/** Resident set of `pid` in KiB (0 when it is gone). */
export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

const settle = () => new Promise((r) => setTimeout(r, 500));

/**
 * Memory per task, the same method on both sides: a warm-up at the same scale (start
 * `n` tasks, stop them), 500 ms to settle, the RSS sum of `pids()`, `n` tasks started,
 * 500 ms, the sum again; (after − before) / n. No forced GC on either side.
 */
export async function memoryPerTask(n: number, pids: () => number[], startOne: () => Promise<void>, stopAll: () => Promise<void>): Promise<{ perTaskKb: number; detail: Record<string, number> }> {
  for (let i = 0; i < n; i++) await startOne();
  await stopAll();
  await settle();
  const sum = () => { const ps = pids(); return { kb: ps.reduce((s, p) => s + rssKb(p), 0), processes: ps.length }; };
  const before = sum();
  for (let i = 0; i < n; i++) await startOne();
  await settle();
  const after = sum();
  await stopAll();
  return {
    perTaskKb: Math.round((after.kb - before.kb) / n),
    detail: { rss_before_kb: before.kb, rss_after_kb: after.kb, processes_before: before.processes, processes_after: after.processes, tasks: n },
  };
}

/**
 * The bare runtime floor: `BINARY --root TMP run -d --bundle B ID` alone, for each of
 * `binaries` in alternating order, `runs` times, on the bundle of one prepared (never
 * started) Shoal task; each container is killed and deleted before the next. Resolves
 * with the ms of each run, by binary.
 */
export async function runcFloor(ex: Executor, c: TaskController, binaries: string[], runs: number): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(binaries.map((b) => [b, []]));
  const root = mkdtempSync(join(tmpdir(), 'shoal-bench-floor-'));
  await c.prepare();
  const bundle = ex.paths.bundle(c.cid);
  try {
    for (let i = 0; i < runs; i++) {
      for (const bin of orderFor(i, binaries)) {
        const id = `floor-${process.pid}-${i}`;
        // No pipe on any stdio: the detached container inherits runc's, and spawnSync would
        // wait for the container to close it; runc's errors go to its --log file instead.
        const log = join(root, `${id}.log`);
        const t0 = performance.now();
        const r = spawnSync(bin, ['--root', root, '--log', log, 'run', '-d', '--bundle', bundle, '--pid-file', join(root, `${id}.pid`), id], { stdio: 'ignore' });
        const ms = performance.now() - t0;
        spawnSync(bin, ['--root', root, 'kill', id, 'KILL'], { stdio: 'ignore' });
        spawnSync(bin, ['--root', root, 'delete', '-f', id], { stdio: 'ignore' });
        if (r.status !== 0) throw new Error(`bench: ${bin} run failed: ${(existsSync(log) ? readFileSync(log, 'utf8') : `status ${r.status}`).trim().slice(-300)}`);
        out[bin].push(+ms.toFixed(2));
      }
    }
  } finally {
    await c.terminate().catch(() => {});
    await c.remove().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
  return out;
}
