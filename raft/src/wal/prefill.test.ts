import { suite } from 'uvu';
import { cp, mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { DiskStorage } from './disk-storage.ts';
import { SegmentWriter } from './segment-writer.ts';
import { dump, ents, segmentFiles, withTempDir } from './test-helpers.ts';

const test = suite('disk storage: zero fill ahead of the end, and writes without sync');

/** Waits (polling, bounded) until `cond` holds. */
async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A copy of `dir` as a kill -9 leaves it (the WAL and snapshots, no lock). */
async function crashCopy(dir: string, to: string): Promise<void> {
  for (const sub of ['wal', 'snap']) await cp(join(dir, sub), join(to, sub), { recursive: true });
}

test('a synced segment gets zeros past its end; a crash leaves them and a restart reads them as the end', () =>
  withTempDir(async (root) => {
    const dir = join(root, 'a');
    const s = await DiskStorage.open(dir, { fsync: true });
    await s.save({ entries: ents(1, 5, 1), hardState: { term: 1, vote: 'n1', commit: 3 }, sync: true });
    const tail = s.unsyncedTail();
    await until(async () => (await stat(tail.path)).size > tail.bytes, 'the zero fill');
    const copy = join(root, 'b');
    await crashCopy(dir, copy);
    const r = await DiskStorage.open(copy, { fsync: true });
    assert.equal(dump(r), dump(s));
    assert.is(r.recovery.truncated, undefined, 'a zero tail is no torn tail');
    const [old] = await segmentFiles(copy);
    assert.is((await stat(join(copy, 'wal', old))).size, tail.bytes, 'the zeros were cut off the old segment');
    await r.close();
    await s.close();
    assert.is((await stat(tail.path)).size, tail.bytes, 'close cuts the zeros off');
  }));

test('a record torn before zeros is still cut and reported', () =>
  withTempDir(async (root) => {
    const dir = join(root, 'a');
    const s = await DiskStorage.open(dir, { fsync: true });
    await s.save({ entries: ents(1, 2, 1), sync: true });
    const tail = s.unsyncedTail();
    await until(async () => (await stat(tail.path)).size > tail.bytes, 'the zero fill');
    const copy = join(root, 'b');
    await crashCopy(dir, copy);
    // Half of the last record's header made it to disk, the rest reads as the fill's zeros.
    const fh = await open(join(copy, 'wal', (await segmentFiles(copy))[0]), 'r+');
    await fh.write(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]), 0, 8, tail.bytes);
    await fh.close();
    const r = await DiskStorage.open(copy, { fsync: true });
    assert.is(r.lastIndex(), 2);
    assert.is(r.recovery.truncated?.offset, tail.bytes);
    await r.close();
    await s.close();
  }));

test('a save without sync is written with the next synced one, or alone soon after', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, { fsync: false });
    await s.save({ entries: ents(1, 3, 1), sync: true });
    const w0 = s.stats().writes;
    const a = s.save({ entries: [], hardState: { term: 1, vote: '', commit: 2 }, sync: false });
    const b = s.save({ entries: ents(4, 4, 1), sync: true });
    await Promise.all([a, b]);
    assert.is(s.stats().writes, w0 + 1, 'one write for both');
    await s.save({ entries: [], hardState: { term: 1, vote: '', commit: 4 }, sync: false });
    assert.is(s.stats().writes, w0 + 2, 'alone, it is written all the same');
    const before = dump(s);
    await s.close();
    const r = await DiskStorage.open(dir, { fsync: false });
    assert.equal(dump(r), before);
    await r.close();
  }));

test('a held-back save never delays a synced one: it resolves with no timer firing', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, { fsync: false });
    await s.save({ entries: ents(1, 2, 1), sync: true });
    // Timers set from here on never fire: a synced save that waited for the hold-back
    // timer (or any timer) would never resolve.
    const real = globalThis.setTimeout;
    let timers = 0;
    globalThis.setTimeout = ((..._args: unknown[]) => {
      timers++;
      return real(() => {}, 0);
    }) as typeof setTimeout;
    let done = false;
    try {
      const held = s.save({ entries: [], hardState: { term: 1, vote: '', commit: 2 }, sync: false });
      const synced = s.save({ entries: ents(3, 3, 1), sync: true });
      void Promise.all([held, synced]).then(() => (done = true));
      for (let i = 0; i < 10_000 && !done; i++) await new Promise((r) => setImmediate(r));
    } finally {
      globalThis.setTimeout = real;
    }
    assert.ok(done, 'the synced save and the held one with it resolved without a timer');
    assert.ok(timers <= 1, 'at most the hold-back timer was set');
    await s.close();
  }));

test('a zero fill whose fdatasync fails fails the next sync of the records', () =>
  withTempDir(async (dir) => {
    // The fill's fdatasync covers the records' pages too; a write-back error it meets may be
    // reported to it alone, so the records must not be acknowledged as synced after it.
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
    await probe.close();
    const real = proto.datasync;
    let failed = 0;
    proto.datasync = function (this: unknown) {
      if (failed > 0) return real.call(this);
      failed++;
      return Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    };
    try {
      await mkdir(join(dir, 'wal'));
      // Its first append starts a fill, whose fdatasync is the first one made.
      const w = await SegmentWriter.start(join(dir, 'wal'), { existing: [], seq: 1, prevIndex: 0, checkpoint: Buffer.from('checkpoint'), fsync: true });
      await until(async () => failed > 0, 'the fill\'s fdatasync');
      await w.append(Buffer.from('a record'));
      let err: unknown;
      await w.sync().catch((e: unknown) => (err = e));
      assert.ok(err instanceof Error, 'the sync after a failed fill fails');
      await w.close().catch(() => {});
    } finally {
      proto.datasync = real;
    }
  }));

test.run();
