/**
 * One daemon per data root: a lock file holding the owner's PID, created exclusively.
 * A lock left by a dead process (kill -9) is taken over; one held by a live process
 * makes the second daemon refuse to start with a clear error.
 */
import { open, readFile, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

export class DataRootInUseError extends Error {
  override name = 'DataRootInUseError';
  constructor(
    readonly dataRoot: string,
    readonly pid: number,
  ) {
    super(`data root ${dataRoot} is in use by another shoal daemon (pid ${pid}); stop it first or pick another --data-root`);
  }
}

export interface DataRootLock {
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockDataRoot(dataRoot: string): Promise<DataRootLock> {
  await mkdir(dataRoot, { recursive: true, mode: 0o700 });
  const path = join(dataRoot, 'shoal.pid');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return {
        async release() {
          const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
          if (owner === process.pid) await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (owner && owner !== process.pid && isAlive(owner)) throw new DataRootInUseError(dataRoot, owner);
      // Stale (its owner died) or half-written: take it over.
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock data root ${dataRoot}`);
}
