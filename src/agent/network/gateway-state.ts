/**
 * The gateway bridge's bookkeeping, free of I/O: which task holds which address on the
 * node's gateway subnet and which host ports it publishes there. Plain JSON state, never
 * mutated; `gateway.ts` persists it and makes the kernel match it.
 *
 * Addresses: the lowest free one after the gateway (.1), so a node's tasks stay packed at
 * the start of the subnet; a freed address is handed out again at once, which is safe
 * here because the task side's MAC is derived from the address (a stale neighbour entry
 * for it is still right).
 */
import { formatAddress, formatPrefix, last, parseAddress, parsePrefix } from '../../../net/ipam/cidr.ts';
import type { HostPortMapping } from '../../../net/lb/host-ports.ts';

/** A published port of a task in `mode=host`. */
export interface GatewayPort {
  readonly protocol: 'tcp' | 'udp';
  /** Port on the node's own addresses, 1–65535. */
  readonly published: number;
  /** Port inside the task, 1–65535. */
  readonly target: number;
}

/** One task attached to the gateway bridge. */
export interface GatewayTask {
  /** The task's address on the gateway subnet. */
  readonly address: string;
  /** The task's netns name (`/run/netns/NAME`). */
  readonly netns: string;
  /** The interface in the task's netns is `eth<ifIndex>`. */
  readonly ifIndex: number;
  readonly ports: readonly GatewayPort[];
}

/** What `gateway.json` holds. */
export interface GatewayState {
  readonly version: 1;
  /** The gateway subnet; the bridge has its first address. */
  readonly subnet: string;
  /** Attached tasks by task ID. */
  readonly tasks: Readonly<Record<string, GatewayTask>>;
}

/** A request that cannot be met (bad input, port taken, subnet full). Nothing was changed. */
export class GatewayError extends Error {
  override name = 'GatewayError';
  readonly retryable: boolean;
  constructor(message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(`gateway: ${message}`, { cause: opts.cause });
    this.retryable = opts.retryable ?? false;
  }
}

/** The default gateway subnet (Docker's usual `docker_gwbridge`). */
export const DEFAULT_GATEWAY_SUBNET = '172.18.0.0/16';

const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const TASK_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/** A state with no task, for `subnet` (checked: a prefix of /8–/30 with the host bits zero). */
export function emptyGatewayState(subnet: string): GatewayState {
  return { version: 1, subnet: checkSubnet(subnet), tasks: {} };
}

/** The bridge's address (`A.B.C.D`): the subnet's first host address. */
export function gatewayAddress(subnet: string): string {
  return formatAddress(parsePrefix(subnet).base + 1);
}

/** The lowest address of `subnet` after the gateway that no task holds; `GatewayError` when none is left. */
export function lowestFreeAddress(state: GatewayState): string {
  const p = parsePrefix(state.subnet);
  const used = new Set(Object.values(state.tasks).map((t) => parseAddress(t.address)));
  for (let a = p.base + 2; a < last(p); a++) if (!used.has(a)) return formatAddress(a);
  throw new GatewayError(`no free address left in ${state.subnet}`);
}

/** What `attach` asks for. */
export interface AttachRequest {
  readonly netns: string;
  readonly ifIndex: number;
  readonly ports: readonly GatewayPort[];
}

/**
 * The state with `taskId` attached. A task attached already keeps its address and gets
 * its ports replaced (a retry is harmless); it must name the same netns and interface.
 * Throws `GatewayError` (state unchanged) on bad input or a port another task publishes.
 */
export function planAttach(state: GatewayState, taskId: string, req: AttachRequest): GatewayState {
  if (!TASK_ID.test(taskId)) throw new GatewayError(`invalid task ID "${taskId}"`);
  if (!NETNS_NAME.test(req.netns)) throw new GatewayError(`invalid netns name "${req.netns}" for task ${taskId}`);
  if (!Number.isInteger(req.ifIndex) || req.ifIndex < 0 || req.ifIndex > 99) {
    throw new GatewayError(`invalid interface index "${req.ifIndex}" for task ${taskId}`);
  }
  const ports = checkPorts(taskId, req.ports);
  const taken = new Map<string, string>();
  for (const [id, t] of Object.entries(state.tasks)) {
    if (id !== taskId) for (const p of t.ports) taken.set(`${p.protocol}/${p.published}`, id);
  }
  for (const p of ports) {
    const owner = taken.get(`${p.protocol}/${p.published}`);
    if (owner !== undefined) throw new GatewayError(`port ${p.published}/${p.protocol} is already published on this node by task ${owner}`);
  }
  const old = state.tasks[taskId];
  if (old && (old.netns !== req.netns || old.ifIndex !== req.ifIndex)) {
    throw new GatewayError(`task ${taskId} is attached already as ${old.netns}/eth${old.ifIndex}; detach it first`);
  }
  const address = old?.address ?? lowestFreeAddress(state);
  return { ...state, tasks: { ...state.tasks, [taskId]: { address, netns: req.netns, ifIndex: req.ifIndex, ports } } };
}

/** The state without `taskId` (the same state when it is not attached). */
export function planDetach(state: GatewayState, taskId: string): GatewayState {
  if (!(taskId in state.tasks)) return state;
  const tasks = { ...state.tasks };
  delete tasks[taskId];
  return { ...state, tasks };
}

/** Every published port of every task, for the nftables renderer. */
export function hostPortMappings(state: GatewayState): HostPortMapping[] {
  return Object.values(state.tasks).flatMap((t) => t.ports.map((p) => ({ ...p, address: t.address })));
}

/** The host-side veth name of a task's attachment: prefix + `gw` + the address in hex (≤ 15 chars). */
export function hostVethName(address: string, prefix = ''): string {
  return `${prefix}gw${parseAddress(address).toString(16).padStart(8, '0')}`;
}

/**
 * Reads `gateway.json` text back, checking what a daemon restart relies on (every task
 * inside the subnet, no address or port held twice). Throws `GatewayError` naming the fault.
 */
export function parseGatewayState(text: string): GatewayState {
  let raw: unknown;
  try { raw = JSON.parse(text); } catch (err) { throw new GatewayError('state file is not JSON', { cause: err }); }
  const obj = raw as { version?: unknown; subnet?: unknown; tasks?: unknown };
  if (typeof raw !== 'object' || raw === null || obj.version !== 1 || typeof obj.subnet !== 'string' || typeof obj.tasks !== 'object' || obj.tasks === null) {
    throw new GatewayError('state file has an unknown shape');
  }
  let state = emptyGatewayState(obj.subnet);
  const p = parsePrefix(state.subnet);
  const seen = new Set<number>();
  for (const [id, t] of Object.entries(obj.tasks as Record<string, GatewayTask>)) {
    let a: number;
    try { a = parseAddress(String(t?.address)); } catch { throw new GatewayError(`state file: task ${id} has an invalid address`); }
    if (a < p.base + 2 || a >= last(p)) throw new GatewayError(`state file: task ${id} address ${t.address} is outside ${state.subnet}`);
    if (seen.has(a)) throw new GatewayError(`state file: address ${t.address} held twice`);
    seen.add(a);
    // planAttach checks the entry (and ports against the earlier ones); the recorded address is kept.
    state = planAttach(state, id, { netns: t.netns, ifIndex: t.ifIndex, ports: Array.isArray(t.ports) ? t.ports : [] });
    state = { ...state, tasks: { ...state.tasks, [id]: { ...state.tasks[id], address: formatAddress(a) } } };
  }
  return state;
}

function checkSubnet(subnet: string): string {
  let p;
  try { p = parsePrefix(subnet); } catch { throw new GatewayError(`invalid gateway subnet "${subnet}"`); }
  if (p.bits < 8 || p.bits > 30) throw new GatewayError(`invalid gateway subnet "${subnet}": want a prefix length of 8 to 30`);
  return formatPrefix(p);
}

function checkPorts(taskId: string, ports: readonly GatewayPort[]): GatewayPort[] {
  if (!Array.isArray(ports)) throw new GatewayError(`invalid ports for task ${taskId}`);
  const seen = new Set<string>();
  return ports.map((p) => {
    if (p?.protocol !== 'tcp' && p?.protocol !== 'udp') throw new GatewayError(`invalid protocol "${String(p?.protocol)}" for task ${taskId}`);
    for (const n of [p.published, p.target]) {
      if (!Number.isInteger(n) || n < 1 || n > 65535) throw new GatewayError(`invalid port "${n}" for task ${taskId}`);
    }
    const k = `${p.protocol}/${p.published}`;
    if (seen.has(k)) throw new GatewayError(`port ${p.published}/${p.protocol} given twice for task ${taskId}`);
    seen.add(k);
    return { protocol: p.protocol, published: p.published, target: p.target };
  });
}
