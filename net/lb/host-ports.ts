/**
 * `mode=host` published ports on one node, as `nft -f` text (pure): each (protocol,
 * published port) on any local address of the node is DNATed to one task's address on
 * the node's gateway bridge and its target port (Docker's `docker_gwbridge` mapping).
 * The same table masquerades what the tasks send out through another interface (their
 * egress), connections from a task back to a port of its own node (hairpin: the reply
 * must come back through the node to be un-DNATed) and connections from the node to
 * 127.0.0.1 (which needs `route_localnet` on the bridge, set by the caller).
 * VXLAN (UDP 4789) from the bridge is dropped, to the node and through it: a task could
 * otherwise send encapsulated frames to any node's VXLAN socket and inject them into
 * networks it is not on.
 * Updates replace the whole table in one transaction, as the VIP table does.
 */
import { formatPrefix, parsePrefix } from '../ipam/cidr.ts';
import { LbSpecError } from './errors.ts';
import { VXLAN_PORT } from '../overlay/plan.ts';
import { addr, block, chain, elements, port, tableName } from './nft-text.ts';

/** One host-mode published port of one task. */
export interface HostPortMapping {
  readonly protocol: 'tcp' | 'udp';
  /** The port on the node's addresses, 1–65535; unique per protocol on the node. */
  readonly published: number;
  /** The task's address on the gateway bridge. */
  readonly address: string;
  /** The port inside the task. */
  readonly target: number;
}

/** Rendering options. */
export interface HostPortsOptions {
  /** The gateway bridge's subnet (the tasks' addresses). */
  readonly subnet: string;
  /** The gateway bridge's interface name. */
  readonly bridge: string;
  /** Table name (family `ip`). Default `shoal-hostports`. */
  readonly table?: string;
}

/** The default host-ports table name. */
export const HOST_PORTS_TABLE = 'shoal-hostports';

/** The table definition (`table ip NAME { … }`). Throws `LbSpecError` on bad input or a port mapped twice. */
export function renderHostPortsTable(mappings: readonly HostPortMapping[], opts: HostPortsOptions): string {
  const table = tableName(opts, HOST_PORTS_TABLE);
  let subnet: string;
  try { subnet = formatPrefix(parsePrefix(opts.subnet)); } catch { throw new LbSpecError(`invalid gateway subnet "${opts.subnet}"`); }
  // Interface names are quoted in the ruleset; keep them to what the kernel allows anyway.
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(opts.bridge)) throw new LbSpecError(`invalid bridge name "${opts.bridge}"`);
  const br = `"${opts.bridge}"`;
  const seen = new Set<string>();
  const norm = mappings.map((m) => {
    if (m.protocol !== 'tcp' && m.protocol !== 'udp') throw new LbSpecError(`invalid protocol "${String(m.protocol)}"`);
    const published = port(m.published, `${m.protocol}/${m.published}`);
    const k = `${m.protocol}/${published}`;
    if (seen.has(k)) throw new LbSpecError(`host port ${k} mapped twice`);
    seen.add(k);
    return { protocol: m.protocol, published, address: addr(m.address, `task address for ${k}`), target: port(m.target, k) };
  }).sort((a, b) => a.protocol.localeCompare(b.protocol) || a.published - b.published);
  const items = norm.map((m) => `${m.protocol} . ${m.published} : ${m.address} . ${m.target}`);
  const dnat = 'fib daddr type local meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @ports';
  return [
    `table ip ${table} {`,
    block('map ports', ['type inet_proto . inet_service : ipv4_addr . inet_service', ...elements(items)]),
    chain('prerouting', ['type nat hook prerouting priority -100; policy accept;', dnat]),
    chain('output', ['type nat hook output priority -100; policy accept;', dnat]),
    // No traffic between two tasks over the bridge (Docker's gwbridge has icc off), but a
    // task may reach another through a published port (DNATed, so allowed). Bridged frames
    // reach this hook when br_netfilter is on; otherwise the ports are isolated instead.
    chain('forward', [
      'type filter hook forward priority 0; policy accept;',
      `iifname ${br} udp dport ${VXLAN_PORT} drop`,
      `iifname ${br} oifname ${br} ct status & dnat == 0 drop`,
    ]),
    chain('input', ['type filter hook input priority 0; policy accept;', `iifname ${br} udp dport ${VXLAN_PORT} drop`]),
    chain('postrouting', [
      'type nat hook postrouting priority 100; policy accept;',
      `ip saddr ${subnet} oifname != ${br} masquerade`,
      `oifname ${br} ct status dnat ip saddr ${subnet} masquerade`,
      `oifname ${br} ip saddr 127.0.0.0/8 masquerade`,
    ]),
    '}',
  ].join('\n') + '\n';
}

/** The `nft -f` text replacing the host-ports table in one transaction. */
export function renderHostPortsReplace(mappings: readonly HostPortMapping[], opts: HostPortsOptions): string {
  const table = tableName(opts, HOST_PORTS_TABLE);
  return `table ip ${table}\ndelete table ip ${table}\n` + renderHostPortsTable(mappings, opts);
}

/** The `nft -f` text removing the table (it need not exist). */
export function renderHostPortsDelete(opts: { table?: string } = {}): string {
  const table = tableName(opts, HOST_PORTS_TABLE);
  return `table ip ${table}\ndelete table ip ${table}\n`;
}
