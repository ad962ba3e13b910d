/**
 * A seeded pseudo-random generator (mulberry32): the same seed gives the same sequence on
 * every platform, so a failing seed replays. For tests, simulations and the chaos harness
 * (labs/chaos), never for anything secret. Pure.
 */

/** A source of floats in [0, 1) drawn from `seed` (any integer, reduced to 32 bits). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
