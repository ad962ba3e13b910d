/**
 * The seeded fault schedule of the real-process linearizability run. Pure: the same seed
 * gives the same faults, so a failing run replays (the members' timing still varies).
 */

export type FaultKind = 'kill' | 'kill-leader' | 'pause' | 'isolate' | 'isolate-leader' | 'one-way';

export interface Fault {
  kind: FaultKind;
  /** A member index, unused for the `-leader` kinds (resolved when the fault starts). */
  target: number;
  /** For `one-way`: the member `target` can no longer send to. */
  peer: number;
  /** How long the fault lasts before it is healed, ms. */
  holdMs: number;
  /** Quiet time after healing, before the next fault, ms. */
  gapMs: number;
}

const KINDS: FaultKind[] = ['kill', 'kill-leader', 'pause', 'isolate', 'isolate-leader', 'one-way'];

/** Faults for a run of `durationMs` among `members` members, drawn from `random` (floats in [0, 1)). */
export function planFaults(random: () => number, durationMs: number, members = 3): Fault[] {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const faults: Fault[] = [];
  let t = 0;
  // Every kind once before any repeats, so a short run still covers them all.
  const order = [...KINDS];
  for (let i = order.length - 1; i > 0; i--) {
    const j = int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  while (true) {
    const kind = faults.length < order.length ? order[faults.length] : KINDS[int(0, KINDS.length - 1)];
    const target = int(0, members - 1);
    const peer = (target + int(1, members - 1)) % members;
    const holdMs = int(800, 2500);
    const gapMs = int(300, 1200);
    if (t + holdMs + gapMs > durationMs) break;
    faults.push({ kind, target, peer, holdMs, gapMs });
    t += holdMs + gapMs;
  }
  return faults;
}
