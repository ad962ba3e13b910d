/**
 * Health checks, Docker's rules: a probe runs every `interval` inside the container
 * (`runc exec`), a probe that exceeds `timeout` fails, `retries` consecutive
 * failures make the task unhealthy, one success makes it healthy, and failures
 * inside `startPeriod` do not count while it is still starting.
 * `HealthState` is the pure rule; `HealthMonitor` drives it with a clock and a probe.
 */
import { EventEmitter } from 'node:events';
import type { HealthCheck } from './types.ts';

/** Docker's health states. */
export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** One probe's outcome. */
export interface ProbeResult { exitCode: number; output: string; start: number; end: number }

/** Source of time and timers (same shape as raft-ts's Clock). */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): () => void;
}

/** The real clock (timers unref'd). */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) { const t = setTimeout(fn, ms); t.unref?.(); return () => clearTimeout(t); },
};

/** Check settings with Docker's defaults filled in. */
export function healthDefaults(h: HealthCheck): Required<HealthCheck> {
  return {
    test: h.test, intervalMs: h.intervalMs || 30_000, timeoutMs: h.timeoutMs || 30_000,
    retries: h.retries || 3, startPeriodMs: h.startPeriodMs ?? 0,
  };
}

/** The argv a probe runs: `CMD a b` → [a, b]; `CMD-SHELL s` → [/bin/sh, -c, s]; `NONE`/empty → undefined. */
export function probeArgv(test: string[]): string[] | undefined {
  if (!test.length || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD') return test.slice(1);
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')];
  return test;
}

/** The pure health rule. `record` returns the new status. */
export class HealthState {
  status: HealthStatus = 'starting';
  failingStreak = 0;
  /** The last five probes, newest last (Docker keeps five). */
  readonly log: ProbeResult[] = [];

  constructor(private readonly cfg: Required<HealthCheck>, private readonly startedAt: number) {}

  record(r: ProbeResult): HealthStatus {
    this.log.push(r);
    if (this.log.length > 5) this.log.shift();
    if (r.exitCode === 0) {
      this.failingStreak = 0;
      this.status = 'healthy';
    } else if (this.status === 'starting' && r.start < this.startedAt + this.cfg.startPeriodMs) {
      // inside the start period: not counted
    } else {
      this.failingStreak++;
      if (this.failingStreak >= this.cfg.retries) this.status = 'unhealthy';
    }
    return this.status;
  }
}

/** Runs the probe; resolves with exit code and output (exit code -1 on timeout). */
export type Probe = (argv: string[], timeoutMs: number) => Promise<{ exitCode: number; output: string }>;

/** Drives a HealthState: events `status` (HealthStatus) on every change. */
export class HealthMonitor extends EventEmitter {
  readonly state: HealthState;
  private readonly cfg: Required<HealthCheck>;
  private cancel: (() => void) | undefined;
  private stopped = false;

  constructor(check: HealthCheck, private readonly probe: Probe, private readonly clock: Clock = realClock) {
    super();
    this.cfg = healthDefaults(check);
    this.state = new HealthState(this.cfg, clock.now());
  }

  /** Schedules the first probe one interval from now. */
  start(): void {
    if (!probeArgv(this.cfg.test)) return;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.cancel = this.clock.setTimer(this.cfg.intervalMs, () => void this.runOnce());
  }

  /** Runs one probe now and records it (tests call it directly). */
  async runOnce(): Promise<HealthStatus> {
    const argv = probeArgv(this.cfg.test)!;
    const start = this.clock.now();
    let r: { exitCode: number; output: string };
    try { r = await this.probe(argv, this.cfg.timeoutMs); } catch (e) { r = { exitCode: -1, output: String(e) }; }
    if (this.stopped) return this.state.status;
    const before = this.state.status;
    const after = this.state.record({ ...r, start, end: this.clock.now() });
    if (after !== before) this.emit('status', after);
    this.schedule();
    return after;
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }
}
