/**
 * Pure IPAM for overlay networks: subnets carved from pools, gateways, VIPs and task
 * addresses from a network's range, and VXLAN IDs. All state is plain, JSON-serializable
 * data passed in and returned (never mutated), so the allocator can keep it in the
 * replicated store and any manager that becomes leader continues exactly where the last
 * one stopped. Every choice is deterministic: the same state and request give the same
 * answer.
 */
import {
  containsAddress, containsPrefix, formatAddress, formatPrefix, last, overlaps, parseAddress, parsePrefix,
  type Prefix,
} from './cidr.ts';
import { InUseError, InvalidAddressError, OverlapError, PoolExhaustedError, UnknownNetworkError } from './errors.ts';

/** A default pool: subnets of prefix length `size` are carved from `subnet`, lowest first. */
export interface IpamPool {
  /** The pool, `A.B.C.D/N`, e.g. `10.0.0.0/8`. */
  readonly subnet: string;
  /** Prefix length of each carved subnet, e.g. 24 (N ≤ size ≤ 30). */
  readonly size: number;
}

/** The IPAM record of one network. */
export interface NetworkIpam {
  readonly id: string;
  /** The network's name, used in error messages only. */
  readonly name: string;
  readonly subnet: string;
  /** The gateway address (no prefix), inside `subnet`, owned by `GATEWAY_OWNER`. */
  readonly gateway: string;
  /** Where VIPs and task addresses come from: inside `subnet`; equals it unless `--ip-range` was given. */
  readonly ipRange: string;
  /** VXLAN network identifier, unique over all networks, ≥ `FIRST_VNI`. */
  readonly vni: number;
  /** Address → owner (`gateway`, a VIP or task attachment id). Invariant: one owner per address. */
  readonly addresses: Readonly<Record<string, string>>;
  /** The address handed out last (or ''), the next search starts after it, so a just-released address is not reused at once. */
  readonly cursor: string;
}

/** The whole IPAM state: store it as is. */
export interface IpamState {
  /** Default pools, searched in order. */
  readonly pools: readonly IpamPool[];
  /** Prefixes never carved from the pools (host routes, the underlay); requested subnets may still use them. */
  readonly reserved?: readonly string[];
  /** Networks by id. */
  readonly networks: Readonly<Record<string, NetworkIpam>>;
}

/** What a network asks for; every field but `id` and `name` is optional. */
export interface NetworkRequest {
  readonly id: string;
  readonly name: string;
  /** `--subnet`; default: the lowest free subnet of the pools. */
  readonly subnet?: string;
  /** `--gateway`; default: the first address of the subnet (.1). */
  readonly gateway?: string;
  /** `--ip-range`; default: the whole subnet. */
  readonly ipRange?: string;
  /** A chosen VXLAN ID; default: the lowest free one from `FIRST_VNI`. */
  readonly vni?: number;
}

/** The default pool: 10.0.0.0/8 in /24s, as Docker Swarm's. */
export const DEFAULT_POOLS: readonly IpamPool[] = [{ subnet: '10.0.0.0/8', size: 24 }];
/** The first VXLAN ID handed out (Docker Swarm's too). */
export const FIRST_VNI = 4096;
/** The last valid VXLAN ID (24 bits). */
export const LAST_VNI = 0xffffff;
/** The owner recorded for a network's gateway address. */
export const GATEWAY_OWNER = 'gateway';

/** A fresh state with the given default pools (validated), or `DEFAULT_POOLS`, and reserved prefixes. */
export function createIpamState(opts: { pools?: readonly IpamPool[]; reserved?: readonly string[] } = {}): IpamState {
  const pools = opts.pools ?? DEFAULT_POOLS;
  if (pools.length === 0) throw new InvalidAddressError('no default address pool');
  for (const pool of pools) {
    const p = parsePrefix(pool.subnet, 'pool');
    if (!Number.isInteger(pool.size) || pool.size < p.bits || pool.size > 30) {
      throw new InvalidAddressError(`invalid subnet size ${pool.size} for pool "${pool.subnet}" (want ${p.bits}..30)`);
    }
  }
  const reserved = (opts.reserved ?? []).map((r) => formatPrefix(parsePrefix(r, 'reserved prefix')));
  return { pools: pools.map((p) => ({ subnet: p.subnet, size: p.size })), ...(reserved.length ? { reserved } : {}), networks: {} };
}

/**
 * Allocates a network: its subnet (requested, or carved from the pools), gateway, range and
 * VNI. Throws `InvalidAddressError` (bad or inconsistent values), `OverlapError`,
 * `PoolExhaustedError` or `InUseError` (id or VNI taken); the state is then unchanged.
 */
export function allocateNetwork(state: IpamState, req: NetworkRequest): { state: IpamState; network: NetworkIpam } {
  if (state.networks[req.id]) throw new InUseError(`network id "${req.id}" already allocated`);
  let subnet: Prefix;
  if (req.subnet !== undefined) {
    subnet = parsePrefix(req.subnet, 'subnet');
    if (subnet.bits > 30) throw new InvalidAddressError(`invalid subnet "${req.subnet}": too small (want /30 or larger)`);
    assertNoOverlap(state, subnet);
  } else {
    if (req.gateway !== undefined || req.ipRange !== undefined) {
      throw new InvalidAddressError('--gateway and --ip-range need --subnet');
    }
    subnet = carve(state);
  }
  const range = req.ipRange === undefined ? subnet : parsePrefix(req.ipRange, 'ip range');
  if (!containsPrefix(subnet, range)) {
    throw new InvalidAddressError(`invalid ip range "${req.ipRange}": not inside subnet "${formatPrefix(subnet)}"`);
  }
  const gw = req.gateway === undefined ? subnet.base + 1 : parseAddress(req.gateway, 'gateway');
  if (!containsAddress(subnet, gw)) {
    throw new InvalidAddressError(`invalid gateway "${req.gateway}": not inside subnet "${formatPrefix(subnet)}"`);
  }
  if (gw === subnet.base || gw === last(subnet)) {
    throw new InvalidAddressError(`invalid gateway "${formatAddress(gw)}": network or broadcast address of "${formatPrefix(subnet)}"`);
  }
  const vni = pickVni(state, req.vni);
  const gateway = formatAddress(gw);
  const network: NetworkIpam = {
    id: req.id, name: req.name, subnet: formatPrefix(subnet), gateway, ipRange: formatPrefix(range), vni,
    addresses: { [gateway]: GATEWAY_OWNER }, cursor: '',
  };
  return { state: { ...state, networks: { ...state.networks, [req.id]: network } }, network };
}

/** Releases a network with all its addresses and its VNI. Unknown ids are a no-op (idempotent). */
export function releaseNetwork(state: IpamState, id: string): IpamState {
  if (!state.networks[id]) return state;
  const networks = { ...state.networks };
  delete networks[id];
  return { ...state, networks };
}

/**
 * Allocates an address in a network for `owner` (a VIP or task attachment id): `address`
 * when given (it must be free and inside the subnet), else the next free one of the range
 * after the cursor. If `owner` already holds an address there and none is requested, that
 * address is returned again (so a retried allocation after a leader change is harmless).
 * Throws `UnknownNetworkError`, `InvalidAddressError`, `InUseError` or `PoolExhaustedError`.
 */
export function allocateAddress(
  state: IpamState, networkId: string, opts: { owner: string; address?: string },
): { state: IpamState; address: string } {
  const net = getNetwork(state, networkId);
  if (opts.owner === GATEWAY_OWNER) throw new InvalidAddressError(`owner "${GATEWAY_OWNER}" is reserved`);
  const subnet = parsePrefix(net.subnet);
  let addr: number;
  if (opts.address !== undefined) {
    addr = parseAddress(opts.address, 'address');
    if (!containsAddress(subnet, addr) || addr === subnet.base || addr === last(subnet)) {
      throw new InvalidAddressError(`invalid address "${opts.address}": not a host address of subnet "${net.subnet}"`);
    }
    const holder = net.addresses[formatAddress(addr)];
    if (holder === opts.owner) return { state, address: formatAddress(addr) };
    if (holder !== undefined) throw new InUseError(`address "${opts.address}" already in use in network "${net.name}"`);
  } else {
    const held = Object.entries(net.addresses).find(([, o]) => o === opts.owner);
    if (held) return { state, address: held[0] };
    addr = nextFree(net, subnet);
  }
  const address = formatAddress(addr);
  const updated: NetworkIpam = {
    ...net, addresses: { ...net.addresses, [address]: opts.owner }, cursor: opts.address === undefined ? address : net.cursor,
  };
  return { state: { ...state, networks: { ...state.networks, [networkId]: updated } }, address };
}

/**
 * Allocates one address for each owner, in order: the same result as calling
 * `allocateAddress` (no requested address) once per owner, but the network's address
 * table is copied once, not once per owner (hundreds of tasks in one pass on a large
 * subnet would otherwise cost quadratic time). An owner that already holds an address
 * gets it again. Throws `UnknownNetworkError`, `InvalidAddressError` or
 * `PoolExhaustedError` (not enough free addresses for all); the state is then unchanged.
 */
export function allocateAddresses(
  state: IpamState, networkId: string, owners: readonly string[],
): { state: IpamState; addresses: string[] } {
  const net = getNetwork(state, networkId);
  if (owners.length === 0) return { state, addresses: [] };
  if (owners.includes(GATEWAY_OWNER)) throw new InvalidAddressError(`owner "${GATEWAY_OWNER}" is reserved`);
  const subnet = parsePrefix(net.subnet);
  const wanted = new Set(owners);
  const held = new Map<string, string>();
  for (const a in net.addresses) if (wanted.has(net.addresses[a]!) && !held.has(net.addresses[a]!)) held.set(net.addresses[a]!, a);
  // One private copy, changed in place while it is ours.
  const work = { ...net, addresses: { ...net.addresses } as Record<string, string> };
  const addresses = owners.map((o) => {
    const have = held.get(o);
    if (have !== undefined) return have;
    const address = formatAddress(nextFree(work, subnet));
    work.addresses[address] = o;
    work.cursor = address;
    held.set(o, address);
    return address;
  });
  return { state: { ...state, networks: { ...state.networks, [networkId]: work } }, addresses };
}

/** How many host addresses of the network's range are free (what `allocateAddresses` can still hand out). */
export function freeAddresses(state: IpamState, networkId: string): number {
  const net = getNetwork(state, networkId);
  const { lo, hi } = hostRange(net, parsePrefix(net.subnet));
  let used = 0;
  for (const a in net.addresses) {
    const n = parseAddress(a);
    if (n >= lo && n <= hi) used++;
  }
  return Math.max(0, hi - lo + 1 - used);
}

/**
 * Releases an address of a network. Releasing a free address is a no-op (idempotent);
 * the gateway cannot be released. Throws `UnknownNetworkError`, `InvalidAddressError`.
 */
export function releaseAddress(state: IpamState, networkId: string, address: string): IpamState {
  const net = getNetwork(state, networkId);
  const key = formatAddress(parseAddress(address, 'address'));
  const owner = net.addresses[key];
  if (owner === undefined) return state;
  if (owner === GATEWAY_OWNER) throw new InvalidAddressError(`address "${address}" is the gateway of network "${net.name}"`);
  const addresses = { ...net.addresses };
  delete addresses[key];
  return { ...state, networks: { ...state.networks, [networkId]: { ...net, addresses } } };
}

/** The network's record; throws `UnknownNetworkError`. */
export function getNetwork(state: IpamState, id: string): NetworkIpam {
  const net = state.networks[id];
  if (!net) throw new UnknownNetworkError(id);
  return net;
}

function assertNoOverlap(state: IpamState, subnet: Prefix): void {
  for (const net of Object.values(state.networks)) {
    if (overlaps(parsePrefix(net.subnet), subnet)) throw new OverlapError(formatPrefix(subnet), net.name);
  }
}

/** The lowest subnet of the pools that overlaps no existing network. */
function carve(state: IpamState): Prefix {
  const taken = [...Object.values(state.networks).map((n) => n.subnet), ...(state.reserved ?? [])]
    .map((t) => parsePrefix(t)).sort((a, b) => a.base - b.base);
  for (const pool of state.pools) {
    const p = parsePrefix(pool.subnet, 'pool');
    const step = 2 ** (32 - pool.size);
    for (let base = p.base; base + step - 1 <= last(p);) {
      const cand = { base, bits: pool.size };
      const hit = taken.find((t) => overlaps(t, cand));
      if (!hit) return cand;
      // Jump past the overlapping network, aligned to the pool's subnet size.
      base = Math.ceil((last(hit) + 1) / step) * step;
    }
  }
  throw new PoolExhaustedError(`no free subnet in ${state.pools.map((p) => `"${p.subnet}" (/${p.size})`).join(', ')}`);
}

/** The next free host address of the range after the cursor, wrapping once. */
function nextFree(net: NetworkIpam, subnet: Prefix): number {
  const { lo, hi } = hostRange(net, subnet);
  const count = hi - lo + 1;
  const cursor = net.cursor === '' ? lo - 1 : parseAddress(net.cursor);
  const start = cursor >= lo && cursor <= hi ? cursor + 1 - lo : 0;
  for (let i = 0; i < count; i++) {
    const addr = lo + ((start + i) % count);
    if (net.addresses[formatAddress(addr)] === undefined) return addr;
  }
  throw new PoolExhaustedError(`no free address in "${net.ipRange}" of network "${net.name}"`);
}

/** The first and last host address of the network's range (no network or broadcast address). */
function hostRange(net: NetworkIpam, subnet: Prefix): { lo: number; hi: number } {
  const range = parsePrefix(net.ipRange);
  return { lo: Math.max(range.base, subnet.base + 1), hi: Math.min(last(range), last(subnet) - 1) };
}

function pickVni(state: IpamState, wanted: number | undefined): number {
  const used = new Set(Object.values(state.networks).map((n) => n.vni));
  if (wanted !== undefined) {
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > LAST_VNI) throw new InvalidAddressError(`invalid VXLAN ID "${wanted}"`);
    if (used.has(wanted)) throw new InUseError(`VXLAN ID "${wanted}" already in use`);
    return wanted;
  }
  for (let vni = FIRST_VNI; vni <= LAST_VNI; vni++) if (!used.has(vni)) return vni;
  throw new PoolExhaustedError('no free VXLAN ID');
}
