/**
 * DiskStorage (raft-ts WAL) throughput: entries/s for `save` batches of 1 and 64 entries with
 * fsync on, 64 single-entry saves in flight (group commit), replay speed on open, and as a peer
 * a bare `write` + `fdatasync` loop of the same bytes. The disk is shared and noisy, so each
 * figure is the median of several rounds, and the WAL and the peer alternate within a round.
 *
 *   npm run bench -- raft-wal [--entries N] [--size BYTES] [--rounds R] [--dir PATH]
 *
 * Prints figures and ends with one JSON line; asserts nothing about time.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStorage, EntryType } from 'raft-ts';
import type { Entry } from 'raft-ts';

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function entries(from: number, n: number, size: number): Entry[] {
  const data = new Uint8Array(size).fill(0x61);
  return Array.from({ length: n }, (_, k) => ({ index: from + k, term: 1, type: EntryType.Normal, data }));
}

/** `total` entries in saves of `batch`, each synced; returns entries/s. */
async function sequential(s: DiskStorage, batch: number, total: number, size: number): Promise<number> {
  let i = s.lastIndex() + 1;
  const t0 = performance.now();
  for (const end = i + total; i < end; i += batch) {
    await s.save({ entries: entries(i, batch, size), hardState: { term: 1, vote: '', commit: i - 1 }, sync: true });
  }
  return (total / (performance.now() - t0)) * 1000;
}

/** `total` single-entry synced saves, `depth` in flight at a time; returns entries/s and fdatasyncs. */
async function pipelined(s: DiskStorage, depth: number, total: number, size: number): Promise<{ perSec: number; syncs: number }> {
  const syncs0 = s.stats().syncs;
  let next = s.lastIndex() + 1;
  const end = next + total;
  const t0 = performance.now();
  // Each worker takes the next index synchronously, so saves are issued in index order.
  const worker = async () => {
    while (next < end) {
      const i = next++;
      await s.save({ entries: entries(i, 1, size), sync: true });
    }
  };
  await Promise.all(Array.from({ length: depth }, worker));
  return { perSec: (total / (performance.now() - t0)) * 1000, syncs: s.stats().syncs - syncs0 };
}

/** The peer: one write + one fdatasync per batch, of about the bytes the WAL writes. */
async function bare(fh: FileHandle, at: { pos: number }, batch: number, total: number, size: number): Promise<number> {
  const buf = Buffer.alloc(batch * (16 + 17 + size) + 48, 0x61);
  const t0 = performance.now();
  for (let i = 0; i < total; i += batch) {
    await fh.write(buf, 0, buf.length, at.pos);
    at.pos += buf.length;
    await fh.datasync();
  }
  return (total / (performance.now() - t0)) * 1000;
}

export async function run(args: string[]): Promise<void> {
  const size = arg(args, '--size', 128);
  const n = arg(args, '--entries', 300);
  const rounds = arg(args, '--rounds', 5);
  const root = args.includes('--dir') ? args[args.indexOf('--dir') + 1] : tmpdir();
  const dir = await mkdtemp(join(root, 'raft-wal-bench-'));
  try {
    const s = await DiskStorage.open(join(dir, 'wal'), { fsync: true });
    const fh = await open(join(dir, 'bare.log'), 'w');
    const at = { pos: 0 };
    const r: Record<'b1' | 'p1' | 'b64' | 'p64' | 'pipe', number[]> = { b1: [], p1: [], b64: [], p64: [], pipe: [] };
    let syncs = 0;
    for (let k = 0; k < rounds; k++) {
      r.b1.push(await sequential(s, 1, n, size));
      r.p1.push(await bare(fh, at, 1, n, size));
      r.b64.push(await sequential(s, 64, n * 64, size));
      r.p64.push(await bare(fh, at, 64, n * 64, size));
      const p = await pipelined(s, 64, n * 4, size);
      r.pipe.push(p.perSec);
      syncs += p.syncs;
    }
    await fh.close();
    const written = s.lastIndex();
    await s.close();
    const t0 = performance.now();
    const reopened = await DiskStorage.open(join(dir, 'wal'), { fsync: true });
    const replayMs = performance.now() - t0;
    await reopened.close();

    const m = { b1: median(r.b1), p1: median(r.p1), b64: median(r.b64), p64: median(r.p64), pipe: median(r.pipe) };
    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    console.log(`raft-wal: ${size}-byte entries, fsync on, dir ${root}, median of ${rounds} rounds`);
    console.log(`  batch 1:   ${f(m.b1)} entries/s (${(1e6 / m.b1).toFixed(0)} µs/save); bare write+fdatasync ${f(m.p1)}/s; ratio ${(m.b1 / m.p1).toFixed(2)}`);
    console.log(`  batch 64:  ${f(m.b64)} entries/s (${(1e6 / m.b64).toFixed(2)} µs/entry); bare ${f(m.p64)}/s; ratio ${(m.b64 / m.p64).toFixed(2)}`);
    console.log(`  64 single-entry saves in flight: ${f(m.pipe)} entries/s; ${syncs} fdatasyncs for ${rounds * n * 4} saves (group commit)`);
    console.log(`  replay on open: ${written} entries in ${replayMs.toFixed(0)} ms (${f((written / replayMs) * 1000)} entries/s)`);
    console.log(JSON.stringify({
      bench: 'raft-wal', entryBytes: size, rounds,
      batch1PerSec: Math.round(m.b1), bare1PerSec: Math.round(m.p1), batch64PerSec: Math.round(m.b64), bare64PerSec: Math.round(m.p64),
      inflight64PerSec: Math.round(m.pipe), inflight64SyncsPerSave: Number((syncs / (rounds * n * 4)).toFixed(3)),
      replayPerSec: Math.round((written / replayMs) * 1000),
    }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
