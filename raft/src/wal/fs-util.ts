/** Small file-system helpers shared by the segment and snapshot code. */
import { chmod, mkdir, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileHandle } from 'node:fs/promises';

/** Fixed-width lower-case hex, as in file names (`0000000000000001`). */
export function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** Writes all of `buf` at `position` (a positional write may be short; loop until done). */
export async function writeAll(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesWritten } = await fh.write(buf, done, buf.byteLength - done, position + done);
    done += bytesWritten;
  }
}

/**
 * fsyncs a directory, so that files created, renamed or deleted in it stay so after a crash.
 * A no-op when `enabled` is false (tests).
 */
export async function syncDir(dir: string, enabled: boolean): Promise<void> {
  if (!enabled) return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Creates `dir` (and missing parents) owner-only (0700), and tightens it to 0700 when it
 * already exists with looser modes, together with the files directly in it (to 0600): the
 * WAL and snapshots hold the whole application state, secrets included.
 */
export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (((await stat(dir)).mode & 0o777) !== 0o700) await chmod(dir, 0o700);
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const st = await stat(path);
    if (st.isFile() && (st.mode & 0o077) !== 0) await chmod(path, st.mode & 0o700);
  }
}
