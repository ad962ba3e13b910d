import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { lockDataRoot, DataRootInUseError } from './data-root-lock.ts';

const MODULE = fileURLToPath(new URL('./data-root-lock.ts', import.meta.url));

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-lock-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Waits (polling, bounded) until `pred` holds. */
async function until(pred: () => Promise<boolean>, what: string, maxMs = 10_000): Promise<void> {
  const end = Date.now() + maxMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether `pid` has exited (every thread) and is not reaped yet: a zombie group leader alone. */
async function isZombie(pid: number): Promise<boolean> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  if (tasks.length !== 1) return false;
  const s = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return s.slice(s.lastIndexOf(')') + 2).split(' ')[0] === 'Z';
}

/**
 * Starts a process that takes the lock on `dir` and prints its PID, as a child of a shell
 * that then execs `sleep`: sleep never reaps it, so once killed it stays a zombie.
 */
async function startHolder(dir: string): Promise<{ sh: ChildProcess; pid: number }> {
  const js = `const m = await import(${JSON.stringify(MODULE)}); await m.lockDataRoot(${JSON.stringify(dir)}); console.log('locked ' + process.pid); setInterval(() => {}, 1e6);`;
  const cmd = `'${process.execPath}' --import tsx --input-type=module -e "$JS" & exec sleep 600`;
  const sh = spawn('sh', ['-c', cmd], { env: { ...process.env, JS: js }, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    sh.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /locked (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    sh.on('exit', (code) => reject(new Error(`holder exited early (${code}): ${out}`)));
  });
  return { sh, pid };
}

function kill(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

test('a second taker of a held data root is refused with the holder pid; a kill -9 holder, not yet reaped, does not block', () =>
  withDir(async (dir) => {
    let holder: { sh: ChildProcess; pid: number } | undefined;
    try {
      holder = await startHolder(dir);
      const err = await lockDataRoot(dir).then(() => undefined, (e: unknown) => e);
      assert.instance(err, DataRootInUseError);
      assert.is((err as DataRootInUseError).pid, holder.pid);
      assert.match((err as Error).message, `pid ${holder.pid}`);

      kill(holder.pid);
      // Exited but not reaped: the old PID-file lock counted such a process as alive.
      await until(() => isZombie(holder!.pid), 'the holder to be a zombie');
      const lock = await lockDataRoot(dir);
      await lock.release();
    } finally {
      kill(holder?.pid);
      kill(holder?.sh.pid);
    }
  }));

test('one process cannot take the same root twice, also through a symlink; release frees it', () =>
  withDir(async (dir) => {
    const root = join(dir, 'root');
    const lock = await lockDataRoot(root);
    await symlink(root, join(dir, 'alias'));
    for (const path of [root, join(dir, 'alias')]) {
      const err = await lockDataRoot(path).then(() => undefined, (e: unknown) => e);
      assert.instance(err, DataRootInUseError, path);
      assert.is((err as DataRootInUseError).pid, process.pid);
    }
    await lock.release();
    await lock.release();
    const again = await lockDataRoot(join(dir, 'alias'));
    await again.release();
  }));

test('a data root is created owner-only; a stale pid file neither blocks nor stays', () =>
  withDir(async (dir) => {
    const root = join(dir, 'root');
    await lockDataRoot(root).then((l) => l.release());
    assert.is((await stat(root)).mode & 0o777, 0o700);
    await writeFile(join(root, 'shoal.pid'), `${process.pid}\n`);
    const lock = await lockDataRoot(root);
    assert.is(await stat(join(root, 'shoal.pid')).then(() => true, () => false), false);
    await lock.release();
  }));

test.run();
