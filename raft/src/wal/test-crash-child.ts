/**
 * Child process for `crash.test.ts`: opens a DiskStorage (fsync on), continues the log from
 * where it is, and prints `ack <lastIndex> <commit>` after each save resolves, until killed.
 * Now and then it snapshots and compacts, so kills also land around those.
 */
import { DiskStorage } from './disk-storage.ts';
import { emptyConfState, EntryType } from '../types.ts';

const dir = process.argv[2];
const s = await DiskStorage.open(dir, { fsync: true, segmentBytes: 16 * 1024 });
const payload = (i: number) => new TextEncoder().encode(`entry-${i}-`.padEnd(40 + (i % 50), '#'));
let i = s.lastIndex();
for (let n = 0; ; n++) {
  const k = 1 + (n % 7);
  const entries = Array.from({ length: k }, (_, j) => ({ index: i + 1 + j, term: 1, type: EntryType.Normal, data: payload(i + 1 + j) }));
  i += k;
  await s.save({ entries, hardState: { term: 1, vote: 'me', commit: i }, sync: true });
  if (n % 25 === 24) {
    await s.createSnapshot(i - 3, emptyConfState(), new TextEncoder().encode(`snap-${i - 3}`));
    await s.compact(i - 10);
  }
  process.stdout.write(`ack ${i} ${i}\n`);
}
