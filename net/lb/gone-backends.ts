/**
 * Which backends of each VIP are gone, for the reset rule of the VIP table (issue 22,
 * item 4; see ruleset.ts). A backend that leaves a VIP's desired backends is not gone
 * at once: a task leaves rotation before its stop signal and may still finish its open
 * connections (graceful drain), so it counts as gone only once it has been out for
 * `afterMs` (default 30 s, longer than Docker's default 10 s stop grace period), or for
 * its VIP's own drain time when that is longer (a service whose stop grace is longer);
 * a task still draining after that has its connections reset at their next packet. It
 * stays gone for `forMs` (default 1 h) or until it is a backend again. Pure: time is
 * passed in.
 */

/** Timing of {@link GoneBackends}, ms. */
export interface GoneTiming {
  /** How long a backend must be out of a VIP before its connections are reset. Default 30 000. */
  afterMs?: number;
  /** How long after that its connections are still reset. Default 3 600 000. */
  forMs?: number;
}

/** A backend that left its VIP: when, and how long it may drain before it counts as gone. */
interface Left {
  at: number;
  afterMs: number;
}

export class GoneBackends {
  /** VIP → backend address → when it left and its drain time (ms). */
  private readonly left = new Map<string, Map<string, Left>>();
  readonly afterMs: number;
  readonly forMs: number;

  constructor(timing: GoneTiming = {}) {
    this.afterMs = timing.afterMs ?? 30_000;
    this.forMs = timing.forMs ?? 3_600_000;
  }

  /**
   * Records a change of the desired backends (`prev` → `next`, VIP → addresses) at `now`.
   * `drainMsOf(vip)`: how long that VIP's backends may serve open connections after they
   * leave (its service's stop grace and drain), when known; the longer of it and `afterMs`
   * applies.
   */
  note(prev: ReadonlyMap<string, readonly string[]>, next: ReadonlyMap<string, readonly string[]>, now: number, drainMsOf: (vip: string) => number | undefined = () => undefined): void {
    for (const [vip, backends] of prev) {
      const cur = new Set(next.get(vip) ?? []);
      for (const b of backends) {
        if (cur.has(b)) continue;
        const m = this.left.get(vip) ?? new Map<string, Left>();
        if (!m.has(b)) m.set(b, { at: now, afterMs: Math.max(this.afterMs, drainMsOf(vip) ?? 0) });
        this.left.set(vip, m);
      }
    }
    for (const [vip, m] of this.left) {
      const cur = new Set(next.get(vip) ?? []);
      for (const [b, l] of m) if (cur.has(b) || now - l.at >= l.afterMs + this.forMs) m.delete(b);
      // A VIP that disappeared takes its memory with it (its address may serve another service later).
      if (m.size === 0 || !next.has(vip)) this.left.delete(vip);
    }
  }

  /** The gone backends at `now`, by VIP (sorted addresses). */
  active(now: number): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [vip, m] of this.left) {
      const ips = [...m].filter(([, l]) => now - l.at >= l.afterMs && now - l.at < l.afterMs + this.forMs).map(([ip]) => ip).sort();
      if (ips.length) out.set(vip, ips);
    }
    return out;
  }

  /** When {@link active} next changes (a backend becomes or stops being gone), or undefined. */
  nextChange(now: number): number | undefined {
    let next: number | undefined;
    for (const m of this.left.values()) {
      for (const l of m.values()) {
        for (const t of [l.at + l.afterMs, l.at + l.afterMs + this.forMs]) if (t > now && (next === undefined || t < next)) next = t;
      }
    }
    return next;
  }
}

/** Timers, injected so tests fire them without waiting: calls `fn` once after `ms` unless cancelled. */
export type SetTimer = (ms: number, fn: () => void) => () => void;

/** The real `setTimeout`, never keeping the process alive. */
export const realSetTimer: SetTimer = (ms, fn) => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return () => clearTimeout(t);
};

/**
 * The one timer a VIP or mesh table keeps to render again when its gone backends change
 * by time alone (one enters or leaves the reset set): armed for the earliest change,
 * re-armed only for an earlier one.
 */
export class GoneRefresh {
  private cancel?: () => void;
  private at = Infinity;

  constructor(private readonly setTimer: SetTimer) {}

  /** Calls `fire` at time `at` (on the clock `now` is read from), unless a call is armed for no later. */
  arm(at: number | undefined, now: number, fire: () => void): void {
    if (at === undefined || at >= this.at) return;
    this.cancel?.();
    this.at = at;
    this.cancel = this.setTimer(at - now, () => {
      this.at = Infinity;
      this.cancel = undefined;
      fire();
    });
  }

  /** Forgets the armed call (the table was removed). */
  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.at = Infinity;
  }
}
