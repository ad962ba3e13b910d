/**
 * A small seeded pseudo-random generator for the simulation: mulberry32 (32-bit state,
 * period 2^32, passes gjrand/PractRand far enough for test scheduling). Deterministic:
 * the same seed gives the same sequence on every platform, so a failing seed replays.
 *
 * Not for cryptography. Each consumer that must not perturb the others' draws takes its
 * own stream through `fork()` (for example every Raft node's `rand`), so adding a draw in
 * one place does not reshuffle an unrelated schedule.
 */
export class Prng {
  private state: number;

  /** `seed` is any integer; it is reduced to 32 bits. */
  constructor(seed: number) {
    this.state = (seed | 0) ^ 0x9e3779b9;
    // Warm up so nearby seeds diverge at once.
    for (let i = 0; i < 4; i++) this.nextU32();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** An integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number {
    if (hi < lo) throw new Error(`prng: empty range [${lo}, ${hi}]`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** A uniformly chosen element; throws on an empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('prng: pick from an empty array');
    return items[Math.floor(this.next() * items.length)];
  }

  /** A new array with the elements of `items` in a random order (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** An independent stream derived from this one (consumes one draw here). */
  fork(): Prng {
    return new Prng(this.nextU32());
  }

  /** This generator as a plain `() => number` in [0, 1), for `Config.rand`. */
  asFunction(): () => number {
    return () => this.next();
  }
}
