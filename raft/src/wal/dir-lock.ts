/**
 * One writer per storage directory, enforced with a `LOCK` file holding the owner's process ID
 * and start time (Node has no flock). A lock whose process is gone — or whose PID now belongs
 * to a process started at another time — is stale and taken over, so a SIGKILLed daemon
 * restarts without help. A lock held by this very process is taken over too: tests reopen a
 * directory in one process to simulate a crash.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { WalLockedError } from './errors.ts';

interface Owner {
  pid: number;
  /** Field 22 of /proc/PID/stat (start time in clock ticks since boot); '' where unknown. */
  start: string;
}

async function startTime(pid: number | 'self'): Promise<string> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after it start past the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

async function alive(owner: Owner): Promise<boolean> {
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (owner.start === '') return true;
  const now = await startTime(owner.pid);
  return now === '' || now === owner.start;
}

/** A held lock; `release` removes the file if it is still ours. */
export interface DirLock {
  release(): Promise<void>;
}

/** Takes the lock on `dir` (which must exist), or throws `WalLockedError` naming the holder. */
export async function lockDir(dir: string): Promise<DirLock> {
  const path = join(dir, 'LOCK');
  const text = JSON.stringify({ pid: process.pid, start: await startTime('self'), token: randomUUID() });
  const lock: DirLock = {
    async release() {
      const current = await readFile(path, 'utf8').catch(() => '');
      if (current === text) await unlink(path).catch(() => {});
    },
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, text, { flag: 'wx', mode: 0o600 });
      return lock;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(path);
    if (owner && (await alive(owner))) throw new WalLockedError(dir, owner.pid);
    await unlink(path).catch(() => {});
  }
  // Lost a race with another process taking over the same stale lock.
  throw new WalLockedError(dir, (await readOwner(path))?.pid ?? -1);
}

/** The owner a lock file names, or undefined if it is unreadable (half written: stale). */
async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as Owner;
    return typeof owner.pid === 'number' && typeof owner.start === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}
