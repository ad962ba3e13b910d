/**
 * The desired nftables ruleset for service VIPs, as `nft -f` text (nft 1.0.6). Pure:
 * services in, text out; the same services always render the same text, whatever their
 * order.
 *
 * One table per sandbox (default `ip shoal-lb`). Traffic to a VIP is DNATed, on the
 * `output` hook (the asking task's own traffic) and the `prerouting` hook (traffic routed
 * through the sandbox), to one of the healthy backends picked by
 * `numgen random mod N`. A VIP with no backend is rejected (ICMP port unreachable, so a
 * client sees "connection refused" at once instead of a timeout).
 *
 * The first apply replaces the whole table in one transaction (`renderReplace`); later
 * ones change its maps, sets and per-port chains only (`renderUpdate`), the hook chains
 * staying registered throughout. `nft -f` applies a file atomically, so a new connection
 * sees the old rotation or the new one, and established connections keep their backend
 * through conntrack.
 *
 * Connections that stay up (issue 22, moby#31208): the table sets no conntrack timeout
 * of its own, so an idle connection through a VIP lives as long as the host's
 * `net.netfilter.nf_conntrack_tcp_timeout_established` (432000 s, 5 days, by default),
 * not IPVS's 900 s. And a backend that went away (`gone`: its node died, its task was
 * killed without closing its sockets) does not leave its clients hanging: the next
 * packet a client sends on an established TCP connection to it is answered with a TCP
 * reset (the `reset_*` chains match the connection's VIP and backend in conntrack).
 */
import { parseAddress } from '../ipam/cidr.ts';
import { LbSpecError } from './errors.ts';
import { addr, block, chain, elements, pickPlan, pickText, port, renderInPlace, sanitize, tableName, weightsOf, type NamedChain, type PickPlan } from './nft-text.ts';

/** A balanced port of a VIP. */
export interface VipPort {
  readonly protocol: 'tcp' | 'udp';
  /** The port clients connect to on the VIP, 1–65535. */
  readonly port: number;
  /** The port on the backends; default `port`. */
  readonly targetPort?: number;
}

/** One service's VIP on the sandbox's network. */
export interface VipService {
  /** Service name (or id); used, sanitized, in chain names only. */
  readonly name: string;
  /** The VIP; unique within one ruleset. */
  readonly vip: string;
  /** Balanced ports; absent or empty: every port and protocol of the VIP, unchanged (as Docker's VIPs). */
  readonly ports?: readonly VipPort[];
  /** Addresses of the healthy, running backends (duplicates ignored); empty: the VIP rejects. */
  readonly backends: readonly string[];
  /** Optional share of new connections per backend address (integer weights, absent = 1, 0 = none): canary and blue-green updates. */
  readonly weights?: Readonly<Record<string, number>>;
  /**
   * Addresses of backends that went away: established TCP connections through this VIP
   * to them are reset; a current backend listed here is ignored. See the file comment.
   */
  readonly gone?: readonly string[];
  /**
   * How long a backend that leaves may still serve its open connections before they are
   * reset (its service's stop grace plus the agent's drain), ms; absent: the table's
   * default (gone-backends.ts). Not rendered: it only times `gone`.
   */
  readonly drainMs?: number;
}

/** Rendering options. */
export interface RulesetOptions {
  /** nftables table name (family `ip`). Default `shoal-lb`. */
  readonly table?: string;
  /** Hook priority of the NAT chains. Default -100 (dstnat; nft 1.0.6 wants it numeric on output). */
  readonly priority?: number;
}

/** The default table name. */
export const DEFAULT_TABLE = 'shoal-lb';

/** A per-service chain: `dnat to PICK` (any port), or `meta l4proto PROTO dnat to PICK:TARGET`. */
export interface VipChain {
  readonly name: string;
  readonly protocol?: 'tcp' | 'udp';
  readonly targetPort?: number;
  readonly pick: PickPlan;
}

/**
 * What a table holds besides its four fixed hook chains, as data: the elements of its maps
 * and sets, one chain per balanced port (or per service without ports). Rendered as `nft`
 * text here and as netlink messages by vip-netlink.ts.
 */
export interface VipPlan {
  readonly ports: readonly { readonly vip: string; readonly protocol: 'tcp' | 'udp'; readonly port: number; readonly chain: string }[];
  readonly any: readonly { readonly vip: string; readonly chain: string }[];
  readonly none: readonly string[];
  readonly gone: readonly { readonly vip: string; readonly backend: string }[];
  readonly chains: readonly VipChain[];
}

/** The plan of `services` (checked: `LbSpecError` for anything out of range). */
export function vipPlan(services: readonly VipService[]): VipPlan {
  const out = { ports: [] as VipPlan['ports'][number][], any: [] as VipPlan['any'][number][], none: [] as string[], gone: [] as VipPlan['gone'][number][], chains: [] as VipChain[] };
  normalize(services).forEach((s, i) => {
    for (const ip of s.gone) out.gone.push({ vip: s.vip, backend: ip });
    const base = `s${i}_${sanitize(s.name)}`;
    if (s.backends.length === 0) { out.none.push(s.vip); return; }
    if (s.ports.length === 0) {
      out.any.push({ vip: s.vip, chain: base });
      out.chains.push({ name: base, pick: pickPlan(s.backends, s.weights) });
      return;
    }
    for (const p of s.ports) {
      const name = `${base}_${p.protocol}_${p.port}`;
      out.ports.push({ vip: s.vip, protocol: p.protocol, port: p.port, chain: name });
      out.chains.push({ name, protocol: p.protocol, targetPort: p.targetPort, pick: pickPlan(s.backends, s.weights) });
    }
  });
  return out;
}

/** What a table holds besides its four fixed hook chains, as `nft` text pieces. */
interface Contents {
  portElems: string[];
  anyElems: string[];
  none: string[];
  gone: string[];
  chains: NamedChain[];
}

function contents(services: readonly VipService[]): Contents {
  const plan = vipPlan(services);
  return {
    portElems: plan.ports.map((e) => `${e.vip} . ${e.protocol} . ${e.port} : goto ${e.chain}`),
    anyElems: plan.any.map((e) => `${e.vip} : goto ${e.chain}`),
    none: [...plan.none],
    gone: plan.gone.map((g) => `${g.vip} . ${g.backend}`),
    chains: plan.chains.map((c) => ({
      name: c.name,
      rules: [c.protocol === undefined ? `dnat to ${pickText(c.pick)}` : `meta l4proto ${c.protocol} dnat to ${pickText(c.pick)}:${c.targetPort}`],
    })),
  };
}

/** The table definition alone (`table ip NAME { … }`), for reading and tests. */
export function renderTable(services: readonly VipService[], opts: RulesetOptions = {}): string {
  const table = tableName(opts, DEFAULT_TABLE);
  const prio = opts.priority ?? -100;
  const c = contents(services);
  const natRules = ['ip daddr . meta l4proto . th dport vmap @vip_ports', 'ip daddr vmap @vip_any'];
  // Established TCP connections whose backend is gone: reset at the client's next packet
  // (output: this sandbox's own clients; forward: routed through it). Not a reset itself:
  // the reset this rule makes passes the same hook and must reach the client.
  const rejectRules = ['ip daddr @vip_none reject', 'tcp flags & rst == 0 ct original ip daddr . ct reply ip saddr @vip_gone reject with tcp reset'];
  const out = [
    `table ip ${table} {`,
    block('map vip_ports', ['type ipv4_addr . inet_proto . inet_service : verdict', ...elements(c.portElems)]),
    block('map vip_any', ['type ipv4_addr : verdict', ...elements(c.anyElems)]),
    block('set vip_none', ['type ipv4_addr', ...elements(c.none)]),
    block('set vip_gone', ['type ipv4_addr . ipv4_addr', ...elements(c.gone)]),
    chain('output', [`type nat hook output priority ${prio}; policy accept;`, ...natRules]),
    chain('prerouting', [`type nat hook prerouting priority ${prio}; policy accept;`, ...natRules]),
    chain('reject_output', ['type filter hook output priority 0; policy accept;', ...rejectRules]),
    chain('reject_forward', ['type filter hook forward priority 0; policy accept;', ...rejectRules]),
    ...c.chains.map((x) => chain(x.name, x.rules)),
    '}',
  ];
  return out.join('\n') + '\n';
}

/**
 * The `nft -f` text that turns the table rendered from `applied` into the one of `services`
 * in one transaction without touching its hook chains: the maps and sets are refilled, the
 * per-port chains refilled, added or deleted. Why not a whole-table replacement: deleting
 * a table unregisters its NAT hooks, and a SYN that passes in that moment is confirmed in
 * conntrack without NAT, so its retries never reach a backend (a connect that times out);
 * re-registering hooks also waits for RCU grace periods. The kernel state it leaves equals
 * `renderReplace(services)`'s (vip.lab.test.ts checks).
 */
export function renderUpdate(applied: readonly VipService[], services: readonly VipService[], opts: RulesetOptions = {}): string {
  const c = contents(services);
  const sets = [
    { kind: 'map' as const, name: 'vip_ports', items: c.portElems }, { kind: 'map' as const, name: 'vip_any', items: c.anyElems },
    { kind: 'set' as const, name: 'vip_none', items: c.none }, { kind: 'set' as const, name: 'vip_gone', items: c.gone },
  ];
  return renderInPlace(tableName(opts, DEFAULT_TABLE), sets, contents(applied).chains, c.chains);
}

/**
 * The `nft -f` text that replaces the table with the desired one in one transaction
 * (creates it first when absent, so the delete never fails).
 */
export function renderReplace(services: readonly VipService[], opts: RulesetOptions = {}): string {
  return renderDelete(opts) + renderTable(services, opts);
}

/** The `nft -f` text that removes the table (and succeeds when it is absent). */
export function renderDelete(opts: RulesetOptions = {}): string {
  const table = tableName(opts, DEFAULT_TABLE);
  return `table ip ${table}\ndelete table ip ${table}\n`;
}

interface Normalized { name: string; vip: string; ports: Required<VipPort>[]; backends: string[]; weights?: Record<string, number>; gone: string[] }

function normalize(services: readonly VipService[]): Normalized[] {
  const seen = new Set<string>();
  const out = services.map((s): Normalized => {
    const vip = addr(s.vip, `VIP of service "${s.name}"`);
    if (seen.has(vip)) throw new LbSpecError(`VIP "${vip}" given twice`);
    seen.add(vip);
    const backends = byAddress(new Set(s.backends.map((b) => addr(b, `backend of service "${s.name}"`))));
    const ports = (s.ports ?? []).map((p) => {
      if (p.protocol !== 'tcp' && p.protocol !== 'udp') throw new LbSpecError(`invalid protocol "${String(p.protocol)}" for service "${s.name}"`);
      return { protocol: p.protocol, port: port(p.port, s.name), targetPort: port(p.targetPort ?? p.port, s.name) };
    });
    const keys = new Set(ports.map((p) => `${p.protocol}/${p.port}`));
    if (keys.size !== ports.length) throw new LbSpecError(`a port of service "${s.name}" is given twice`);
    ports.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port);
    const weights = weightsOf(s.weights, s.name);
    const gone = byAddress([...new Set((s.gone ?? []).map((g) => addr(g, `gone backend of service "${s.name}"`)))]
      .filter((ip) => !backends.includes(ip)));
    return { name: s.name, vip, ports, backends, ...(weights ? { weights } : {}), gone };
  });
  const at = new Map(out.map((s) => [s, parseAddress(s.vip)]));
  return out.sort((a, b) => at.get(a)! - at.get(b)!);
}

/**
 * Addresses in numeric order, each parsed once (a sort comparing parsed addresses parses
 * each ≈ 2·log n times: most of a VIP table's render for 40 backends, times 20 tasks).
 */
function byAddress(ips: Iterable<string>): string[] {
  return [...ips].map((ip) => ({ ip, n: parseAddress(ip) })).sort((a, b) => a.n - b.n).map((x) => x.ip);
}
