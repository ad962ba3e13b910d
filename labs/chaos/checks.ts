// The chaos checks, pure: the history of client calls against the store read after heal
// (nothing acknowledged lost or doubled, nothing refused present, unknowns resolved), the
// managers' stores against each other (a digest per table), and the containers runc runs
// against the desired state (one per replicated slot).
import { createHash } from 'node:crypto';
import type { NodeValue, ObjectKind, OpEntry, ServiceValue } from './history.ts';

/** The workload's objects in one manager's store, by kind and name (a name may repeat: a bug). */
export interface StoreObjects {
  service: Map<string, ServiceValue[]>;
  network: Map<string, number>;
  secret: Map<string, number>;
  config: Map<string, number>;
  /** Nodes by hostname (the workload only updates them). */
  node: Map<string, NodeValue[]>;
}

/** How an object whose create (or last rm) had an unknown outcome turned out. */
export interface Resolution {
  kind: ObjectKind;
  name: string;
  present: boolean;
}

/** Result of {@link checkHistory}. */
export interface HistoryCheck {
  violations: string[];
  resolved: Resolution[];
  /** Acknowledged creates / rms seen (for the report). */
  acknowledged: number;
}

type Presence = 'present' | 'absent' | 'maybe';

const key = (v: ServiceValue | NodeValue) => ('label' in v ? `label=${v.label}` : `${v.global ? 'global' : v.replicas}|${v.image}|${v.env}`);

function countOf(store: StoreObjects, kind: ObjectKind, name: string): number {
  if (kind === 'service' || kind === 'node') return store[kind].get(name)?.length ?? 0;
  return store[kind].get(name) ?? 0;
}

/**
 * Checks the client history against the healed store. Each name is written by one
 * sequential client, so its calls are totally ordered: walk them keeping what the store
 * must hold (present, absent, or either after an unknown outcome), and which service values
 * are allowed (the last acknowledged one and any unknown write after it).
 */
export function checkHistory(ops: OpEntry[], store: StoreObjects): HistoryCheck {
  const violations: string[] = [];
  const resolved: Resolution[] = [];
  let acknowledged = 0;
  const byName = new Map<string, OpEntry[]>();
  for (const o of ops) {
    const k = `${o.kind}/${o.name}`;
    byName.set(k, [...(byName.get(k) ?? []), o]);
  }
  for (const [k, list] of byName) {
    list.sort((a, b) => a.start - b.start);
    const { kind, name } = list[0];
    // Nodes exist from the start, without the workload's label.
    let state: Presence = kind === 'node' ? 'present' : 'absent';
    let allowed: (ServiceValue | NodeValue)[] = kind === 'node' ? [{ label: '' }] : [];
    let doubt = false;
    // A create of unknown outcome is pending: it may still take effect later (a proposal
    // forwarded or replicated before a partition commits after heal), until a call proves
    // it landed. A 404 meanwhile does not make the object absent for good.
    let pending = false;
    // Likewise an rm of unknown outcome: it may land after later acknowledged updates.
    let pendingRm = false;
    for (const o of list) {
      if (o.outcome === 'acknowledged') acknowledged++;
      const at = `${o.op} ${k} via ${o.via} at ${o.start}-${o.end} ms`;
      if (o.op === 'create') {
        if (o.outcome === 'acknowledged') { state = 'present'; allowed = o.value ? [o.value] : []; }
        if (o.outcome === 'unknown') { state = state === 'present' ? 'present' : 'maybe'; doubt = true; pending = true; if (o.value) allowed = [...allowed, o.value]; }
      } else if (o.op === 'rm') {
        if (o.outcome === 'acknowledged') { state = 'absent'; pending = false; pendingRm = false; }
        if (o.outcome === 'refused' && o.status === 404) {
          if (state === 'present' && !pendingRm) violations.push(`${at}: refused 404 though the object was acknowledged and not removed (lost write)`);
          state = pending ? 'maybe' : 'absent';
          pendingRm = false;
        }
        if (o.outcome === 'unknown' && state !== 'absent') { state = 'maybe'; doubt = true; pendingRm = true; }
      } else if (o.sent !== false) {
        if (o.outcome === 'acknowledged') {
          if (state === 'absent') violations.push(`${at}: acknowledged an update of an object that must be absent`);
          state = 'present';
          pending = false;
          allowed = o.value ? [o.value] : allowed;
        }
        if (o.outcome === 'refused' && o.status === 404 && state === 'present' && !pendingRm) {
          violations.push(`${at}: refused 404 though the object was acknowledged and not removed (lost write)`);
        }
        if (o.outcome === 'unknown' && o.value) allowed = [...allowed, o.value];
      }
    }
    if (pendingRm && state === 'present') state = 'maybe';
    const n = countOf(store, kind, name);
    if (n > 1) violations.push(`${k}: ${n} copies in the store (acknowledged writes must be there exactly once)`);
    if (state === 'present' && n === 0) violations.push(`${k}: acknowledged create lost (not in the store; last call ${describe(list.at(-1)!)})`);
    if (state === 'absent' && n > 0) violations.push(`${k}: in the store though ${whyAbsent(list)} (last call ${describe(list.at(-1)!)})`);
    if (state === 'maybe' || (doubt && n <= 1)) resolved.push({ kind, name, present: n > 0 });
    if ((kind === 'service' || kind === 'node') && n === 1 && allowed.length) {
      const got = store[kind].get(name)![0];
      if (!allowed.some((v) => key(v) === key(got))) {
        violations.push(`${k}: store holds ${key(got)}, but the history allows only ${allowed.map(key).join(' or ')}`);
      }
    }
  }
  return { violations, resolved, acknowledged };
}

/** Why the walk concluded an object must be absent: the last call that said so. */
function whyAbsent(list: OpEntry[]): string {
  const last = [...list].reverse().find((o) => o.op !== 'update' && o.outcome !== 'unknown');
  if (last?.op === 'rm') return last.outcome === 'acknowledged' ? 'an acknowledged rm removed it' : 'an rm was refused 404 (not found)';
  return 'its create was refused';
}

function describe(o: OpEntry): string {
  return `${o.op} ${o.outcome}${o.status ? ` ${o.status}` : ''} via ${o.via} at ${o.start} ms`;
}

/** One table row as compared between managers: ID, Spec and Version.Index. */
export interface Row {
  ID: string;
  Spec?: unknown;
  Version?: { Index?: number };
}

/** Sorts object keys recursively so equal values serialise the same way. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** SHA-256 of a table normalised to (ID, Spec, Version.Index), sorted by ID. */
export function tableDigest(rows: Row[]): string {
  const norm = rows.map((r) => ({ ID: r.ID, Spec: canonical(r.Spec ?? null), Index: r.Version?.Index ?? null })).sort((a, b) => a.ID.localeCompare(b.ID));
  return createHash('sha256').update(JSON.stringify(norm)).digest('hex');
}

/** A container runc runs, with the task and service its annotations name. */
export interface RuncContainer {
  host: string;
  id: string;
  service?: string;
  taskId?: string;
}

/**
 * Checks the containers against the desired state: each replicated service has exactly
 * `replicas` slots with one running container each, each global service one running
 * container on every host in `global.hosts` (the eligible nodes), and no container runs
 * for a service that is not wanted. `slotOf` maps task IDs to slots (from the API; a task
 * of a replicated service it does not know counts as a stray container).
 */
export function checkSlots(desired: Map<string, number>, containers: RuncContainer[], slotOf: Map<string, number>,
  global: { services: Set<string>; hosts: string[] } = { services: new Set(), hosts: [] }): string[] {
  const out: string[] = [];
  const perSlot = new Map<string, Map<number, RuncContainer[]>>();
  const perHost = new Map<string, Map<string, RuncContainer[]>>();
  for (const c of containers) {
    if (!c.service) continue; // not a service task (none are made by the workload)
    if (global.services.has(c.service)) {
      const hosts = perHost.get(c.service) ?? new Map<string, RuncContainer[]>();
      hosts.set(c.host, [...(hosts.get(c.host) ?? []), c]);
      perHost.set(c.service, hosts);
      continue;
    }
    if (!desired.has(c.service)) { out.push(`${c.service}: container ${c.id.slice(0, 12)} on ${c.host} runs, but the service is not in the store`); continue; }
    const slot = c.taskId ? slotOf.get(c.taskId) : undefined;
    if (slot === undefined) { out.push(`${c.service}: container ${c.id.slice(0, 12)} on ${c.host} runs for task ${c.taskId ?? '?'} the store does not know`); continue; }
    const slots = perSlot.get(c.service) ?? new Map<number, RuncContainer[]>();
    slots.set(slot, [...(slots.get(slot) ?? []), c]);
    perSlot.set(c.service, slots);
  }
  for (const [svc, replicas] of desired) {
    const slots = perSlot.get(svc) ?? new Map<number, RuncContainer[]>();
    for (const [slot, cs] of slots) {
      if (cs.length > 1) out.push(`${svc}: slot ${slot} has ${cs.length} running containers (${cs.map((c) => `${c.host}:${c.id.slice(0, 12)}`).join(', ')})`);
    }
    if (slots.size !== replicas) out.push(`${svc}: ${slots.size} slots running, want ${replicas}`);
  }
  for (const svc of global.services) {
    const hosts = perHost.get(svc) ?? new Map<string, RuncContainer[]>();
    for (const h of global.hosts) {
      const n = hosts.get(h)?.length ?? 0;
      if (n !== 1) out.push(`${svc} (global): ${n} running containers on ${h}, want 1`);
    }
    for (const h of hosts.keys()) if (!global.hosts.includes(h)) out.push(`${svc} (global): a container runs on ${h}, which is not eligible`);
  }
  return out;
}
