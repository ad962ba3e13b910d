/**
 * When the swarm's network key (the WireGuard preshared key of encrypted overlays)
 * changes, free of I/O. Docker rotates its overlay keys every 12 h; here a key also
 * rotates as soon as a node it was given to leaves the swarm, so a removed node holds
 * no key that still opens traffic. A node that joins gets the current key (no rotation).
 */
import type { NetworkKeyRecord } from '../../store/index.ts';

export type { NetworkKeyRecord };

/** Docker's rotation period of overlay keys: 12 h. */
export const DEFAULT_ROTATE_MS = 12 * 3600_000;

/** What the controller does next. */
export type KeyAction =
  | { kind: 'rotate'; reason: 'initial' | 'period' | 'node-removed'; nodes: string[] }
  | { kind: 'track'; nodes: string[]; dueAt: number }
  | { kind: 'none'; dueAt: number };

/**
 * The next step for `current` given the nodes now in the store (`needed`: the swarm has an
 * encrypted network; default true; while false nothing is written, so a swarm without one
 * never sees its cluster object change for a key): a first key, a rotation
 * (period over, or a node that held it is gone; `nodes` is who gets the new one), only
 * recording nodes that joined, or nothing until `dueAt`.
 */
export function nextKeyAction(current: NetworkKeyRecord | undefined, input: { now: number; nodes: readonly string[]; rotateMs?: number; needed?: boolean }): KeyAction {
  const nodes = [...new Set(input.nodes)].sort();
  if (input.needed === false) return { kind: 'none', dueAt: Infinity };
  if (!current) return { kind: 'rotate', reason: 'initial', nodes };
  const rotateMs = input.rotateMs ?? DEFAULT_ROTATE_MS;
  if (!(rotateMs > 0)) throw new Error(`netkeys: assertion failed: rotation period ${rotateMs} ms`);
  const now = new Set(nodes);
  if (current.Nodes.some((id) => !now.has(id))) return { kind: 'rotate', reason: 'node-removed', nodes };
  const dueAt = current.CreatedAt + rotateMs;
  // A clock that went back more than a period also rotates: the key's age is unknown.
  if (input.now >= dueAt || input.now < current.CreatedAt - rotateMs) return { kind: 'rotate', reason: 'period', nodes };
  const known = new Set(current.Nodes);
  if (nodes.some((id) => !known.has(id))) return { kind: 'track', nodes, dueAt };
  return { kind: 'none', dueAt };
}

/** The record that replaces `current` after `action` (`key`: a new key for a rotation). */
export function applyKeyAction(current: NetworkKeyRecord | undefined, action: KeyAction, opts: { now: number; key: string }): NetworkKeyRecord | undefined {
  if (action.kind === 'rotate') return { Key: opts.key, Generation: (current?.Generation ?? 0) + 1, CreatedAt: opts.now, Nodes: action.nodes };
  if (action.kind === 'track' && current) return { ...current, Nodes: action.nodes };
  return current;
}
