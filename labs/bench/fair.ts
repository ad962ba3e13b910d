/**
 * What every Shoal-vs-peer benchmark shares so that its figures compare like with like
 * (issue 20): rounds that alternate which side goes first, figures as the median of the
 * rounds with min and max beside them, a failed round recorded (never dropped), and
 * target flags that read 'met' only when the peer actually ran. Pure: no I/O, no clock.
 */

/** One figure over its rounds: the median, min and max of the rounds that succeeded, and every value. */
export interface Summary {
  median: number | null;
  min: number | null;
  max: number | null;
  /** Every successful round's value, in the order measured. */
  values: number[];
  /** Rounds that failed, each with its error (a failed round is reported, never dropped). */
  failed: string[];
}

/** What a flag says: 'met' / 'not met' when both sides ran, otherwise why it cannot say. */
export type Flag = 'met' | 'not met' | 'peer did not run' | 'not measured';

/** Rounds for the JSON: 0.1 from 100 up, else 3 significant digits (ratios and sub-ms latencies keep theirs). */
const r1 = (x: number) => (Math.abs(x) >= 100 ? +x.toFixed(1) : +x.toPrecision(3));

/** The median (mean of the middle two for an even count) of `xs`, or null when empty. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return r1(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);
}

/** Median, min and max of `values` (rounded to 0.1), with the failed rounds beside them. */
export function summary(values: readonly number[], failed: readonly string[] = []): Summary {
  return {
    median: median(values),
    min: values.length ? r1(Math.min(...values)) : null,
    max: values.length ? r1(Math.max(...values)) : null,
    values: values.map(r1),
    failed: [...failed],
  };
}

/**
 * The order the sides run in round `round`: as given on even rounds, reversed on odd ones,
 * so that no side always runs first (warm caches, a loaded machine's drift).
 */
export function orderFor<T>(round: number, sides: readonly T[]): T[] {
  return round % 2 === 0 ? [...sides] : [...sides].reverse();
}

/** One side's result of one round: its value, or the error that stopped it. */
export type Outcome = { ok: true; value: number } | { ok: false; error: string };

/**
 * Runs `rounds` rounds; in each, every side once, in alternating order (see `orderFor`).
 * A round that throws is recorded as failed and the others still run. Resolves with
 * each side's summary, keyed by the side's name.
 */
export async function alternate<S extends string>(
  rounds: number,
  sides: readonly S[],
  measure: (side: S, round: number) => Promise<number>,
): Promise<Record<S, Summary>> {
  const got = new Map<S, { values: number[]; failed: string[] }>(sides.map((s) => [s, { values: [], failed: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const s of orderFor(r, sides)) {
      const o = await outcome(() => measure(s, r));
      if (o.ok) got.get(s)!.values.push(o.value);
      else got.get(s)!.failed.push(`round ${r + 1}: ${o.error}`);
    }
  }
  const out = {} as Record<S, Summary>;
  for (const s of sides) out[s] = summary(got.get(s)!.values, got.get(s)!.failed);
  return out;
}

/** Runs `fn`, turning a throw into a failed outcome (its message, shortened). */
export async function outcome(fn: () => Promise<number>): Promise<Outcome> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return { ok: false, error: String((err as Error)?.message ?? err).slice(0, 300) };
  }
}

/** ours / peer's, to 3 significant digits; null unless both are positive numbers. */
export function ratio(ours: number | null | undefined, peer: number | null | undefined): number | null {
  return typeof ours === 'number' && typeof peer === 'number' && peer > 0 && Number.isFinite(ours) ? +(ours / peer).toPrecision(3) : null;
}

/**
 * A target flag comparing our figure with the peer's: 'met' when `ours <= peer * ratio`
 * (lower is better), 'not met' otherwise, but only when the peer ran; 'not measured'
 * when our own side has no figure. Never 'met' without a peer figure.
 */
export function flag(ours: number | null | undefined, peer: number | null | undefined, maxRatio: number): Flag {
  if (typeof ours !== 'number') return 'not measured';
  if (typeof peer !== 'number') return 'peer did not run';
  return ours <= peer * maxRatio ? 'met' : 'not met';
}

/** As `flag`, for a figure where higher is better: 'met' when `ours >= peer * minRatio`, only when the peer ran. */
export function flagAtLeast(ours: number | null | undefined, peer: number | null | undefined, minRatio: number): Flag {
  if (typeof ours !== 'number') return 'not measured';
  if (typeof peer !== 'number') return 'peer did not run';
  return ours >= peer * minRatio ? 'met' : 'not met';
}

/** A flag with an absolute bound as well: both must hold for 'met'. */
export function flagWithBound(ours: number | null | undefined, peer: number | null | undefined, maxRatio: number, bound: number): Flag {
  const f = flag(ours, peer, maxRatio);
  return f === 'met' && (ours as number) > bound ? 'not met' : f;
}

/**
 * The JSON fields of one figure: `key` (median), `key_min`, `key_max`, `key_runs`, and
 * `key_failed` when any round failed. `key` null when no round succeeded.
 */
export function figureFields(key: string, s: Summary | undefined): Record<string, unknown> {
  if (!s) return { [key]: null, [`${key}_runs`]: 0 };
  return {
    [key]: s.median, [`${key}_min`]: s.min, [`${key}_max`]: s.max, [`${key}_runs`]: s.values.length,
    ...(s.failed.length ? { [`${key}_failed`]: s.failed } : {}),
  };
}

/** One side's figures over the rounds of `alternateRecords`: each key's summary, and the rounds that failed whole. */
export interface SideRounds {
  figures: Record<string, Summary>;
  /** Rounds that threw before giving their figures, each with its error. */
  failed: string[];
}

/**
 * As `alternate`, for a round that measures several figures at once (a record of
 * name → value). A round that throws is recorded in the side's `failed`, and its figures
 * are missing from that round only.
 */
export async function alternateRecords<S extends string>(
  rounds: number,
  sides: readonly S[],
  measure: (side: S, round: number) => Promise<Record<string, number>>,
): Promise<Record<S, SideRounds>> {
  const got = new Map<S, { values: Record<string, number[]>; failed: string[] }>(sides.map((s) => [s, { values: {}, failed: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const s of orderFor(r, sides)) {
      const g = got.get(s)!;
      try {
        for (const [k, v] of Object.entries(await measure(s, r))) (g.values[k] ??= []).push(v);
      } catch (err) {
        g.failed.push(`round ${r + 1}: ${String((err as Error)?.message ?? err).slice(0, 300)}`);
      }
    }
  }
  const out = {} as Record<S, SideRounds>;
  for (const s of sides) {
    const g = got.get(s)!;
    out[s] = { figures: Object.fromEntries(Object.entries(g.values).map(([k, v]) => [k, summary(v)])), failed: g.failed };
  }
  return out;
}
