/**
 * Milliseconds on a clock that never steps (`performance.now()`: CLOCK_MONOTONIC since
 * this process started). Use it for intervals and deadlines — heartbeat silence, grace
 * periods — never `Date.now()`: an NTP step or a VM resume moves the wall clock, and a
 * leader whose wall clock stepped back a minute waited a minute longer to see a dead node
 * (found by the chaos harness's clock jumps). Values are comparable within one process only.
 */
export function monotonicMs(): number {
  return performance.now();
}
