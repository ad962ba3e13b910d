/**
 * When a node renews its certificate: at a random point between 50% and 80% of the
 * validity period (SwarmKit `calculateRandomExpiry`), so a cluster's nodes do not all
 * renew at once. Pure: the random fraction is drawn once per certificate by the caller.
 */

/** Validity bounds of a certificate, epoch ms. */
export interface Validity {
  notBefore: number;
  notAfter: number;
}

/** Lower and upper bounds of the renewal point, as fractions of the validity. */
export const RENEW_LOWER = 0.5;
export const RENEW_UPPER = 0.8;

/**
 * The time (epoch ms) to renew at: `notBefore + (0.5 + 0.3·rand) · validity`.
 * `rand` is a fraction in [0, 1) drawn once for this certificate.
 */
export function renewalTime(v: Validity, rand: number): number {
  if (!(rand >= 0 && rand < 1)) throw new Error('ca: rand must be a fraction in [0, 1)');
  const span = v.notAfter - v.notBefore;
  return v.notBefore + span * (RENEW_LOWER + (RENEW_UPPER - RENEW_LOWER) * rand);
}

/**
 * Whether a certificate should be renewed at `now`: once its renewal time (see
 * `renewalTime`) has come, and always when expired or malformed (notAfter ≤ notBefore).
 */
export function shouldRenew(v: Validity, opts: { now: number; rand: number }): boolean {
  if (v.notAfter <= v.notBefore || opts.now >= v.notAfter) return true;
  return opts.now >= renewalTime(v, opts.rand);
}

/** Milliseconds from `now` until renewal is due (0 when due already); for a `Clock` timer. */
export function renewalDelay(v: Validity, opts: { now: number; rand: number }): number {
  if (shouldRenew(v, opts)) return 0;
  return Math.max(0, renewalTime(v, opts.rand) - opts.now);
}
