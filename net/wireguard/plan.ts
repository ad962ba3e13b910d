/**
 * The WireGuard underlay of encrypted overlays, free of I/O: each node's tunnel address,
 * the interface name, the peer list a node programs and the `wg syncconf` text for it.
 * The device adapter (`device.ts`) applies the text; `wg syncconf` changes only what
 * differs, so a rotated preshared key or one peer more never drops the sessions of the
 * others.
 */
import { createHash } from 'node:crypto';
import { formatAddress, parseAddress, parsePrefix } from '../ipam/cidr.ts';
import { WireGuardSpecError } from './errors.ts';

/**
 * Where tunnel addresses come from: 198.18.0.0/15 (RFC 2544, benchmarking), which real
 * underlays and tenant networks almost never use (100.64.0.0/10 is Tailscale's and many
 * carriers'). Each node gets one /32 of it on its WireGuard interface.
 */
export const TUNNEL_POOL = '198.18.0.0/15';
/** The UDP port WireGuard listens on (the IANA-less conventional one). */
export const WIREGUARD_PORT = 51820;
/** Bytes WireGuard adds to a packet over an IPv6 underlay (60 over IPv4): tunnel MTU = underlay MTU − this. */
export const WIREGUARD_OVERHEAD = 80;

/** A node that may take part: its ID and when it joined (earlier joiners keep a contested address). */
export interface TunnelNode {
  readonly id: string;
  /** Sort key for collisions: ISO time or any string that orders by age. */
  readonly createdAt: string;
}

/**
 * Each node's tunnel address in `TUNNEL_POOL`: a hash of its ID, the next free one on a
 * collision, nodes taken oldest first. So an address never depends on the set of nodes
 * unless two IDs collide (≈ n²/2¹⁸), and then the older node keeps its own. The network
 * (.0) and broadcast (.255 of the pool) addresses are never given.
 */
export function tunnelAddresses(nodes: readonly TunnelNode[], pool = TUNNEL_POOL): Map<string, string> {
  const p = parsePrefix(pool, 'tunnel pool');
  const size = 2 ** (32 - p.bits);
  if (size < 4) throw new WireGuardSpecError(`tunnel pool ${pool} is too small`);
  if (nodes.length > size - 2) throw new WireGuardSpecError(`tunnel pool ${pool} cannot hold ${nodes.length} nodes`);
  const sorted = [...nodes].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const taken = new Set<number>();
  const out = new Map<string, string>();
  for (const n of sorted) {
    if (out.has(n.id)) continue;
    let off = 1 + (createHash('sha256').update(n.id).digest().readUInt32BE(0) % (size - 2));
    while (taken.has(off)) off = off + 1 >= size - 1 ? 1 : off + 1;
    taken.add(off);
    out.set(n.id, formatAddress((p.base + off) >>> 0));
  }
  return out;
}

/**
 * The interface name of a node's WireGuard device: `shlwg` + 8 hex of the hash of
 * something unique to the node (its public key), so emulated hosts that share
 * `/var/run/wireguard` never meet; ≤ 15 chars.
 */
export function interfaceName(seed: string): string {
  return `shlwg${createHash('sha256').update(seed).digest('hex').slice(0, 8)}`;
}

/** One peer as a node programs it. */
export interface WgPeer {
  /** Base64 Curve25519 public key. */
  readonly publicKey: string;
  /** `A.B.C.D:PORT` on the underlay. */
  readonly endpoint: string;
  /** The peer's tunnel address (its only allowed IP, /32). */
  readonly address: string;
}

/** The whole configuration of one node's device. */
export interface DeviceConfig {
  /** Base64 private key (never leaves the node). */
  readonly privateKey: string;
  readonly listenPort: number;
  /** The swarm's current network key, base64 (32 bytes): every peer's preshared key. */
  readonly presharedKey: string;
  readonly peers: readonly WgPeer[];
}

const KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/;

/** Whether `k` is a base64 WireGuard key (32 bytes). */
export function isWgKey(k: unknown): k is string {
  return typeof k === 'string' && KEY.test(k);
}

/**
 * The `wg syncconf` text for `cfg`: the interface's key and port, and one `[Peer]` per
 * peer (sorted by key, so equal configs render equal) with the network key as its
 * preshared key and its tunnel /32 as its only allowed IP. Throws `WireGuardSpecError`
 * on a bad key, endpoint or address (one bad peer must not reach the kernel).
 */
export function renderConfig(cfg: DeviceConfig): string {
  if (!isWgKey(cfg.privateKey)) throw new WireGuardSpecError('invalid private key');
  if (!isWgKey(cfg.presharedKey)) throw new WireGuardSpecError('invalid network key');
  if (!Number.isInteger(cfg.listenPort) || cfg.listenPort < 1 || cfg.listenPort > 65535) throw new WireGuardSpecError(`invalid listen port "${cfg.listenPort}"`);
  const lines = ['[Interface]', `PrivateKey = ${cfg.privateKey}`, `ListenPort = ${cfg.listenPort}`];
  const seen = new Set<string>();
  for (const p of [...cfg.peers].sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0))) {
    if (!isWgKey(p.publicKey)) throw new WireGuardSpecError(`invalid peer key "${p.publicKey}"`);
    if (seen.has(p.publicKey)) throw new WireGuardSpecError(`peer key ${p.publicKey} given twice`);
    seen.add(p.publicKey);
    const [host, port] = p.endpoint.split(':');
    parseAddress(host ?? '', 'peer endpoint');
    if (!/^\d{1,5}$/.test(port ?? '') || Number(port) < 1 || Number(port) > 65535) throw new WireGuardSpecError(`invalid peer endpoint "${p.endpoint}"`);
    const addr = formatAddress(parseAddress(p.address, 'peer tunnel address'));
    lines.push('', '[Peer]', `PublicKey = ${p.publicKey}`, `PresharedKey = ${cfg.presharedKey}`, `Endpoint = ${p.endpoint}`, `AllowedIPs = ${addr}/32`);
  }
  return lines.join('\n') + '\n';
}

/** The tunnel MTU for an underlay MTU (never below IPv4's 576). */
export function tunnelMtu(underlayMtu: number): number {
  return Math.max(576, underlayMtu - WIREGUARD_OVERHEAD);
}
