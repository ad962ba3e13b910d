import { suite } from 'uvu';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { CompactedError, UnavailableError } from '../storage.ts';
import { SnapshotOutOfDateError } from '../errors.ts';
import { emptyConfState } from '../types.ts';
import type { ConfState } from '../types.ts';
import { DiskStorage } from './disk-storage.ts';
import { bytes, dump, rejects, ent, ents, segmentFiles, snapshotFiles, withTempDir } from './test-helpers.ts';

const opts = { fsync: false };
const voters = (...ids: string[]): ConfState => ({ ...emptyConfState(), voters: ids });

async function reopened(dir: string, o = opts): Promise<DiskStorage> {
  return DiskStorage.open(dir, o);
}

/** Closes `s`, reopens the directory and checks the reopened storage shows exactly the same. */
async function restart(dir: string, s: DiskStorage, o = opts): Promise<DiskStorage> {
  const before = dump(s);
  await s.close();
  const r = await reopened(dir, o);
  assert.equal(dump(r), before, 'state after restart');
  return r;
}

const roundTrip = suite('disk storage: round trip');

roundTrip('a new directory opens empty, and again after a restart', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    assert.is(s.firstIndex(), 1);
    assert.is(s.lastIndex(), 0);
    assert.is(s.term(0), 0);
    assert.equal(s.initialState(), { hardState: { term: 0, vote: '', commit: 0 }, confState: emptyConfState() });
    assert.is(s.snapshot().metadata.index, 0);
    await (await restart(dir, s)).close();
  }));

roundTrip('entries and hard state survive a restart byte for byte', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, { fsync: true });
    await s.save({ entries: ents(1, 3, 1), hardState: { term: 1, vote: 'n1', commit: 2 }, sync: true });
    await s.save({ entries: [{ ...ent(4, 2), data: new Uint8Array([0, 255, 1, 2]) }, { ...ent(5, 2), data: new Uint8Array(0) }], sync: true });
    await s.save({ entries: [], hardState: { term: 2, vote: 'ñødé-2', commit: 5 }, sync: true });
    const r = await restart(dir, s, { fsync: true });
    assert.is(r.lastIndex(), 5);
    assert.equal(r.entries(4, 6, Infinity)[0].data, new Uint8Array([0, 255, 1, 2]));
    assert.ok(r.entries(4, 5, Infinity)[0].data instanceof Uint8Array);
    assert.equal(r.initialState().hardState, { term: 2, vote: 'ñødé-2', commit: 5 });
    await r.close();
  }));

roundTrip('conflicting entries replace the stored ones and everything after them', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    await s.save({ entries: ents(1, 10, 1), sync: true });
    await s.save({ entries: ents(6, 7, 2), sync: true });
    assert.is(s.lastIndex(), 7);
    assert.is(s.term(5), 1);
    assert.is(s.term(6), 2);
    const r = await restart(dir, s);
    assert.is(r.lastIndex(), 7);
    await r.save({ entries: ents(8, 9, 3), sync: true });
    const r2 = await restart(dir, r);
    assert.equal(r2.entries(5, 10, Infinity).map((e) => e.term), [1, 2, 2, 3, 3]);
    await r2.close();
  }));

roundTrip('entries at or below the compaction point are ignored; a gap is refused and changes nothing', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    await s.save({ entries: ents(1, 5, 1), sync: true });
    await s.createSnapshot(3, voters('a'), bytes('s3'));
    await s.compact(3);
    await s.save({ entries: ents(2, 6, 1), sync: true });
    assert.is(s.firstIndex(), 4);
    assert.is(s.lastIndex(), 6);
    const before = dump(s);
    try {
      await s.save({ entries: [ent(9, 1)], hardState: { term: 9, vote: '', commit: 0 }, sync: true });
      assert.unreachable('gap accepted');
    } catch (err) {
      assert.match((err as Error).message, /missing log entry/);
    }
    assert.equal(dump(s), before);
    await (await restart(dir, s)).close();
  }));

roundTrip('the Storage reads answer as MemoryStorage does', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    await s.save({ entries: [ent(1, 1, 'aaaa'), ent(2, 1, 'bbbb'), ent(3, 1, 'cccc')], sync: true });
    assert.is(s.entries(1, 4, 0).length, 1, 'at least one entry');
    assert.is(s.entries(1, 4, 8).length, 2);
    assert.is(s.entries(1, 4, Infinity).length, 3);
    assert.throws(() => s.entries(1, 5, Infinity), (e: unknown) => e instanceof UnavailableError);
    assert.throws(() => s.term(4), (e: unknown) => e instanceof UnavailableError);
    await s.createSnapshot(2, voters('a'), bytes('x'));
    await s.compact(2);
    assert.throws(() => s.entries(2, 3, Infinity), (e: unknown) => e instanceof CompactedError);
    assert.throws(() => s.term(1), (e: unknown) => e instanceof CompactedError);
    assert.is(s.term(2), 1);
    await s.close();
  }));

roundTrip('a new segment is started past segmentBytes and a restart reads them all', () =>
  withTempDir(async (dir) => {
    const o = { fsync: false, segmentBytes: 512 };
    const s = await DiskStorage.open(dir, o);
    for (let i = 1; i <= 120; i++) {
      await s.save({ entries: [ent(i, 1 + Math.floor(i / 40), `entry ${i} `.repeat(3))], hardState: { term: 1 + Math.floor(i / 40), vote: 'a', commit: i - 1 }, sync: i % 3 === 0 });
    }
    await s.save({ entries: ents(100, 101, 9), sync: true });
    assert.ok((await segmentFiles(dir)).length > 10, 'several segments');
    const r = await restart(dir, s, o);
    assert.is(r.lastIndex(), 101);
    await (await restart(dir, r, o)).close();
  }));

roundTrip('concurrent saves are group-committed, applied in call order, each durable when it resolves', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, { fsync: true });
    const base = s.stats();
    const order: number[] = [];
    const calls = [];
    for (let i = 1; i <= 50; i++) {
      calls.push(s.save({ entries: [ent(i, 1)], hardState: { term: 1, vote: '', commit: i }, sync: true }).then(() => order.push(i)));
    }
    await Promise.all(calls);
    assert.equal(order, Array.from({ length: 50 }, (_, k) => k + 1));
    const st = s.stats();
    assert.ok(st.syncs - base.syncs < 50, `group commit: ${st.syncs - base.syncs} syncs for 50 saves`);
    assert.is(s.lastIndex(), 50);
    await (await restart(dir, s)).close();
  }));

roundTrip('a call is visible as soon as it returns; a refused call among queued ones changes nothing', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    const a = s.save({ entries: ents(1, 3, 1), sync: true });
    assert.is(s.lastIndex(), 3, 'visible before the promise resolves');
    const bad = s.save({ entries: [ent(7, 1)], sync: true }).then(() => undefined, (err: Error) => err);
    const b = s.createSnapshot(2, voters('a'), bytes('two'));
    assert.is(s.snapshot().metadata.index, 2);
    const c = s.compact(2);
    assert.is(s.firstIndex(), 3);
    await Promise.all([a, b, c]);
    assert.match(String((await bad)?.message), /missing log entry/);
    assert.is(s.lastIndex(), 3);
    await (await restart(dir, s)).close();
  }));

roundTrip('unsynced saves are visible at once and written by close', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    await s.save({ entries: ents(1, 4, 1), sync: false });
    assert.is(s.lastIndex(), 4);
    await (await restart(dir, s)).close();
  }));

const snapshots = suite('disk storage: snapshots');

snapshots('createSnapshot is loaded after a restart; the newest two files are kept', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    await s.save({ entries: ents(1, 10, 1), hardState: { term: 1, vote: 'a', commit: 10 }, sync: true });
    for (const i of [2, 4, 6, 8]) {
      const snap = await s.createSnapshot(i, voters('a', 'b'), bytes(`state at ${i}`));
      assert.equal(snap.metadata, { index: i, term: 1, confState: voters('a', 'b') });
    }
    assert.equal(await snapshotFiles(dir), ['0000000000000001-0000000000000006.snap', '0000000000000001-0000000000000008.snap']);
    assert.is(s.firstIndex(), 1, 'createSnapshot does not compact');
    const r = await restart(dir, s);
    assert.equal(r.snapshot().data, bytes('state at 8'));
    assert.equal(r.initialState().confState, voters('a', 'b'));
    await rejects(() => r.createSnapshot(8, voters('a'), bytes('')), SnapshotOutOfDateError);
    await r.close();
  }));

snapshots('a received snapshot the log matches compacts up to it and keeps the rest', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    await s.save({ entries: ents(1, 10, 2), sync: true });
    await s.save({ snapshot: { metadata: { index: 6, term: 2, confState: voters('x') }, data: bytes('six') }, entries: ents(11, 12, 2), sync: true });
    assert.is(s.firstIndex(), 7);
    assert.is(s.lastIndex(), 12);
    assert.is(s.term(6), 2);
    const r = await restart(dir, s);
    assert.equal(r.snapshot().data, bytes('six'));
    await r.close();
  }));

snapshots('a received snapshot the log does not match discards the whole log', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    await s.save({ entries: ents(1, 10, 2), sync: true });
    await s.save({ snapshot: { metadata: { index: 8, term: 5, confState: voters('x') }, data: bytes('eight') }, entries: ents(9, 9, 5), hardState: { term: 5, vote: '', commit: 8 }, sync: true });
    assert.is(s.firstIndex(), 9);
    assert.is(s.lastIndex(), 9);
    assert.is(s.term(8), 5);
    const r = await restart(dir, s);
    await rejects(() => r.save({ snapshot: { metadata: { index: 7, term: 5, confState: voters('x') }, data: bytes('') }, entries: [], sync: true }), SnapshotOutOfDateError);
    await r.close();
  }));

snapshots('a bootstrap snapshot given as confState or saved at index 1 survives a restart', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, { fsync: false, confState: voters('a', 'b', 'c') });
    assert.equal(s.initialState().confState, voters('a', 'b', 'c'));
    await (await restart(dir, s)).close();
    const s2 = await DiskStorage.open(`${dir}/other`, opts);
    await s2.save({ snapshot: { metadata: { index: 1, term: 1, confState: voters('a') }, data: new Uint8Array(0) }, hardState: { term: 1, vote: '', commit: 1 }, entries: [], sync: true });
    const r = await restart(`${dir}/other`, s2);
    assert.is(r.firstIndex(), 2);
    assert.is(r.lastIndex(), 1);
    await r.close();
  }));

const compaction = suite('disk storage: compaction');

compaction('compact deletes whole old segments and a restart recovers exactly', () =>
  withTempDir(async (dir) => {
    const o = { fsync: false, segmentBytes: 400 };
    let s = await DiskStorage.open(dir, o);
    let term = 1;
    for (let i = 1; i <= 200; i++) {
      if (i % 50 === 0) term++;
      await s.save({ entries: [ent(i, term, `payload-${i}`)], hardState: { term, vote: `n${term % 3}`, commit: i - 1 }, sync: true });
      if (i % 40 === 0) {
        await s.createSnapshot(i - 5, voters('a'), bytes(`snap ${i - 5}`));
        const segsBefore = (await segmentFiles(dir)).length;
        await s.compact(i - 10);
        assert.ok((await segmentFiles(dir)).length < segsBefore, 'segments deleted');
        s = await restart(dir, s, o);
        assert.is(s.firstIndex(), i - 9);
      }
    }
    assert.ok((await segmentFiles(dir)).length < 20);
    await s.compact(195);
    s = await restart(dir, s, o);
    await s.compact(195); // at or below the compaction point: nothing to do
    await s.save({ entries: ents(180, 182, 9), sync: true });
    await (await restart(dir, s, o)).close();
  }));

compaction('compact past the snapshot index is refused', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    await s.save({ entries: ents(1, 5, 1), sync: true });
    await s.createSnapshot(2, voters('a'), bytes(''));
    await rejects(() => s.compact(4), /past the snapshot index/);
    assert.is(s.firstIndex(), 1);
    await s.close();
  }));

compaction('after a received snapshot reset the log, old segments go and a restart recovers', () =>
  withTempDir(async (dir) => {
    const o = { fsync: false, segmentBytes: 300 };
    const s = await DiskStorage.open(dir, o);
    for (let i = 1; i <= 30; i++) await s.save({ entries: [ent(i, 1)], sync: true });
    await s.save({ snapshot: { metadata: { index: 100, term: 3, confState: voters('a') }, data: bytes('hundred') }, entries: [], hardState: { term: 3, vote: '', commit: 100 }, sync: true });
    for (let i = 101; i <= 130; i++) await s.save({ entries: [ent(i, 3)], sync: true });
    await s.createSnapshot(120, voters('a'), bytes('120'));
    await s.compact(120);
    const r = await restart(dir, s, o);
    assert.is(r.firstIndex(), 121);
    await r.close();
  }));

const lifecycle = suite('disk storage: lifecycle');

lifecycle('writes after close are refused', () =>
  withTempDir(async (dir) => {
    const s = await DiskStorage.open(dir, opts);
    await s.close();
    await rejects(() => s.save({ entries: [ent(1, 1)], sync: true }), /closed/);
    await s.close();
  }));

lifecycle('the directory, WAL segments and snapshots are owner-only, also when the directory was looser', () =>
  withTempDir(async (dir) => {
    await mkdir(join(dir, 'wal'), { mode: 0o755 });
    await chmod(dir, 0o755);
    await chmod(join(dir, 'wal'), 0o755);
    await writeFile(join(dir, 'wal', 'stray'), 'x', { mode: 0o644 });
    const s = await DiskStorage.open(dir, { ...opts, confState: voters('n1') });
    await s.save({ entries: ents(1, 3, 1), hardState: { term: 1, vote: 'n1', commit: 3 }, sync: true });
    await s.createSnapshot(3, voters('n1'), bytes('state'));
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    for (const d of [dir, join(dir, 'wal'), join(dir, 'snap')]) assert.is(await mode(d), 0o700, d);
    const files = [
      ...(await readdir(join(dir, 'wal'))).map((f) => join(dir, 'wal', f)),
      ...(await readdir(join(dir, 'snap'))).map((f) => join(dir, 'snap', f)),
    ];
    assert.ok(files.some((f) => f.endsWith('.snap')), 'a snapshot file was written');
    for (const f of files) assert.is(await mode(f), 0o600, f);
    await s.close();
  }));

roundTrip.run();
snapshots.run();
compaction.run();
lifecycle.run();
