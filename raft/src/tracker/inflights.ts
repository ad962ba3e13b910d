import { assert } from '../errors.ts';

/**
 * The App messages a leader has sent to one follower in replicate state and not yet seen
 * acknowledged: a ring buffer of their last indexes (ascending), with their payload bytes.
 * Full when either `capacity` messages or `maxBytes` bytes (0 = no byte limit) are in flight.
 */
export class Inflights {
  private start = 0;
  private count_ = 0;
  private bytes_ = 0;
  private readonly indexes: number[];
  private readonly sizes: number[];

  constructor(readonly capacity: number, readonly maxBytes = 0) {
    assert(capacity > 0, 'inflights capacity must be positive');
    this.indexes = new Array<number>(capacity);
    this.sizes = new Array<number>(capacity);
  }

  get count(): number {
    return this.count_;
  }

  get bytes(): number {
    return this.bytes_;
  }

  /** Records a message whose last entry is `index`; indexes must be added in increasing order. */
  add(index: number, bytes = 0): void {
    assert(!this.full(), 'cannot add into a full inflights');
    const next = (this.start + this.count_) % this.capacity;
    this.indexes[next] = index;
    this.sizes[next] = bytes;
    this.count_++;
    this.bytes_ += bytes;
  }

  /** Frees every message whose last index is ≤ `to` (they were acknowledged). */
  freeLE(to: number): void {
    if (this.count_ === 0 || to < this.indexes[this.start]) return;
    let i = 0;
    let idx = this.start;
    let freedBytes = 0;
    for (; i < this.count_; i++) {
      if (to < this.indexes[idx]) break;
      freedBytes += this.sizes[idx];
      idx = (idx + 1) % this.capacity;
    }
    this.count_ -= i;
    this.bytes_ -= freedBytes;
    this.start = this.count_ === 0 ? 0 : idx;
  }

  full(): boolean {
    return this.count_ === this.capacity || (this.maxBytes > 0 && this.bytes_ >= this.maxBytes);
  }

  reset(): void {
    this.start = 0;
    this.count_ = 0;
    this.bytes_ = 0;
  }

  /** An independent copy with the same messages in flight. */
  clone(): Inflights {
    const c = new Inflights(this.capacity, this.maxBytes);
    for (let i = 0; i < this.count_; i++) {
      const j = (this.start + i) % this.capacity;
      c.add(this.indexes[j], this.sizes[j]);
    }
    return c;
  }

  /** The indexes in flight, oldest first (for tests and status). */
  toArray(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count_; i++) out.push(this.indexes[(this.start + i) % this.capacity]);
    return out;
  }
}
