/**
 * Owner-only files and folders for what a node writes: task records and bundles hold
 * the environment (often credentials), logs hold output, the monitor socket runs
 * commands as root. A folder is made 0700 and, when it already exists, changed to
 * 0700 (a data root made by an older version, or by hand, may be world-readable).
 * Files are written to a temporary name with mode 0600 and renamed into place.
 */
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/** Owner read/write/search only. */
export const PRIVATE_DIR_MODE = 0o700;
/** Owner read/write only. */
export const PRIVATE_FILE_MODE = 0o600;

/** Makes `path` (and missing parents, 0700 too) and sets it to 0700 whatever it was. */
export function privateDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(path, PRIVATE_DIR_MODE);
  return path;
}

/** Writes `data` to `path` atomically (temporary file + rename) with mode 0600. */
export function writePrivateFile(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  // A leftover temporary file keeps its old mode through writeFileSync: start fresh.
  rmSync(tmp, { force: true });
  writeFileSync(tmp, data, { mode: PRIVATE_FILE_MODE });
  renameSync(tmp, path);
}
