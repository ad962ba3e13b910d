/**
 * The routing mesh on one node, as `nft -f` text (pure): every published port (ingress
 * mode) answers on every local address of the node and is DNATed over the service's
 * tasks on the ingress network, wherever they run; connections leaving towards the
 * ingress network after that DNAT are masqueraded, so replies come back through this
 * node even from tasks on other hosts. Ports without tasks refuse at once. Updates
 * change the table's maps, sets and per-port chains in one transaction, its hook chains
 * kept (`renderMeshUpdate`), as the VIP table's do.
 *
 * The ingress network is entered only this way: with `ingressDevice` (the host's veth
 * into the ingress sandbox) set, anything routed into it that this node did not DNAT
 * for a published port is dropped, so a task on another network cannot reach ingress
 * tasks' unpublished ports through the node; and VXLAN sent from the ingress network to
 * the node (or on through it) is dropped, so an ingress task cannot inject frames into
 * other networks.
 *
 * Client addresses (issue 22, item 2; Kubernetes' `externalTrafficPolicy: Local`): a port
 * whose `policy` is `local` or `local-or-forward` is DNATed only over the tasks on this
 * node (`local`) and is NOT masqueraded, so the task sees the client's own address (its
 * reply leaves through its default route, the node's gateway bridge, and this node's
 * conntrack undoes the DNAT). Where this node has no task of the port, `local` refuses
 * (as a port without tasks) and `local-or-forward` balances over every task as the
 * default `cluster` policy does (masqueraded: the client's address is lost there).
 *
 * Backends that went away (issue 22, item 4; see gone-backends.ts): an established TCP
 * connection DNATed here to a `gone` address is reset at the client's next packet, as
 * the VIP table does, instead of hanging in retransmissions.
 *
 * Not covered: connections to 127.0.0.1 (DNAT of loopback traffic needs
 * `route_localnet`); `mode=host` ports (bound on the task's node only).
 */
import { formatPrefix, parseAddress, parsePrefix } from '../ipam/cidr.ts';
import { LbSpecError } from './errors.ts';
import { VXLAN_PORT } from '../overlay/plan.ts';
import { addr, block, chain, elements, ifname, pick, port, renderInPlace, sanitize, tableName, weightsOf, type NamedChain } from './nft-text.ts';

/**
 * Where a node sends a published port's connections: `cluster` (Docker's routing mesh,
 * the default): over every task, source NATed; `local`: over this node's tasks only,
 * keeping the client's address, refused where there is none; `local-or-forward`: as
 * `local` where this node has tasks, as `cluster` where it has none.
 */
export type MeshTrafficPolicy = 'cluster' | 'local' | 'local-or-forward';

/** The policies, for validation and help texts. */
export const MESH_TRAFFIC_POLICIES: readonly MeshTrafficPolicy[] = ['cluster', 'local', 'local-or-forward'];

/** One published port of a service. */
export interface PublishedPort {
  /** Service name; used, sanitized, in chain names only. */
  readonly service: string;
  readonly protocol: 'tcp' | 'udp';
  /** The port on every node, 1–65535; unique per protocol. */
  readonly published: number;
  /** The port inside the tasks. */
  readonly target: number;
  /** The tasks' addresses on the ingress network (healthy and running, on any node). */
  readonly backends: readonly string[];
  /** Optional share of new connections per backend address (integer weights, absent = 1, 0 = none): canary and blue-green updates. */
  readonly weights?: Readonly<Record<string, number>>;
  /** Where this node sends the port's connections; default `cluster`. */
  readonly policy?: MeshTrafficPolicy;
  /** Which of `backends` run on this node (read only for the `local…` policies; others ignored). */
  readonly local?: readonly string[];
  /**
   * Addresses of backends that went away: established TCP connections DNATed to them are
   * reset. An address that is a backend of any port is ignored.
   */
  readonly gone?: readonly string[];
}

/** Rendering options. */
export interface MeshOptions {
  /** The ingress network's subnet: traffic DNATed into it is masqueraded. */
  readonly ingressSubnet: string;
  /** Table name (family `ip`). Default `shoal-mesh`. */
  readonly table?: string;
  /** The host's interface into the ingress network: only DNATed traffic may enter it. Absent: no such guard. */
  readonly ingressDevice?: string;
  /**
   * Client subnets masqueraded under every traffic policy: the node's gateway bridge, whose
   * tasks reach a local backend directly over that bridge, so without it the backend's
   * reply to a task calling its own node's published port would bypass this node's
   * conntrack. Default none.
   */
  readonly natSources?: readonly string[];
}

/** The default routing-mesh table name. */
export const MESH_TABLE = 'shoal-mesh';

/** A mesh table in parts: the elements of its maps and sets, its per-port chains, and its fixed hook chains (from the options only). */
interface MeshParts {
  table: string;
  elems: { published: string[]; unserved: string[]; keep_source_tcp: string[]; keep_source_udp: string[]; gone: string[] };
  chains: NamedChain[];
  /** The hook chains' text. */
  hooks: string[];
}

function meshParts(ports: readonly PublishedPort[], opts: MeshOptions): MeshParts {
  const table = tableName(opts, MESH_TABLE);
  let subnet: string;
  try { subnet = formatPrefix(parsePrefix(opts.ingressSubnet)); } catch { throw new LbSpecError(`invalid ingress subnet "${opts.ingressSubnet}"`); }
  const natSources = [...new Set((opts.natSources ?? []).map((n) => {
    try { return formatPrefix(parsePrefix(n)); } catch { throw new LbSpecError(`invalid client subnet "${n}"`); }
  }))].sort();
  const seen = new Set<string>();
  const norm = ports.map((p) => {
    if (p.protocol !== 'tcp' && p.protocol !== 'udp') throw new LbSpecError(`invalid protocol "${String(p.protocol)}" for service "${p.service}"`);
    const published = port(p.published, p.service);
    const k = `${p.protocol}/${published}`;
    if (seen.has(k)) throw new LbSpecError(`published port ${k} given twice`);
    seen.add(k);
    const backends = [...new Set(p.backends.map((b) => addr(b, `backend of service "${p.service}"`)))]
      .sort((a, b) => parseAddress(a) - parseAddress(b));
    const policy = p.policy ?? 'cluster';
    if (!MESH_TRAFFIC_POLICIES.includes(policy)) throw new LbSpecError(`invalid traffic policy "${String(policy)}" for service "${p.service}"`);
    const local = new Set((p.local ?? []).map((b) => addr(b, `local backend of service "${p.service}"`)));
    const gone = (p.gone ?? []).map((g) => addr(g, `gone backend of service "${p.service}"`));
    return { ...p, published, target: port(p.target, p.service), backends, weights: weightsOf(p.weights, p.service), policy, local, gone };
  }).sort((a, b) => a.protocol.localeCompare(b.protocol) || a.published - b.published);
  const live: string[] = [];
  const none: string[] = [];
  const chains: NamedChain[] = [];
  const keep: Record<'tcp' | 'udp', number[]> = { tcp: [], udp: [] };
  const current = new Set(norm.flatMap((p) => p.backends));
  const gone = new Set<string>();
  for (const p of norm) {
    for (const g of p.gone) if (!current.has(g)) gone.add(g);
    const name = `p_${p.protocol}_${p.published}_${sanitize(p.service)}`;
    const local = p.backends.filter((b) => p.local.has(b));
    let to = p.backends;
    if (p.policy !== 'cluster' && local.length > 0) {
      to = local;
      keep[p.protocol].push(p.published);
    } else if (p.policy === 'local') to = [];
    if (to.length === 0) { none.push(`${p.protocol} . ${p.published}`); continue; }
    live.push(`${p.protocol} . ${p.published} : goto ${name}`);
    chains.push({ name, rules: [`meta l4proto ${p.protocol} dnat to ${pick(to, p.weights)}:${p.target}`] });
  }
  const goneList = [...gone].sort((a, b) => parseAddress(a) - parseAddress(b));
  // Established TCP connections to a gone backend: reset at the client's next packet
  // (forward: from outside; output: from this node). Not a reset itself: the reset this
  // rule makes passes the output hook and must reach the client.
  const reset = 'ct status dnat tcp flags & rst == 0 ct reply ip saddr @gone reject with tcp reset';
  const dev = opts.ingressDevice === undefined ? undefined : ifname(opts.ingressDevice);
  const nat = 'fib daddr type local meta l4proto . th dport vmap @published';
  // The set before the FIB lookup: this chain sees every packet the node receives, and
  // the set (usually empty) rules most of them out without a lookup (PERFORMANCE.md).
  const refuse = 'meta l4proto . th dport @unserved fib daddr type local reject';
  const hooks = [
    chain('prerouting', ['type nat hook prerouting priority -100; policy accept;', nat]),
    chain('output', ['type nat hook output priority -100; policy accept;', nat]),
    chain('postrouting', ['type nat hook postrouting priority 100; policy accept;',
      ...(natSources.length ? [`ct status dnat ip daddr ${subnet} ip saddr { ${natSources.join(', ')} } masquerade`] : []),
      `ct status dnat ip daddr ${subnet} meta l4proto tcp ct original proto-dst @keep_source_tcp return`,
      `ct status dnat ip daddr ${subnet} meta l4proto udp ct original proto-dst @keep_source_udp return`,
      `ct status dnat ip daddr ${subnet} masquerade`]),
    chain('reset_output', ['type filter hook output priority 0; policy accept;', reset]),
    chain('refuse', ['type filter hook input priority 0; policy accept;', refuse,
      ...(dev ? [`iifname ${dev} udp dport ${VXLAN_PORT} drop`] : [])]),
    ...(dev ? [chain('guard', [
      'type filter hook forward priority 0; policy accept;',
      reset,
      `iifname ${dev} udp dport ${VXLAN_PORT} drop`,
      // Published ports only: the DNAT above marks their connections (replies included).
      `oifname ${dev} ct status & dnat == 0 drop`,
    ])] : [chain('guard', ['type filter hook forward priority 0; policy accept;', reset])]),
  ];
  return {
    table, chains, hooks,
    elems: { published: live, unserved: none, keep_source_tcp: keep.tcp.map(String), keep_source_udp: keep.udp.map(String), gone: goneList },
  };
}

/** The table definition (`table ip NAME { … }`). Throws `LbSpecError` on a bad or duplicate port. */
export function renderMeshTable(ports: readonly PublishedPort[], opts: MeshOptions): string {
  const m = meshParts(ports, opts);
  return [
    `table ip ${m.table} {`,
    block('map published', ['type inet_proto . inet_service : verdict', ...elements(m.elems.published)]),
    block('set unserved', ['type inet_proto . inet_service', ...elements(m.elems.unserved)]),
    // Ports DNATed to this node's own tasks under a `local…` policy: no masquerade.
    // (nft 1.0.6 cannot concatenate `ct original proto-dst`: one set per protocol.)
    block('set keep_source_tcp', ['type inet_service', ...elements(m.elems.keep_source_tcp)]),
    block('set keep_source_udp', ['type inet_service', ...elements(m.elems.keep_source_udp)]),
    block('set gone', ['type ipv4_addr', ...elements(m.elems.gone)]),
    ...m.hooks,
    ...m.chains.map((x) => chain(x.name, x.rules)),
    '}',
  ].join('\n') + '\n';
}

/**
 * The `nft -f` text that turns the table of (`appliedPorts`, `appliedOpts`) into that of
 * (`ports`, `opts`) in one transaction without touching its hook chains (as the VIP
 * table's `renderUpdate`, which says why); undefined when the hook chains themselves
 * differ (another table, subnet, device or client subnets): then replace the whole table.
 */
export function renderMeshUpdate(appliedPorts: readonly PublishedPort[], appliedOpts: MeshOptions, ports: readonly PublishedPort[], opts: MeshOptions): string | undefined {
  const was = meshParts(appliedPorts, appliedOpts);
  const m = meshParts(ports, opts);
  if (was.table !== m.table || was.hooks.join('\n') !== m.hooks.join('\n')) return undefined;
  const sets = (Object.entries(m.elems) as [keyof MeshParts['elems'], string[]][])
    .map(([name, items]) => ({ kind: name === 'published' ? 'map' as const : 'set' as const, name, items }));
  return renderInPlace(m.table, sets, was.chains, m.chains);
}

/** The `nft -f` text replacing the mesh table in one transaction. */
export function renderMeshReplace(ports: readonly PublishedPort[], opts: MeshOptions): string {
  const table = tableName(opts, MESH_TABLE);
  return `table ip ${table}\ndelete table ip ${table}\n` + renderMeshTable(ports, opts);
}
