/**
 * The routing mesh on one node, as `nft -f` text (pure): every published port (ingress
 * mode) answers on every local address of the node and is DNATed over the service's
 * tasks on the ingress network, wherever they run; connections leaving towards the
 * ingress network after that DNAT are masqueraded, so replies come back through this
 * node even from tasks on other hosts. Ports without tasks refuse at once. Updates
 * replace the whole table in one transaction, as the VIP table does.
 *
 * The ingress network is entered only this way: with `ingressDevice` (the host's veth
 * into the ingress sandbox) set, anything routed into it that this node did not DNAT
 * for a published port is dropped, so a task on another network cannot reach ingress
 * tasks' unpublished ports through the node; and VXLAN sent from the ingress network to
 * the node (or on through it) is dropped, so an ingress task cannot inject frames into
 * other networks.
 *
 * Not covered: connections to 127.0.0.1 (DNAT of loopback traffic needs
 * `route_localnet`); `mode=host` ports (bound on the task's node only).
 */
import { formatPrefix, parseAddress, parsePrefix } from '../ipam/cidr.ts';
import { LbSpecError } from './errors.ts';
import { VXLAN_PORT } from '../overlay/plan.ts';
import { addr, block, chain, elements, ifname, pick, port, sanitize, tableName, weightsOf } from './nft-text.ts';

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
}

/** Rendering options. */
export interface MeshOptions {
  /** The ingress network's subnet: traffic DNATed into it is masqueraded. */
  readonly ingressSubnet: string;
  /** Table name (family `ip`). Default `shoal-mesh`. */
  readonly table?: string;
  /** The host's interface into the ingress network: only DNATed traffic may enter it. Absent: no such guard. */
  readonly ingressDevice?: string;
}

/** The default routing-mesh table name. */
export const MESH_TABLE = 'shoal-mesh';

/** The table definition (`table ip NAME { … }`). Throws `LbSpecError` on a bad or duplicate port. */
export function renderMeshTable(ports: readonly PublishedPort[], opts: MeshOptions): string {
  const table = tableName(opts, MESH_TABLE);
  let subnet: string;
  try { subnet = formatPrefix(parsePrefix(opts.ingressSubnet)); } catch { throw new LbSpecError(`invalid ingress subnet "${opts.ingressSubnet}"`); }
  const seen = new Set<string>();
  const norm = ports.map((p) => {
    if (p.protocol !== 'tcp' && p.protocol !== 'udp') throw new LbSpecError(`invalid protocol "${String(p.protocol)}" for service "${p.service}"`);
    const published = port(p.published, p.service);
    const k = `${p.protocol}/${published}`;
    if (seen.has(k)) throw new LbSpecError(`published port ${k} given twice`);
    seen.add(k);
    const backends = [...new Set(p.backends.map((b) => addr(b, `backend of service "${p.service}"`)))]
      .sort((a, b) => parseAddress(a) - parseAddress(b));
    return { ...p, published, target: port(p.target, p.service), backends, weights: weightsOf(p.weights, p.service) };
  }).sort((a, b) => a.protocol.localeCompare(b.protocol) || a.published - b.published);
  const live: string[] = [];
  const none: string[] = [];
  const chains: string[] = [];
  for (const p of norm) {
    const name = `p_${p.protocol}_${p.published}_${sanitize(p.service)}`;
    if (p.backends.length === 0) { none.push(`${p.protocol} . ${p.published}`); continue; }
    live.push(`${p.protocol} . ${p.published} : goto ${name}`);
    chains.push(chain(name, [`meta l4proto ${p.protocol} dnat to ${pick(p.backends, p.weights)}:${p.target}`]));
  }
  const dev = opts.ingressDevice === undefined ? undefined : ifname(opts.ingressDevice);
  const nat = 'fib daddr type local meta l4proto . th dport vmap @published';
  const refuse = 'fib daddr type local meta l4proto . th dport @unserved reject';
  return [
    `table ip ${table} {`,
    block('map published', ['type inet_proto . inet_service : verdict', ...elements(live)]),
    block('set unserved', ['type inet_proto . inet_service', ...elements(none)]),
    chain('prerouting', ['type nat hook prerouting priority -100; policy accept;', nat]),
    chain('output', ['type nat hook output priority -100; policy accept;', nat]),
    chain('postrouting', ['type nat hook postrouting priority 100; policy accept;', `ct status dnat ip daddr ${subnet} masquerade`]),
    chain('refuse', ['type filter hook input priority 0; policy accept;', refuse,
      ...(dev ? [`iifname ${dev} udp dport ${VXLAN_PORT} drop`] : [])]),
    ...(dev ? [chain('guard', [
      'type filter hook forward priority 0; policy accept;',
      `iifname ${dev} udp dport ${VXLAN_PORT} drop`,
      // Published ports only: the DNAT above marks their connections (replies included).
      `oifname ${dev} ct status & dnat == 0 drop`,
    ])] : []),
    ...chains,
    '}',
  ].join('\n') + '\n';
}

/** The `nft -f` text replacing the mesh table in one transaction. */
export function renderMeshReplace(ports: readonly PublishedPort[], opts: MeshOptions): string {
  const table = tableName(opts, MESH_TABLE);
  return `table ip ${table}\ndelete table ip ${table}\n` + renderMeshTable(ports, opts);
}
