/**
 * Random operation sequences (appends with conflicts, hard states, snapshots created and
 * received, compactions) over tiny segments, with a restart after every step: each restart must
 * show exactly the state before it. A failing seed is printed so it can be replayed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emptyConfState } from '../types.ts';
import { DiskStorage } from './disk-storage.ts';
import { bytes, dump, ent, withTempDir } from './test-helpers.ts';
import { seededRand as rng } from '../core/test-network.ts';

async function runSeed(seed: number, steps: number): Promise<void> {
  const rand = rng(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  await withTempDir(async (dir) => {
    const o = { fsync: false, segmentBytes: 1 + pick(300) };
    let s = await DiskStorage.open(dir, o);
    let term = 1;
    const log: string[] = [];
    try {
      for (let step = 0; step < steps; step++) {
        // Up to four calls issued without waiting (they queue and are group-committed); each
        // is chosen from the state the earlier ones left, which is visible at once.
        const calls: Promise<unknown>[] = [];
        const burst = 1 + pick(4);
        for (let c = 0; c < burst; c++) {
          const r = rand();
          const last = s.lastIndex();
          const first = s.firstIndex();
          const snapIndex = s.snapshot().metadata.index;
          if (r < 0.5) {
            // Append, sometimes overwriting a suffix (as Raft does: never at or below a snapshot).
            const from = Math.max(first, snapIndex + 1, last + 1 - (rand() < 0.3 ? pick(4) : 0));
            if (from <= last) term++;
            const n = pick(4);
            const entries = Array.from({ length: n }, (_, k) => ent(from + k, term, `s${seed}-${step}-${c}-${k}`));
            const hardState = rand() < 0.5 ? { term, vote: rand() < 0.5 ? 'a' : '', commit: Math.max(0, from - 1) } : undefined;
            log.push(`save ${from}..${from + n - 1} t${term}${hardState ? ' +hs' : ''}`);
            calls.push(s.save({ entries, hardState, sync: rand() < 0.8 }));
          } else if (r < 0.65 && last > snapIndex) {
            const index = snapIndex + 1 + pick(last - snapIndex);
            log.push(`createSnapshot ${index}`);
            calls.push(s.createSnapshot(index, { ...emptyConfState(), voters: [`v${step}`] }, bytes(`snap ${step}`)));
          } else if (r < 0.8 && snapIndex >= first) {
            const index = first + pick(snapIndex - first + 1);
            log.push(`compact ${index}`);
            calls.push(s.compact(index));
          } else if (r < 0.86) {
            // A snapshot from the leader: sometimes matching the log, sometimes not.
            const matching = rand() < 0.5 && last > snapIndex;
            const index = matching ? snapIndex + 1 + pick(last - snapIndex) : last + pick(5) + 1;
            const t = matching ? s.term(index) : ++term;
            log.push(`receive snapshot ${index} t${t}`);
            calls.push(s.save({ snapshot: { metadata: { index, term: t, confState: emptyConfState() }, data: bytes(`recv ${step}`) }, entries: [], sync: true }));
          }
        }
        await Promise.all(calls);
        log.push('restart');
        const before = dump(s);
        await s.close();
        s = await DiskStorage.open(dir, o);
        assert.equal(dump(s), before, `state after restart at step ${step}`);
      }
      await s.close();
    } catch (err) {
      await s.close().catch(() => {});
      console.error(`seed ${seed} (segmentBytes ${o.segmentBytes}) failed after:\n  ${log.slice(-15).join('\n  ')}`);
      throw err;
    }
  });
}

test('a restart after any sequence of writes shows exactly the state before it', async () => {
  const seeds = process.env.WAL_SEED ? [Number(process.env.WAL_SEED)] : Array.from({ length: Number(process.env.WAL_SEEDS ?? 25) }, (_, k) => 1000 + k);
  for (const seed of seeds) await runSeed(seed, 50);
});

test('old segments are deleted while a restart still recovers, after a conflict just past a segment cut', () =>
  withTempDir(async (dir) => {
    const o = { fsync: false, segmentBytes: 1 }; // every write turn starts a new segment
    let s = await DiskStorage.open(dir, o);
    await s.save({ entries: [1, 2, 3, 4, 5].map((i) => ent(i, 1)), sync: true });
    await s.save({ entries: [ent(6, 1)], sync: true });
    await s.save({ entries: [3, 4, 5].map((i) => ent(i, 2)), sync: true }); // drops 6
    await s.createSnapshot(5, emptyConfState(), bytes('five'));
    await s.compact(5);
    const before = dump(s);
    await s.close();
    s = await DiskStorage.open(dir, o);
    assert.equal(dump(s), before);
    for (let i = 6; i <= 12; i++) await s.save({ entries: [ent(i, 2)], sync: true });
    await s.createSnapshot(11, emptyConfState(), bytes('eleven'));
    const segs = s.stats().segments;
    await s.compact(11);
    assert.ok(s.stats().segments < segs, 'segments deleted once past the conflict');
    const after = dump(s);
    await s.close();
    s = await DiskStorage.open(dir, o);
    assert.equal(dump(s), after);
    await s.close();
  }));

test.run();
