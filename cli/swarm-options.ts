/**
 * Flag values of the `shoal swarm …` and `shoal node …` commands, parsed as docker
 * parses them: Go durations (`2160h0m0s`, `5s`, `1h30m`) turned into the nanoseconds
 * the API takes, node availability, `key=value` labels and list filters. Each parser
 * throws a plain `Error` with docker's wording, so a bad value changes nothing.
 */
import { Flags } from '@oclif/core';
import type { NodeAvailability, SwarmSpec } from '../src/api/types/swarm.ts';

const UNIT_NS: Record<string, number> = {
  ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9,
};

/**
 * Parses a Go duration (`time.ParseDuration`): an optional sign, then one or more
 * decimal numbers each with a unit (ns, us, µs, ms, s, m, h); `0` alone is allowed.
 * Returns nanoseconds, rounded to an integer. Throws `time: invalid duration "…"`
 * (or docker's missing / unknown unit messages) on anything else.
 */
export function parseGoDuration(input: string): number {
  const quoted = `"${input}"`;
  let s = input;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s[0] === '-' ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`time: invalid duration ${quoted}`);
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(\.\d*)?/.exec(s)!;
    if (num[0] === '' || num[0] === '.') throw new Error(`time: invalid duration ${quoted}`);
    s = s.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === '') throw new Error(`time: missing unit in duration ${quoted}`);
    if (!(unit in UNIT_NS)) throw new Error(`time: unknown unit "${unit}" in duration ${quoted}`);
    s = s.slice(unit.length);
    total += Number(num[0]) * UNIT_NS[unit];
  }
  if (!Number.isFinite(total)) throw new Error(`time: invalid duration ${quoted}`);
  return sign * Math.round(total);
}

/** An oclif flag holding a Go duration, parsed to nanoseconds. */
export function durationFlag(summary: string) {
  return Flags.custom<number>({ summary, helpValue: 'DURATION', parse: async (input) => parseGoDuration(input) })();
}

/** Node availability as `swarm init` / `swarm join` accept it (any case). */
export function parseAvailability(value: string): NodeAvailability {
  const v = value.toLowerCase();
  if (v === 'active' || v === 'pause' || v === 'drain') return v;
  throw new Error(`invalid availability "${value}", only active, pause and drain are supported`);
}

/** `k=v` strings to a map, as docker's ConvertKVStringsToMap: `k` alone maps to "". */
export function labelsToMap(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i === 0) throw new Error(`invalid label "${p}": the key must not be empty`);
    if (i < 0) out[p] = '';
    else out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** The filter keys `GET /nodes` understands (docker's node list filters). */
export const NODE_FILTER_KEYS = ['id', 'label', 'membership', 'name', 'node.label', 'role'];

/**
 * `--filter k=v` values to the `filters` query parameter docker sends
 * (`{"role":{"manager":true}}`); undefined when there are none. Throws on a value
 * without `=` or an unknown key.
 */
export function nodeFilters(values: string[] | undefined): string | undefined {
  if (!values?.length) return undefined;
  const filters: Record<string, Record<string, boolean>> = {};
  for (const f of values) {
    const i = f.indexOf('=');
    if (i <= 0) throw new Error('bad format of filter (expected name=value)');
    const key = f.slice(0, i).trim().toLowerCase();
    if (!NODE_FILTER_KEYS.includes(key)) throw new Error(`invalid filter '${key}'`);
    (filters[key] ??= {})[f.slice(i + 1)] = true;
  }
  return JSON.stringify(filters);
}

/** The spec flags `swarm init` and `swarm update` share (docker's addSwarmFlags); none has a default, so an absent flag leaves the spec alone. */
export const swarmSpecFlags = {
  'cert-expiry': durationFlag('Validity period for node certificates (ns|us|ms|s|m|h) (default 2160h0m0s).'),
  'dispatcher-heartbeat': durationFlag('Dispatcher heartbeat period (ns|us|ms|s|m|h) (default 1s).'),
  'task-history-limit': Flags.integer({ summary: 'Task history retention limit (default 5).' }),
  'snapshot-interval': Flags.integer({ summary: 'Number of log entries between Raft snapshots (default 10000).', min: 1 }),
  'max-snapshots': Flags.integer({ summary: 'Number of additional Raft snapshots to retain (default 0).', min: 0 }),
};

/** Values of `swarmSpecFlags` as parsed by oclif. */
export interface SwarmSpecFlagValues {
  'cert-expiry'?: number;
  'dispatcher-heartbeat'?: number;
  'task-history-limit'?: number;
  'snapshot-interval'?: number;
  'max-snapshots'?: number;
}

/** True when at least one spec flag was given. */
export function hasSpecFlags(f: SwarmSpecFlagValues): boolean {
  return Object.keys(swarmSpecFlags).some((k) => f[k as keyof SwarmSpecFlagValues] !== undefined);
}

/**
 * Writes the given spec flags into `spec` (a whole spec read from `GET /swarm`, or a
 * partial one for `swarm init`) and returns it; flags not given leave their field alone.
 */
export function applySpecFlags<S extends Partial<SwarmSpec>>(spec: S, f: SwarmSpecFlagValues): S {
  if (f['cert-expiry'] !== undefined) spec.CAConfig = { ...spec.CAConfig!, NodeCertExpiry: f['cert-expiry'] };
  if (f['dispatcher-heartbeat'] !== undefined) spec.Dispatcher = { ...spec.Dispatcher, HeartbeatPeriod: f['dispatcher-heartbeat'] };
  if (f['task-history-limit'] !== undefined) spec.Orchestration = { ...spec.Orchestration, TaskHistoryRetentionLimit: f['task-history-limit'] };
  if (f['snapshot-interval'] !== undefined) spec.Raft = { ...spec.Raft!, SnapshotInterval: f['snapshot-interval'] };
  if (f['max-snapshots'] !== undefined) spec.Raft = { ...spec.Raft!, KeepOldSnapshots: f['max-snapshots'] };
  return spec;
}
