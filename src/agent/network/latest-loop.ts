/**
 * Applies the newest of a stream of values, one apply at a time: values pushed while one
 * applies collapse into the newest, and a failed apply is retried after a delay that
 * doubles up to a ceiling (a newer value is applied at once instead). The network agent
 * feeds it the leader's views.
 */

/** Timers, injected so tests control them. */
export interface LoopClock {
  /** Calls `fn` once after `ms` unless the returned cancel function runs first. */
  setTimer(ms: number, fn: () => void): () => void;
}

export interface LatestLoopOptions {
  /** First retry delay after a failed apply, ms. Default 1000. */
  retryMs?: number;
  /** Longest retry delay, ms. Default 30000. */
  maxRetryMs?: number;
  clock?: LoopClock;
}

const realClock: LoopClock = {
  setTimer(ms, fn) { const t = setTimeout(fn, ms); t.unref(); return () => clearTimeout(t); },
};

export class LatestLoop<T> {
  private value: T | undefined;
  private has = false;
  private dirty = false;
  private running: Promise<void> | undefined;
  private cancelRetry: (() => void) | undefined;
  private failures = 0;
  private stopped = false;

  /** `apply` resolves true when the value is fully applied, false (or rejects) to retry it. */
  constructor(private readonly apply: (value: T) => Promise<boolean>, private readonly opts: LatestLoopOptions = {}) {}

  /** The newest value; applied soon (at once when idle). */
  push(value: T): void {
    if (this.stopped) return;
    this.value = value;
    this.has = true;
    this.dirty = true;
    this.cancelRetry?.();
    this.cancelRetry = undefined;
    this.kick();
  }

  /** Applies the current value again (e.g. something it depends on changed). */
  again(): void {
    if (this.has) this.push(this.value as T);
  }

  /** Resolves when no apply runs: the newest value applied, or failed and waiting for its retry. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** No more applies (the one running finishes). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelRetry?.();
    this.cancelRetry = undefined;
    await this.idle();
  }

  /** Consecutive failed applies (0 after a success). */
  get failed(): number { return this.failures; }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = this.loop().finally(() => { this.running = undefined; });
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      let ok = false;
      try { ok = await this.apply(this.value as T); } catch { ok = false; }
      if (ok) { this.failures = 0; continue; }
      this.failures++;
      if (this.dirty || this.stopped) continue; // a newer value: apply that instead of waiting
      const base = this.opts.retryMs ?? 1000;
      const ms = Math.min(base * 2 ** (this.failures - 1), this.opts.maxRetryMs ?? 30_000);
      const clock = this.opts.clock ?? realClock;
      this.cancelRetry = clock.setTimer(ms, () => { this.cancelRetry = undefined; this.dirty = true; this.kick(); });
    }
  }
}
