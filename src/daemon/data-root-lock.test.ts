import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { lockDataRoot, DataRootInUseError } from './data-root-lock.ts';

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-lock-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a held data root refuses a second lock with the owner pid', () =>
  withDir(async (dir) => {
    // A live process other than us owns the lock.
    await writeFile(join(dir, 'shoal.pid'), `${process.ppid}\n`);
    try {
      await lockDataRoot(dir);
      assert.unreachable('second lock must fail');
    } catch (err) {
      assert.instance(err, DataRootInUseError);
      assert.match((err as Error).message, new RegExp(`pid ${process.ppid}`));
    }
  }));

test('a lock left by a dead process is taken over', () =>
  withDir(async (dir) => {
    const dead = spawnSync('true').pid!;
    await writeFile(join(dir, 'shoal.pid'), `${dead}\n`);
    const lock = await lockDataRoot(dir);
    assert.is((await readFile(join(dir, 'shoal.pid'), 'utf8')).trim(), String(process.pid));
    await lock.release();
  }));

test('release removes the lock so the next daemon can start', () =>
  withDir(async (dir) => {
    const lock = await lockDataRoot(dir);
    await lock.release();
    const again = await lockDataRoot(dir);
    await again.release();
  }));

test.run();
