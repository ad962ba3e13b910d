/**
 * Placement constraints (`node.labels.zone==east`), parsed and matched as Docker does
 * (SwarmKit `manager/constraint`): one operator per expression (`==` or `!=`), keys and
 * values from a fixed alphabet, values compared without regard to case, label names
 * with it. An unknown key parses but never matches, as in Docker.
 */
import type { Node } from '../types/node.ts';

/** One parsed expression. `op` is `==` or `!=`; `key` keeps the spelling the user gave. */
export interface Constraint {
  key: string;
  op: '==' | '!=';
  value: string;
}

/** Thrown by {@link parseConstraints}; the message is Docker's. */
export class ConstraintSyntaxError extends Error {
  override name = 'ConstraintSyntaxError';
}

const OPERATORS = ['==', '!='] as const;
const KEY = /^[a-z_][a-z0-9\-_.]+$/i;
// Docker's value alphabet: no operator characters (`<`, `>`, `~`, `=`, `!`).
const VALUE = /^[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$/i;

export const NODE_LABEL_PREFIX = 'node.labels.';
export const ENGINE_LABEL_PREFIX = 'engine.labels.';

/**
 * Parses constraint expressions. Throws {@link ConstraintSyntaxError} with Docker's
 * message (`key 'x y' is invalid`, `value '>3' is invalid`,
 * `constraint expected one operator from ==, !=`) on the first bad one.
 */
export function parseConstraints(exprs: readonly string[]): Constraint[] {
  const out: Constraint[] = [];
  for (const e of exprs) {
    const op = OPERATORS.find((o) => e.includes(o));
    if (!op) throw new ConstraintSyntaxError(`constraint expected one operator from ${OPERATORS.join(', ')}`);
    const at = e.indexOf(op);
    const key = e.slice(0, at).trim();
    const value = e.slice(at + op.length).trim();
    if (!KEY.test(key)) throw new ConstraintSyntaxError(`key '${key}' is invalid`);
    if (!VALUE.test(value)) throw new ConstraintSyntaxError(`value '${value}' is invalid`);
    out.push({ key, op, value });
  }
  return out;
}

function matches(c: Constraint, actual: string | undefined): boolean {
  const equal = (actual ?? '').toLowerCase() === c.value.toLowerCase();
  return c.op === '==' ? equal : !equal;
}

function hasPrefix(key: string, prefix: string): boolean {
  return key.length > prefix.length && key.slice(0, prefix.length).toLowerCase() === prefix;
}

/** Normalises the architecture names Docker treats as one (`x86_64` is `amd64`). */
function arch(a: string | undefined): string | undefined {
  if (a === 'x86_64') return 'amd64';
  if (a === 'aarch64') return 'arm64';
  return a;
}

/** Whether `node` satisfies every constraint. A missing attribute compares as `""`. */
export function nodeMatches(constraints: readonly Constraint[], node: Node): boolean {
  for (const c of constraints) {
    const key = c.key.toLowerCase();
    let ok: boolean;
    if (key === 'node.id') ok = matches(c, node.ID);
    else if (key === 'node.hostname') ok = matches(c, node.Description?.Hostname);
    else if (key === 'node.role') ok = matches(c, node.Spec?.Role);
    else if (key === 'node.ip') ok = matches(c, node.Status?.Addr);
    else if (key === 'node.platform.os') ok = matches(c, node.Description?.Platform?.OS);
    else if (key === 'node.platform.arch') {
      ok = matches({ ...c, value: arch(c.value.toLowerCase())! }, arch(node.Description?.Platform?.Architecture?.toLowerCase()));
    } else if (hasPrefix(c.key, NODE_LABEL_PREFIX)) ok = matches(c, node.Spec?.Labels?.[c.key.slice(NODE_LABEL_PREFIX.length)]);
    else if (hasPrefix(c.key, ENGINE_LABEL_PREFIX)) {
      ok = matches(c, node.Description?.Engine?.Labels?.[c.key.slice(ENGINE_LABEL_PREFIX.length)]);
    } else ok = false;
    if (!ok) return false;
  }
  return true;
}
