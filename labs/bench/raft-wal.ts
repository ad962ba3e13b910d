/**
 * DiskStorage (raft-ts WAL) throughput: entries/s for `save` batches of 1 and 64 entries with
 * fsync on, the same with 64 single-entry saves in flight (group commit), replay speed on open,
 * and as a peer a bare `write` + `fdatasync` loop of the same bytes in this process.
 *
 *   npm run bench -- raft-wal [--entries N] [--size BYTES] [--dir PATH]
 *
 * Prints figures and ends with one JSON line; asserts nothing about time.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStorage, EntryType } from 'raft-ts';
import type { Entry } from 'raft-ts';

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

function entries(from: number, n: number, size: number): Entry[] {
  const data = new Uint8Array(size).fill(0x61);
  return Array.from({ length: n }, (_, k) => ({ index: from + k, term: 1, type: EntryType.Normal, data }));
}

async function sequential(dir: string, batch: number, total: number, size: number): Promise<number> {
  const s = await DiskStorage.open(dir, { fsync: true });
  const t0 = performance.now();
  for (let i = 1; i <= total; i += batch) {
    await s.save({ entries: entries(i, batch, size), hardState: { term: 1, vote: '', commit: i - 1 }, sync: true });
  }
  const ms = performance.now() - t0;
  await s.close();
  return (total / ms) * 1000;
}

async function pipelined(dir: string, depth: number, total: number, size: number): Promise<{ perSec: number; syncs: number }> {
  const s = await DiskStorage.open(dir, { fsync: true });
  const base = s.stats().syncs;
  const t0 = performance.now();
  let next = 1;
  const worker = async () => {
    while (next <= total) {
      const i = next++;
      await s.save({ entries: entries(i, 1, size), sync: true });
    }
  };
  // Each worker takes the next index synchronously, so saves are issued in index order.
  await Promise.all(Array.from({ length: depth }, worker));
  const ms = performance.now() - t0;
  const syncs = s.stats().syncs - base;
  await s.close();
  return { perSec: (total / ms) * 1000, syncs };
}

async function replay(dir: string): Promise<{ perSec: number; ms: number; entries: number }> {
  const t0 = performance.now();
  const s = await DiskStorage.open(dir, { fsync: true });
  const ms = performance.now() - t0;
  const n = s.lastIndex();
  await s.close();
  return { perSec: (n / ms) * 1000, ms, entries: n };
}

/** The peer: one write + one fdatasync per batch, of the bytes the WAL would write, nothing else. */
async function bare(dir: string, batch: number, total: number, size: number): Promise<number> {
  const fh = await open(join(dir, 'bare.log'), 'w');
  const buf = Buffer.alloc(batch * (16 + 17 + size) + 48, 0x61);
  const t0 = performance.now();
  let pos = 0;
  for (let i = 0; i < total; i += batch) {
    await fh.write(buf, 0, buf.length, pos);
    pos += buf.length;
    await fh.datasync();
  }
  const ms = performance.now() - t0;
  await fh.close();
  return (total / ms) * 1000;
}

export async function run(args: string[]): Promise<void> {
  const size = arg(args, '--size', 128);
  const n1 = arg(args, '--entries', 2000);
  const root = args.includes('--dir') ? args[args.indexOf('--dir') + 1] : tmpdir();
  const dir = await mkdtemp(join(root, 'raft-wal-bench-'));
  try {
    const b1 = await sequential(join(dir, 'b1'), 1, n1, size);
    const peer1 = await bare(dir, 1, n1, size);
    const b64 = await sequential(join(dir, 'b64'), 64, n1 * 16, size);
    const peer64 = await bare(dir, 64, n1 * 16, size);
    const pipe = await pipelined(join(dir, 'pipe'), 64, n1 * 4, size);
    const rep = await replay(join(dir, 'b64'));
    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    console.log(`raft-wal: ${size}-byte entries, fsync on, dir ${root}`);
    console.log(`  batch 1:   ${f(b1)} entries/s (${(1e6 / b1).toFixed(1)} µs/entry); bare write+fdatasync ${f(peer1)}/s, ratio ${(b1 / peer1).toFixed(2)}`);
    console.log(`  batch 64:  ${f(b64)} entries/s (${(1e6 / b64).toFixed(2)} µs/entry); bare ${f(peer64)}/s, ratio ${(b64 / peer64).toFixed(2)}`);
    console.log(`  64 single-entry saves in flight: ${f(pipe.perSec)} entries/s, ${pipe.syncs} fdatasyncs for ${n1 * 4} saves (group commit)`);
    console.log(`  replay on open: ${rep.entries} entries in ${rep.ms.toFixed(1)} ms (${f(rep.perSec)} entries/s)`);
    console.log(JSON.stringify({
      bench: 'raft-wal', entryBytes: size,
      batch1PerSec: Math.round(b1), batch64PerSec: Math.round(b64), inflight64PerSec: Math.round(pipe.perSec), inflight64Syncs: pipe.syncs,
      bare1PerSec: Math.round(peer1), bare64PerSec: Math.round(peer64), replayPerSec: Math.round(rep.perSec),
    }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
