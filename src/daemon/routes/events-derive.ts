/**
 * Docker's swarm events from store events, and the `/events` query (filters, since,
 * until). Pure: time comes in as a value.
 *
 * Shapes follow Docker's `daemon/cluster` event logging: `Type` (service, node, secret,
 * config, network), `Action` create/update/remove, `Actor.ID`, `Actor.Attributes` with
 * `name` and, for updates, what changed (`image.old/new`, `replicas.old/new`,
 * `updatestate.old/new` for services; `state`, `availability`, `role` for nodes),
 * `scope: "swarm"`. Secrets and configs carry their name only, never data or labels.
 * Container events (`start`, `die`) of this node's tasks come from their status changes.
 */
import { InvalidArgumentError } from '../../api/errors.ts';
import type { Service } from '../../api/types/service.ts';
import type { Node } from '../../api/types/node.ts';
import type { Task } from '../../api/types/task.ts';
import type { ObjectEvent } from '../../store/watch.ts';
import { moveEventAttributes } from '../../manager/orchestrator/rebalance.ts';

/** One event as `GET /events` sends it (one JSON object per line). */
export interface DockerEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'swarm' | 'local';
  /** Seconds since the epoch. */
  time: number;
  /** Nanoseconds since the epoch. */
  timeNano: number;
}

/** The event types `GET /events` serves (`container`: this node's task containers, start and die). */
export type EventType = 'service' | 'node' | 'secret' | 'config' | 'network' | 'container';
const EVENT_TYPES: readonly string[] = ['service', 'node', 'secret', 'config', 'network', 'container'];

/** A derived event with what the filters need but the wire must not show (labels). */
export interface RetainedEvent {
  event: DockerEvent;
  /** The object's labels, for the `label` filter only; never sent. */
  labels: Record<string, string>;
}

const ACTIONS = { created: 'create', updated: 'update', deleted: 'remove' } as const;

/** Task states after which a container that ran has stopped. */
const STOPPED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

/**
 * The container event of a task status change on `localNodeId` (local scope, as Docker's
 * engine reports its own containers): `start` when it begins running, `die` (with
 * `exitCode`) when a running one stops. Attributes: `name` (`svc.slot.taskid`), `image`,
 * and the task's swarm labels.
 */
export function deriveContainerEvent(e: ObjectEvent, nowMs: number, localNodeId: string | undefined): RetainedEvent | undefined {
  if (e.kind !== 'task.updated' || !localNodeId) return undefined;
  const t = e.object as Task;
  const old = e.old as Task;
  const cid = t.Status?.ContainerStatus?.ContainerID;
  if (t.NodeID !== localNodeId || !cid) return undefined;
  let action: string | undefined;
  if (t.Status.State === 'running' && old.Status?.State !== 'running') action = 'start';
  else if (old.Status?.State === 'running' && STOPPED.has(t.Status.State)) action = 'die';
  if (!action) return undefined;
  const svcName = t.ServiceAnnotations?.Name ?? t.ServiceID;
  const name = `${svcName}.${t.Slot || t.NodeID}.${t.ID}`;
  const labels: Record<string, string> = {
    ...(t.Spec.ContainerSpec?.Labels ?? {}),
    'com.docker.swarm.node.id': t.NodeID ?? '', 'com.docker.swarm.service.id': t.ServiceID, 'com.docker.swarm.service.name': svcName,
    'com.docker.swarm.task': '', 'com.docker.swarm.task.id': t.ID, 'com.docker.swarm.task.name': name,
  };
  const attrs: Record<string, string> = { ...labels, image: t.Spec.ContainerSpec?.Image ?? '', name };
  if (action === 'die') attrs.exitCode = String(t.Status.ContainerStatus?.ExitCode ?? 0);
  const ms = Math.floor(nowMs);
  return {
    event: { Type: 'container', Action: action, Actor: { ID: cid, Attributes: attrs }, scope: 'local', time: Math.floor(ms / 1000), timeNano: ms * 1_000_000 },
    labels,
  };
}

/** The Docker event of one store event at `nowMs`, or undefined for kinds Docker has no events for (tasks, cluster). */
export function deriveEvent(e: ObjectEvent, nowMs: number): RetainedEvent | undefined {
  // A task the rebalancer made to move another one: a `rebalance` event of its service, with the reason.
  const move = e.kind === 'task.created' ? moveEventAttributes(e.object as Task) : undefined;
  if (move) {
    const t = e.object as Task;
    const at = Math.floor(nowMs);
    return {
      event: { Type: 'service', Action: 'rebalance', Actor: { ID: t.ServiceID, Attributes: move }, scope: 'swarm', time: Math.floor(at / 1000), timeNano: at * 1_000_000 },
      labels: { ...(t.ServiceAnnotations?.Labels ?? {}) },
    };
  }
  const dot = e.kind.indexOf('.');
  const kind = e.kind.slice(0, dot);
  const action = ACTIONS[e.kind.slice(dot + 1) as keyof typeof ACTIONS];
  if (!action) return undefined;
  const old = 'old' in e ? e.old : undefined;
  let attrs: Record<string, string>;
  let labels: Record<string, string> | undefined;
  switch (kind) {
    case 'service': {
      const s = e.object as Service;
      attrs = { name: s.Spec.Name ?? '' };
      if (old) Object.assign(attrs, serviceChanges(s, old as Service));
      labels = s.Spec.Labels;
      break;
    }
    case 'node': {
      const n = e.object as Node;
      attrs = { name: n.Description?.Hostname ?? '' };
      if (old) Object.assign(attrs, nodeChanges(n, old as Node));
      labels = n.Spec.Labels;
      break;
    }
    case 'network':
    case 'secret':
    case 'config': {
      // The allocator's writes (addresses, VXLAN IDs) are not a change the user made.
      if (kind === 'network' && old && JSON.stringify((old as { Spec: unknown }).Spec) === JSON.stringify((e.object as { Spec: unknown }).Spec)) return undefined;
      // Only the name: a secret's or config's data never leaves the store in an event.
      const o = e.object as { ID: string; Spec: { Name?: string; Labels?: Record<string, string> } };
      attrs = { name: o.Spec.Name ?? '' };
      labels = o.Spec.Labels;
      break;
    }
    default:
      return undefined;
  }
  const ms = Math.floor(nowMs);
  return {
    event: {
      Type: kind as EventType, Action: action, Actor: { ID: (e.object as { ID: string }).ID, Attributes: attrs },
      scope: 'swarm', time: Math.floor(ms / 1000), timeNano: ms * 1_000_000,
    },
    labels: { ...(labels ?? {}) },
  };
}

function serviceChanges(s: Service, old: Service): Record<string, string> {
  const out: Record<string, string> = {};
  const img = s.Spec.TaskTemplate?.ContainerSpec?.Image ?? '';
  const oldImg = old.Spec.TaskTemplate?.ContainerSpec?.Image ?? '';
  if (img !== oldImg) {
    out['image.old'] = oldImg;
    out['image.new'] = img;
  }
  const reps = s.Spec.Mode?.Replicated?.Replicas;
  const oldReps = old.Spec.Mode?.Replicated?.Replicas;
  if (reps !== undefined && oldReps !== undefined && reps !== oldReps) {
    out['replicas.old'] = String(oldReps);
    out['replicas.new'] = String(reps);
  }
  // The autoscaler's change carries its reason (Shoal extension attribute).
  if (s.ShoalAutoscale && s.ShoalAutoscale.At !== old.ShoalAutoscale?.At) out['autoscale.reason'] = s.ShoalAutoscale.Reason;
  const st = s.UpdateStatus?.State;
  const oldSt = old.UpdateStatus?.State;
  if (st && st !== oldSt) {
    if (oldSt) out['updatestate.old'] = oldSt;
    out['updatestate.new'] = st;
  }
  return out;
}

function nodeChanges(n: Node, old: Node): Record<string, string> {
  const out: Record<string, string> = {};
  const pairs: [string, string | undefined, string | undefined][] = [
    ['state', n.Status?.State, old.Status?.State],
    ['availability', n.Spec.Availability, old.Spec.Availability],
    ['role', n.Spec.Role, old.Spec.Role],
  ];
  for (const [k, v, o] of pairs) {
    if (v !== o) {
      out[`${k}.old`] = o ?? '';
      out[`${k}.new`] = v ?? '';
    }
  }
  return out;
}

/** The filters `GET /events` understands, parsed. */
export interface EventFilters {
  type?: string[];
  event?: string[];
  scope?: string[];
  label?: string[];
  /** Per type: Actor IDs or names (`service=web`, `node=ID`, …). */
  actors: Partial<Record<EventType, string[]>>;
}

/** Filter keys Docker has that Shoal cannot match yet (no such events): refused, not ignored. */
const UNSUPPORTED_KEYS = new Set(['image', 'volume', 'plugin', 'daemon']);
const ACTOR_KEYS: readonly string[] = ['service', 'node', 'secret', 'config', 'network', 'container'];

/** Checks and types the filters (`key → values`); throws 400 naming an unknown key or value. */
export function parseEventFilters(raw: Map<string, string[]>): EventFilters {
  const out: EventFilters = { actors: {} };
  for (const [k, values] of raw) {
    if (k === 'type') {
      const bad = values.find((v) => !EVENT_TYPES.includes(v));
      if (bad !== undefined) throw new InvalidArgumentError(`events: unsupported type filter '${bad}' (shoal serves ${EVENT_TYPES.join(', ')})`);
      out.type = values;
    } else if (k === 'scope') {
      const bad = values.find((v) => v !== 'swarm' && v !== 'local');
      if (bad !== undefined) throw new InvalidArgumentError(`Invalid filter 'scope=${bad}'`);
      out.scope = values;
    } else if (k === 'event' || k === 'label') {
      out[k] = values;
    } else if (ACTOR_KEYS.includes(k)) {
      out.actors[k as EventType] = values;
    } else if (UNSUPPORTED_KEYS.has(k)) {
      throw new InvalidArgumentError(`events: filter '${k}' is not supported by shoal (it emits no ${k} events)`);
    } else {
      throw new InvalidArgumentError(`Invalid filter '${k}'`);
    }
  }
  return out;
}

/** Whether `labels` has every `key` or `key=value`. */
function hasLabels(labels: Record<string, string>, wanted: string[]): boolean {
  return wanted.every((l) => {
    const i = l.indexOf('=');
    const k = i < 0 ? l : l.slice(0, i);
    return k in labels && (i < 0 || labels[k] === l.slice(i + 1));
  });
}

/** Docker's matching: values of one key are OR-ed, keys are AND-ed; actor keys as a group are OR-ed. */
export function matchEvent(r: RetainedEvent, f: EventFilters): boolean {
  const e = r.event;
  if (f.type && !f.type.includes(e.Type)) return false;
  if (f.event && !f.event.includes(e.Action)) return false;
  if (f.scope && !f.scope.includes(e.scope)) return false;
  if (f.label && !hasLabels(r.labels, f.label)) return false;
  const keys = Object.keys(f.actors) as EventType[];
  if (keys.length > 0) {
    const refs = f.actors[e.Type];
    if (!refs || !refs.some((x) => x === e.Actor.ID || x === e.Actor.Attributes.name)) return false;
  }
  return true;
}

/**
 * A `since`/`until` value in ms: Docker's `SECONDS[.NANOS]` (what the docker CLI sends),
 * or an RFC 3339 date. Throws 400 otherwise.
 */
export function parseEventTime(name: string, v: string): number {
  const m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(v);
  if (m) return Number(m[1]) * 1000 + (m[2] ? Math.floor(Number(m[2].padEnd(9, '0')) / 1e6) : 0);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid ${name} value ${JSON.stringify(v)}: want seconds since the epoch or an RFC 3339 date`);
  return t;
}

/** The time of an event in ms (from `timeNano`). */
export function eventMs(e: DockerEvent): number {
  return Math.floor(e.timeNano / 1_000_000);
}
