/** Helpers for the WAL tests (not exported from the package). */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType } from '../types.ts';
import type { Entry } from '../types.ts';
import type { DiskStorage } from './disk-storage.ts';

/** Runs `fn` with a fresh directory under the OS temp dir, removed afterwards, pass or fail. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'raft-wal-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function ent(index: number, term: number, data = `e${index}t${term}`): Entry {
  return { index, term, type: EntryType.Normal, data: bytes(data) };
}

export function ents(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term));
  return out;
}

/** Everything a storage shows through `Storage`, in a form `assert.equal` compares exactly. */
export function dump(s: DiskStorage): unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const snap = s.snapshot();
  return {
    initial: s.initialState(),
    first,
    last,
    firstTerm: s.term(first - 1),
    entries: last >= first ? s.entries(first, last + 1, Infinity).map((e) => ({ ...e, data: Array.from(e.data) })) : [],
    snapshot: { metadata: snap.metadata, data: Array.from(snap.data) },
  };
}

/** Segment file names in `dir/wal`, sorted. */
export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'wal'))).filter((n) => n.endsWith('.wal')).sort();
}

/** Snapshot file names in `dir/snap`, sorted. */
export async function snapshotFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'snap'))).sort();
}

/** Awaits `fn()` and fails unless it rejects with an error of class `expected` or matching it. */
export async function rejects(fn: () => Promise<unknown>, expected: RegExp | (new (...args: any[]) => Error)): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof Error)) throw new Error(`rejected with a non-error: ${String(err)}`);
    const ok = expected instanceof RegExp ? expected.test(err.message) : err instanceof expected;
    if (!ok) throw new Error(`rejected with the wrong error: ${err.name}: ${err.message}`);
    return err;
  }
  throw new Error('expected a rejection');
}
