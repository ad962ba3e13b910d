// The chaos history: every client call and every nemesis step, one JSON line each,
// appended as it ends (so a crash of the harness still leaves what happened). The first
// line holds the seed and options so a failing run can be replayed.
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ApiError } from '../../src/api/errors.ts';
import type { ServiceSpec } from '../../src/api/types/service.ts';

/** How a call ended: 2xx, a clear 4xx refusal, or anything else (timeout, 5xx, no connection). */
export type Outcome = 'acknowledged' | 'refused' | 'unknown';

/** Kinds of objects the workload writes. */
export type ObjectKind = 'service' | 'network' | 'secret' | 'config' | 'node';

/** What a service write sets (compared with the store after heal). */
export interface ServiceValue {
  /** Replicas of a replicated service; 0 for a global one. */
  replicas: number;
  image: string;
  env: string;
  /** A global service (one task per eligible node); absent for replicated ones. */
  global?: true;
}

/** The {@link ServiceValue} a service spec holds (its `V=` env entry, '' when none). */
export function serviceValue(spec: ServiceSpec): ServiceValue {
  const cs = spec.TaskTemplate.ContainerSpec!;
  return {
    replicas: spec.Mode?.Replicated?.Replicas ?? 0,
    image: cs.Image,
    env: (cs.Env ?? []).find((e) => e.startsWith('V='))?.slice(2) ?? '',
    ...(spec.Mode?.Global ? { global: true as const } : {}),
  };
}

/** What a node update sets: the value of its `chaos` label ('' for none). */
export interface NodeValue {
  label: string;
}

/** One client call. Times are ms since the run started. */
export interface OpEntry {
  type: 'op';
  client: number;
  op: 'create' | 'update' | 'rm';
  kind: ObjectKind;
  name: string;
  /** The manager host the call went to. */
  via: string;
  /** For service creates and updates, and node updates: the value written. */
  value?: ServiceValue | NodeValue;
  start: number;
  end: number;
  outcome: Outcome;
  status?: number;
  error?: string;
  /** False when the call never reached a write (the read before an update failed). */
  sent?: boolean;
}

/**
 * One nemesis step. `restart-failed`: one failed attempt to start a killed daemon again
 * (`host`, `attempt`, `failure` 'timeout' or 'exit'); `fault` is the fault being healed, or
 * 'down' when a daemon found down before a round is started again.
 */
export interface NemesisEntry {
  type: 'nemesis';
  action: 'inject' | 'heal' | 'restart-failed';
  fault: string;
  start: number;
  end: number;
  error?: string;
  host?: string;
  attempt?: number;
  failure?: 'timeout' | 'exit';
}

/** First line of the file. */
export interface HeaderEntry {
  type: 'header';
  seed: number;
  options: Record<string, unknown>;
  startedAt: string;
}

/** Anything else worth keeping (check results, resolutions). */
export interface NoteEntry {
  type: 'note';
  at: number;
  what: string;
  data?: unknown;
}

export type Entry = HeaderEntry | OpEntry | NemesisEntry | NoteEntry;

/** Classifies an error of an API call: a 4xx is a clear refusal, anything else unknown. */
export function classify(err: unknown): { outcome: Outcome; status?: number; error: string } {
  const error = (err as Error)?.message ?? String(err);
  if (err instanceof ApiError) {
    const refused = err.status >= 400 && err.status < 500 && err.status !== 408;
    return { outcome: refused ? 'refused' : 'unknown', status: err.status, error };
  }
  // No daemon listening: the request was never sent, so nothing can have been done.
  const code = ((err as { cause?: { code?: string } })?.cause?.code) ?? (err as { code?: string })?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOENT') return { outcome: 'refused', error };
  return { outcome: 'unknown', error };
}

/** An append-only JSONL history file. */
export class History {
  readonly entries: Entry[] = [];
  private readonly t0 = Date.now();

  constructor(readonly file: string, seed: number, options: Record<string, unknown>) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
    this.add({ type: 'header', seed, options, startedAt: new Date(this.t0).toISOString() });
  }

  /** Milliseconds since the run started. */
  now(): number {
    return Date.now() - this.t0;
  }

  /** Appends an entry to memory and to the file. */
  add(e: Entry): void {
    this.entries.push(e);
    appendFileSync(this.file, JSON.stringify(e) + '\n');
  }

  /** Records a note at the current time. */
  note(what: string, data?: unknown): void {
    this.add({ type: 'note', at: this.now(), what, ...(data === undefined ? {} : { data }) });
  }

  /** The client calls recorded so far. */
  ops(): OpEntry[] {
    return this.entries.filter((e): e is OpEntry => e.type === 'op');
  }
}

/** Reads a history file back (for replays and offline checks). */
export function readHistory(file: string): Entry[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Entry);
}
