/**
 * What keeps the overlay's data path short, free of I/O (issue 20, "an overlay at wire
 * speed"). The devices themselves need nothing: veth, bridge and VXLAN already carry
 * 64 KiB GSO packets end to end (TSO, `tx-udp_tnl-segmentation` and checksum offload are
 * on by default, and a GSO VXLAN packet is decapsulated whole), so what the overlay pays
 * beyond the underlay is per packet, in netfilter:
 *
 * - br_netfilter. Where the module is loaded, every new netns starts with
 *   `net.bridge.bridge-nf-call-iptables=1` (and ip6tables, arptables), so each frame
 *   bridged in a sandbox (task veth ↔ br0 ↔ vxlan0) takes the IP hooks there: an skb
 *   extension allocated per packet and three hook walks per side. A sandbox holds no
 *   rules (isolation lives in the node's netns and the tasks'), so the sandbox turns it
 *   off: {@link SANDBOX_SYSCTLS}.
 * - conntrack on VXLAN. The node's netns holds NAT tables (gateway, mesh), so every
 *   outer UDP packet is tracked on the way out and on the way in, once per packet on
 *   each node, for a flow nothing ever NATs. {@link renderVxlanNotrack} marks the
 *   node's own VXLAN traffic untracked in the raw hooks: sent by the node (`output`) and
 *   addressed to it (`prerouting`). "Addressed to it" is `ip daddr VTEP` when the agent
 *   passes its VTEP addresses (a compare or a set lookup); without them it is `fib daddr
 *   type local`, a FIB lookup per received outer packet (about a third of the node's FIB
 *   lookups on the overlay path, `fib:fib_table_lookup` tracepoint; PERFORMANCE.md).
 *   Forwarded VXLAN, and VXLAN to a local address not listed, stays tracked (slower,
 *   never wrong). The filter rules that drop VXLAN from the gateway bridge or from
 *   ingress match on interface and port, not on conntrack state, so they still apply.
 *
 * The VXLAN device sends IPv4 without an outer UDP checksum (`noudpcsum` in plan.ts, as
 * Docker's overlay does): the inner TCP/UDP checksum already covers the payload.
 *
 * Knobs measured on kernel 6.18 and deliberately NOT set (net/overlay/PERFORMANCE.md has
 * the per-hop profile and the figures), so nobody adds them back on a hunch:
 * - GRO on the veths (`ethtool -K gro on`, which puts veth in NAPI mode): no gain; the
 *   packets are already 64 KiB GSO packets, so there is nothing left to merge.
 * - Threaded NAPI: no gain on the veths. On vxlan0 (its GRO cells) it cut throughput to
 *   a third, and switching it back off after traffic left the device at ~0.3 Gbit/s (in
 *   one lab, dropping every packet) until it was re-created. Never touch it.
 * - BIG TCP (`gso_ipv4_max_size` > 64 KiB): the VXLAN device's `tso_max_size` is 64 KiB,
 *   so the bridge and vxlan0 clamp it; bigger packets cannot cross the tunnel.
 * - RPS on vxlan0: moves the receive half to the other CPU, but on a loaded node that
 *   softirq waits behind ordinary tasks, and a single flow is a coin toss between CPUs:
 *   one stream was slower in 5 of 5 paired runs, 4 streams mixed.
 * - txqueuelen: every overlay device (veth, bridge, VXLAN) is `noqueue`; it is unused.
 * - MTU: the task's 1450 is not the loss; the underlay with the same MSS (`iperf3 -M
 *   1398`) runs as fast as with its own, and GSO packets are ~50 KiB on both paths.
 */
import { formatAddress, parseAddress } from '../ipam/cidr.ts';
import { OverlaySpecError } from './errors.ts';
import { VXLAN_PORT } from './plan.ts';

/** The node-netns nftables table that exempts VXLAN from conntrack. */
export const VXLAN_NOTRACK_TABLE = 'shoal-vxlan';

/** Sysctls set to 0 in every sandbox netns (absent where br_netfilter is not loaded). */
export const SANDBOX_SYSCTLS: readonly string[] = [
  'net.bridge.bridge-nf-call-iptables',
  'net.bridge.bridge-nf-call-ip6tables',
  'net.bridge.bridge-nf-call-arptables',
];

/**
 * The argv (run inside the sandbox's netns, e.g. after `nsenter --net=…`) that turns
 * br_netfilter off there. `-e`: a key that does not exist (module not loaded) is no error.
 */
export function sandboxSysctlArgv(): string[] {
  return ['sysctl', '-q', '-e', '-w', ...SANDBOX_SYSCTLS.map((k) => `${k}=0`)];
}

/** Options of {@link renderVxlanNotrack}. */
export interface NotrackOptions {
  /** VXLAN UDP destination port; default {@link VXLAN_PORT}. */
  port?: number;
  /** Table name; default {@link VXLAN_NOTRACK_TABLE}. */
  table?: string;
  /**
   * The node's VTEP addresses, IPv4 (its underlay address, and its WireGuard address where
   * an encrypted overlay runs). Given: received VXLAN is matched by destination (no
   * per-packet FIB lookup); absent or empty: by `fib daddr type local`.
   */
  localAddresses?: readonly string[];
}

/**
 * `nft -f` text that makes (or replaces, atomically) the table exempting the node's
 * VXLAN traffic from conntrack. Idempotent: it creates the table if missing, then
 * flushes and redefines it in one transaction.
 */
export function renderVxlanNotrack(opts: NotrackOptions = {}): string {
  const port = opts.port ?? VXLAN_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new OverlaySpecError(`invalid VXLAN port "${port}"`);
  const t = tableName(opts.table);
  const local = [...new Set((opts.localAddresses ?? []).map(vtep))].sort();
  const daddr = local.length === 1 ? local[0] : `{ ${local.join(', ')} }`;
  const toNode = local.length ? `ip daddr ${daddr} udp dport ${port}` : `udp dport ${port} fib daddr type local`;
  return [
    `table ip ${t} {}`,
    `flush table ip ${t}`,
    `table ip ${t} {`,
    '  chain prerouting {',
    '    type filter hook prerouting priority raw; policy accept;',
    `    ${toNode} notrack`,
    '  }',
    '  chain output {',
    '    type filter hook output priority raw; policy accept;',
    `    udp dport ${port} notrack`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** `nft -f` text that removes the table (and does not fail when it is already gone). */
export function renderVxlanNotrackDelete(opts: Pick<NotrackOptions, 'table'> = {}): string {
  const t = tableName(opts.table);
  return `table ip ${t} {}\ndelete table ip ${t}\n`;
}

/** A VTEP address checked and normalized to a dotted quad (it is written into nft text). */
function vtep(a: string): string {
  try {
    return formatAddress(parseAddress(a, 'VTEP address'));
  } catch (err) {
    throw new OverlaySpecError((err as Error).message);
  }
}

function tableName(t = VXLAN_NOTRACK_TABLE): string {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,30}$/.test(t)) throw new OverlaySpecError(`invalid table name "${t}"`);
  return t;
}
