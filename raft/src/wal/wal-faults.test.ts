/**
 * Recovery from damaged WAL and snapshot files: torn tails are cut back to the records that
 * were written whole, any other damage is an error naming file and offset.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { emptyConfState } from '../types.ts';
import type { Entry, HardState } from '../types.ts';
import { DiskStorage } from './disk-storage.ts';
import { SnapshotMissingError, WalCorruptError } from './errors.ts';
import { bytes, dump, ent, ents, rejects, segmentFiles, snapshotFiles, withTempDir } from './test-helpers.ts';
import { seededRand as rng } from '../core/test-network.ts';

const opts = { fsync: false };

/** One save = one WAL record: an entry or a hard state. */
type Step = { entry: Entry } | { hardState: HardState };

const STEPS: Step[] = [
  { entry: ent(1, 1) },
  { hardState: { term: 1, vote: 'a', commit: 0 } },
  { entry: ent(2, 1, 'second entry') },
  { entry: ent(3, 1, '') },
  { hardState: { term: 2, vote: 'b', commit: 2 } },
  { entry: ent(3, 2, 'replaces 3') },
  { entry: ent(4, 2, 'x'.repeat(40)) },
  { hardState: { term: 2, vote: 'b', commit: 4 } },
  { entry: ent(5, 2, 'last one') },
];

/**
 * Writes STEPS one save each into a fresh storage and returns the segment's bytes and, after
 * each save (and after open), the segment size and the state the storage showed.
 */
async function recordSteps(dir: string): Promise<{ name: string; file: Buffer; points: { size: number; state: unknown }[] }> {
  const s = await DiskStorage.open(dir, opts);
  const [name] = await segmentFiles(dir);
  const path = join(dir, 'wal', name);
  const points = [{ size: (await stat(path)).size, state: dump(s) }];
  for (const step of STEPS) {
    if ('entry' in step) await s.save({ entries: [step.entry], sync: true });
    else await s.save({ entries: [], hardState: step.hardState, sync: true });
    points.push({ size: (await stat(path)).size, state: dump(s) });
  }
  await s.close();
  return { name, file: await readFile(path), points };
}

/** Opens a fresh directory whose only segment holds `bytes`. */
async function openWith(dir: string, name: string, content: Uint8Array): Promise<DiskStorage> {
  await mkdir(join(dir, 'wal'), { recursive: true });
  await writeFile(join(dir, 'wal', name), content);
  return DiskStorage.open(dir, opts);
}

function flip(buf: Buffer, offset: number, bit: number): Buffer {
  const out = Buffer.from(buf);
  out[offset] ^= 1 << bit;
  return out;
}

const torn = suite('wal faults: torn tail');

torn('a cut at every byte offset recovers exactly the records written whole', () =>
  withTempDir(async (root) => {
    const { name, file, points } = await recordSteps(join(root, 'orig'));
    const empty = points[0].state;
    for (let cut = 0; cut <= file.length; cut++) {
      await withTempDir(async (dir) => {
        const s = await openWith(dir, name, file.subarray(0, cut));
        const whole = points.filter((p) => p.size <= cut);
        const expected = whole.length > 0 ? whole[whole.length - 1].state : empty;
        assert.equal(dump(s), expected, `cut at ${cut}`);
        if (cut >= points[0].size) {
          const atBoundary = points.some((p) => p.size === cut);
          assert.is(s.recovery.truncated !== undefined, !atBoundary, `truncation reported at ${cut}`);
        }
        // The repaired WAL takes new writes and reopens cleanly.
        await s.save({ entries: [ent(s.lastIndex() + 1, 7)], hardState: { term: 7, vote: '', commit: 0 }, sync: true });
        const after = dump(s);
        await s.close();
        const again = await DiskStorage.open(dir, opts);
        assert.equal(dump(again), after, `reopen after repair at ${cut}`);
        assert.is(again.recovery.truncated, undefined);
        await again.close();
      });
    }
  }));

torn('a flipped bit anywhere in the last record cuts that record off', () =>
  withTempDir(async (root) => {
    const { name, file, points } = await recordSteps(join(root, 'orig'));
    const lastStart = points[points.length - 2].size;
    for (let off = lastStart; off < file.length; off++) {
      await withTempDir(async (dir) => {
        const s = await openWith(dir, name, flip(file, off, off % 8));
        assert.equal(dump(s), points[points.length - 2].state, `flip at ${off}`);
        assert.is(s.recovery.truncated?.offset, lastStart);
        await s.close();
      });
    }
  }));

torn('zeros or garbage after a cut (a crash before fsync) leave only a prefix of the records', () =>
  withTempDir(async (root) => {
    // Random batches, with conflicts, written without sync; the file is then cut at random
    // points and filled with zeros or random bytes. The state must be exactly that of the
    // records wholly before the cut, computed here from the record sizes of the format.
    const seed = 20261123;
    const rand = rng(seed);
    const dir0 = join(root, 'orig');
    const s = await DiskStorage.open(dir0, opts);
    const [name] = await segmentFiles(dir0);
    const headerBytes = (await stat(join(dir0, 'wal', name))).size;
    const records: Step[] = [];
    let last = 0;
    let term = 1;
    for (let batch = 0; batch < 40; batch++) {
      const from = Math.max(1, last + 1 - Math.floor(rand() * 3));
      if (from <= last) term++;
      const n = 1 + Math.floor(rand() * 5);
      const entries = Array.from({ length: n }, (_, k) => ent(from + k, term, 'd'.repeat(Math.floor(rand() * 30))));
      const hardState = rand() < 0.5 ? { term, vote: rand() < 0.5 ? 'n1' : '', commit: Math.max(0, from - 2) } : undefined;
      await s.save({ entries, hardState, sync: false });
      records.push(...entries.map((entry) => ({ entry })));
      if (hardState) records.push({ hardState });
      last = from + n - 1;
    }
    await s.close();
    const file = await readFile(join(dir0, 'wal', name));
    const ends: number[] = [];
    let off = headerBytes;
    for (const r of records) {
      off += 16 + ('entry' in r ? 17 + r.entry.data.length : 16 + Buffer.byteLength(r.hardState.vote));
      ends.push(off);
    }
    assert.is(off, file.length, 'record sizes as the format says');

    for (let trial = 0; trial < 300; trial++) {
      const cut = headerBytes + Math.floor(rand() * (file.length - headerBytes + 1));
      const fill = Buffer.alloc(Math.floor(rand() * 200));
      if (trial % 2 === 1) for (let k = 0; k < fill.length; k++) fill[k] = Math.floor(rand() * 256);
      const damaged = Buffer.concat([file.subarray(0, cut), fill]);
      // Records whose bytes are all as written: those before the cut, and (rarely) one that the
      // fill happens to restore, such as zeros where the record ended in zero bytes.
      let whole = 0;
      while (whole < ends.length && damaged.subarray(0, ends[whole]).equals(file.subarray(0, ends[whole]))) whole++;
      const log = new Map<number, Entry>();
      let hs: HardState = { term: 0, vote: '', commit: 0 };
      for (const r of records.slice(0, whole)) {
        if ('entry' in r) {
          for (const i of [...log.keys()]) if (i >= r.entry.index) log.delete(i);
          log.set(r.entry.index, r.entry);
        } else hs = r.hardState;
      }
      await withTempDir(async (dir) => {
        const r = await openWith(dir, name, damaged);
        const msg = `seed ${seed} trial ${trial} cut ${cut} fill ${fill.length}`;
        assert.equal(r.initialState().hardState, hs, msg);
        assert.is(r.lastIndex(), log.size, msg);
        if (log.size > 0) {
          const got = r.entries(1, log.size + 1, Infinity).map((e) => [e.index, e.term, Buffer.from(e.data).toString()]);
          assert.equal(got, [...log.values()].map((e) => [e.index, e.term, Buffer.from(e.data).toString()]), msg);
        }
        await r.close();
      });
    }
  }));

const corrupt = suite('wal faults: corruption');

corrupt('a flipped bit in an earlier record is a WalCorruptError naming file and offset', () =>
  withTempDir(async (root) => {
    const { name, file, points } = await recordSteps(join(root, 'orig'));
    for (const k of [1, 3, 5]) {
      const start = points[k].size;
      const end = points[k + 1].size;
      for (let off = start; off < end; off++) {
        await withTempDir(async (dir) => {
          const err = await rejects(() => openWith(dir, name, flip(file, off, (off * 3) % 8)), WalCorruptError);
          const wce = err as WalCorruptError;
          assert.is(wce.file, join(dir, 'wal', name));
          assert.is(wce.offset, start, `flip at ${off}`);
          assert.match(wce.message, new RegExp(`offset ${start}`));
          // Nothing was truncated.
          assert.is((await stat(join(dir, 'wal', name))).size, file.length);
        });
      }
    }
  }));

corrupt('damage at the end of a segment that is not the last is an error, not a torn tail', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, { fsync: false, segmentBytes: 200 });
    for (let i = 1; i <= 20; i++) await s.save({ entries: [ent(i, 1)], sync: true });
    await s.close();
    const segs = await segmentFiles(dir);
    assert.ok(segs.length >= 3);
    const path = join(dir, 'wal', segs[1]);
    const buf = await readFile(path);
    await truncate(path, buf.length - 1);
    const err = (await rejects(() => DiskStorage.open(dir, opts), WalCorruptError)) as WalCorruptError;
    assert.is(err.file, path);
  }));

corrupt('a missing segment in the middle is an error', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, { fsync: false, segmentBytes: 200 });
    for (let i = 1; i <= 20; i++) await s.save({ entries: [ent(i, 1)], sync: true });
    await s.close();
    const segs = await segmentFiles(dir);
    await unlink(join(dir, 'wal', segs[1]));
    await rejects(() => DiskStorage.open(dir, opts), /segment 2 is missing/);
  }));

const snaps = suite('wal faults: snapshot files');

async function withSnapshots(dir: string, compactTo: number): Promise<void> {
  const s = await DiskStorage.open(dir, opts);
  await s.save({ entries: ents(1, 20, 1), hardState: { term: 1, vote: '', commit: 20 }, sync: true });
  await s.createSnapshot(5, { ...emptyConfState(), voters: ['a'] }, bytes('five'));
  await s.createSnapshot(10, { ...emptyConfState(), voters: ['a', 'b'] }, bytes('ten'));
  await s.compact(compactTo);
  await s.close();
}

snaps('a corrupt newest snapshot falls back to the previous one when the log covers it', () =>
  withTempDir(async (dir) => {
    await withSnapshots(dir, 4);
    const [older, newest] = await snapshotFiles(dir);
    const path = join(dir, 'snap', newest);
    const buf = await readFile(path);
    await writeFile(path, flip(buf, buf.length - 2, 1));
    const s = await DiskStorage.open(dir, opts);
    assert.is(s.snapshot().metadata.index, 5);
    assert.equal(s.snapshot().data, bytes('five'));
    assert.equal(s.initialState().confState.voters, ['a']);
    assert.is(s.recovery.skippedSnapshots.length, 1);
    assert.match(s.recovery.skippedSnapshots[0].reason, /checksum/);
    assert.is(s.firstIndex(), 5);
    await rejects(() => s.compact(8), /past the snapshot index 5/);
    await s.close();
    assert.equal(await snapshotFiles(dir), [older, `${newest}.corrupt`]);
    // A restart finds the same state; a new snapshot at the same index replaces the bad one.
    const again = await DiskStorage.open(dir, opts);
    assert.is(again.snapshot().metadata.index, 5);
    assert.equal(again.recovery.skippedSnapshots.map((x) => x.reason), ['missing']);
    await again.createSnapshot(10, emptyConfState(), bytes('ten again'));
    await again.compact(10);
    await again.close();
    const third = await DiskStorage.open(dir, opts);
    assert.equal(third.snapshot().data, bytes('ten again'));
    assert.is(third.firstIndex(), 11);
    await third.close();
  }));

snaps('a corrupt snapshot without an older one covering the log is a clear error', () =>
  withTempDir(async (dir) => {
    await withSnapshots(dir, 8);
    const [, newest] = await snapshotFiles(dir);
    const path = join(dir, 'snap', newest);
    const buf = await readFile(path);
    await writeFile(path, buf.subarray(0, buf.length - 1));
    const err = await rejects(() => DiskStorage.open(dir, opts), SnapshotMissingError);
    assert.match(err.message, /compaction point 8/);
    assert.match(err.message, /bytes, header says/);
  }));

snaps('a missing snapshot file falls back too; a left-over temp file is removed', () =>
  withTempDir(async (dir) => {
    await withSnapshots(dir, 2);
    const [, newest] = await snapshotFiles(dir);
    await unlink(join(dir, 'snap', newest));
    await writeFile(join(dir, 'snap', `${newest}.tmp`), 'half written');
    const s = await DiskStorage.open(dir, opts);
    assert.is(s.snapshot().metadata.index, 5);
    assert.equal(s.recovery.skippedSnapshots.map((x) => x.reason), ['missing']);
    assert.not.ok((await snapshotFiles(dir)).some((n) => n.endsWith('.tmp')));
    await s.close();
  }));

torn.run();
corrupt.run();
snaps.run();
