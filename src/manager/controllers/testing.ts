// Test helpers for controllers (never imported by production code): a drain of pending
// turns, and timers taken over from a controller so a test decides when they fire.
import type { StoreController } from './store-controller.ts';

/** Lets pending promises and immediates run (a controller's pass takes several turns). */
export const drain = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

/** A timer a test holds: its delay, its callback and whether it was cancelled. */
export interface ManualTimer { ms: number; fire: () => void; cancelled: boolean }

/** A recording `set(ms, fn)` that returns a cancel (OnceTimer's and `at`'s shape); nothing fires by itself. */
export function manualTimers(): { timers: ManualTimer[]; set: (ms: number, fire: () => void) => () => void } {
  const timers: ManualTimer[] = [];
  const set = (ms: number, fire: () => void) => {
    const t = { ms, fire, cancelled: false };
    timers.push(t);
    return () => void (t.cancelled = true);
  };
  return { timers, set };
}

/**
 * Takes over `controller`'s timers (its protected `at`): each is recorded and fires only
 * when the test calls `fire()`, which runs its callback and then a pass, as `at` does.
 */
export function takeTimers(controller: StoreController): ManualTimer[] {
  const c = controller as unknown as { at(ms: number, fn: () => void): () => void; kick(): void };
  const { timers, set } = manualTimers();
  c.at = (ms, fn) => set(ms, () => { fn(); c.kick(); });
  return timers;
}
