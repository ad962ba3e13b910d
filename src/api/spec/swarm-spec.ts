/**
 * Checks of the swarm and node request bodies (`swarm init`, `swarm join`, `swarm
 * update`, `node update`) before anything is stored: JSON types and fields Shoal does
 * not implement (`shape.ts`, `unsupported.ts`), then the bounds of the values Shoal
 * does use. Pure; throws the API's errors (400, or 501 for a field not implemented).
 */
import { ApiError, InvalidArgumentError } from '../errors.ts';
import { checkRebalanceLabel } from './rebalance-policy.ts';
import type { SwarmSpec } from '../types/swarm.ts';
import { checkShape, normalizeNulls } from './shape.ts';
import { type BodyKind, UNSUPPORTED_QUERY, refusalReason } from './unsupported.ts';
import { MAX_DURATION_NS } from './validate.ts';

/** One hour, the shortest node certificate lifetime Docker accepts (ns). */
export const MIN_CERT_EXPIRY_NS = 3600e9;
/** Ten years (ns): node certificates longer than this are refused. */
export const MAX_CERT_EXPIRY_NS = 10 * 365 * 24 * 3600e9;
/** Tasks kept per slot: more is memory on every manager with no use. */
export const MAX_TASK_HISTORY = 10_000;

const LABELS: Record<BodyKind, string> = {
  ServiceSpec: 'ServiceSpec',
  SwarmSpec: 'swarm spec',
  SwarmInitRequest: 'swarm init request',
  SwarmJoinRequest: 'swarm join request',
  NodeSpec: 'node spec',
};

function fail(kind: BodyKind, field: string, reason: string, status: 400 | 501 = 400): never {
  const message = `invalid ${LABELS[kind]}: ${field}: ${reason}`;
  throw status === 501 ? new ApiError(message, 501) : new InvalidArgumentError(message);
}

function checkSpecValues(kind: BodyKind, spec: Partial<SwarmSpec> | undefined, prefix: string): void {
  if (!spec) return;
  const hb = spec.Dispatcher?.HeartbeatPeriod;
  if (hb !== undefined && (hb < 0 || hb > MAX_DURATION_NS)) fail(kind, `${prefix}Dispatcher.HeartbeatPeriod`, `must be between 0 and 576h0m0s (got ${hb}ns)`);
  const exp = spec.CAConfig?.NodeCertExpiry;
  if (exp !== undefined && exp !== 0 && exp < MIN_CERT_EXPIRY_NS) fail(kind, `${prefix}CAConfig.NodeCertExpiry`, 'minimum certificate expiry time is 1h0m0s');
  if (exp !== undefined && (exp < 0 || exp > MAX_CERT_EXPIRY_NS)) fail(kind, `${prefix}CAConfig.NodeCertExpiry`, `must be at most 87600h0m0s (10 years; got ${exp}ns)`);
  const rebalance = checkRebalanceLabel(spec.Labels);
  if (rebalance) fail(kind, `${prefix}Labels`, rebalance);
  const keep = spec.Orchestration?.TaskHistoryRetentionLimit;
  if (keep !== undefined && (keep < -1 || keep > MAX_TASK_HISTORY)) fail(kind, `${prefix}Orchestration.TaskHistoryRetentionLimit`, `must be between -1 and ${MAX_TASK_HISTORY} (got ${keep})`);
}

/**
 * `body` checked as a `kind` and returned without its null fields. For `swarm update`
 * pass the stored spec as `current`: a field Shoal does not implement may keep the value
 * it has (docker sends back the whole spec it read). Throws 400/501 naming the field.
 */
export function checkSwarmBody<T>(kind: Exclude<BodyKind, 'ServiceSpec'>, body: unknown, current?: unknown): T {
  const problem = checkShape(kind, body, { current });
  if (problem) fail(kind, problem.field, problem.reason, problem.status);
  const out = normalizeNulls(body) as Record<string, unknown>;
  if (kind === 'SwarmSpec') checkSpecValues(kind, out as Partial<SwarmSpec>, '');
  if (kind === 'SwarmInitRequest') {
    checkSpecValues(kind, out.Spec as Partial<SwarmSpec> | undefined, 'Spec.');
    const port = out.DataPathPort as number | undefined;
    if (port !== undefined && port !== 0 && (port < 1024 || port > 49151)) fail(kind, 'DataPathPort', `${port} is not in the range 1024-49151`);
    const size = out.SubnetSize as number | undefined;
    if (size !== undefined && size !== 0 && (size < 1 || size > 32)) fail(kind, 'SubnetSize', `${size} is not a prefix length (1-32)`);
  }
  return out as T;
}

/** Refuses (501) the query flags of `route` (`'POST /swarm/update'`) that ask for something Shoal does not do. */
export function checkUnsupportedQuery(route: string, query: URLSearchParams): void {
  for (const row of UNSUPPORTED_QUERY[route] ?? []) {
    const v = query.get(row.path);
    if (v === 'true' || v === '1') throw new ApiError(`invalid request: ${row.path}: ${refusalReason(row)}`, 501);
  }
}
