/**
 * A `DurableStorage` held in memory, over `MemoryStorage`: for tests and simulations.
 * "Durable" here means it outlives a `RaftNode` (stop one, start another on the same
 * object to simulate a restart). `crashed` keeps the state as of the last `save` that
 * resolved, so tests can also drop writes that were in flight.
 */
import { MemoryStorage } from '../memory-storage.ts';
import type { DurableStorage } from '../storage.ts';
import type { ConfState, Entry, HardState, Snapshot } from '../types.ts';

export class MemoryDurableStorage implements DurableStorage {
  readonly mem: MemoryStorage;
  /** Number of `save` calls that asked for a sync (a test's fsync counter). */
  syncs = 0;
  /** Number of `save` calls. */
  saves = 0;

  /** A new cluster is bootstrapped by giving the initial voters in `confState`. */
  constructor(opts: { confState?: ConfState } = {}) {
    this.mem = new MemoryStorage(opts);
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.mem.initialState();
  }
  entries(lo: number, hi: number, maxSize: number): Entry[] {
    return this.mem.entries(lo, hi, maxSize);
  }
  term(i: number): number {
    return this.mem.term(i);
  }
  lastIndex(): number {
    return this.mem.lastIndex();
  }
  firstIndex(): number {
    return this.mem.firstIndex();
  }
  snapshot(): Snapshot {
    return this.mem.snapshot();
  }

  async save(batch: { hardState?: HardState; entries: Entry[]; snapshot?: Snapshot; sync: boolean }): Promise<void> {
    this.saves++;
    if (batch.sync) this.syncs++;
    if (batch.snapshot) this.mem.applySnapshot(batch.snapshot);
    this.mem.append(batch.entries);
    if (batch.hardState) this.mem.setHardState(batch.hardState);
  }

  async createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    return this.mem.createSnapshot(index, confState, data);
  }

  async compact(index: number): Promise<void> {
    if (index >= this.mem.firstIndex()) this.mem.compact(index);
  }

  async close(): Promise<void> {}
}
