/**
 * Overlay series of a node: VXLAN bytes and packets per network, read at scrape time from
 * the `vxlan0` device of each network's sandbox netns (`ip -n NS -s -j link show`, one
 * spawn per network, in parallel: Node cannot enter a namespace to read its sysfs). The
 * sandboxes come from the network agent's saved state, so this needs no hook in it; the
 * routing mesh's connections as the conntrack entries of the ingress sandbox.
 * And the embedded DNS's counts (queries by outcome, forwarded-query latency), which the
 * DNS process reports every 2 s, rendered as text.
 */
import { execFile } from 'node:child_process';
import { Counter, Gauge, type Registry } from 'prom-client';
import { DNS_LATENCY_BUCKETS_MS, type DnsStats } from '../../net/dns/index.ts';

/** A network's sandbox on this node; `ingress` for the routing mesh's. */
export interface SandboxRef { networkId: string; netns: string; vni: number; ingress?: boolean }

/** Counters of one device from `ip -s -j link show` output; undefined when absent. Pure. */
export function parseLinkStats(json: string): { rxBytes: number; txBytes: number; rxPackets: number; txPackets: number } | undefined {
  try {
    const [dev] = JSON.parse(json) as { stats64?: { rx: { bytes: number; packets: number }; tx: { bytes: number; packets: number } } }[];
    const s = dev?.stats64;
    return s ? { rxBytes: s.rx.bytes, txBytes: s.tx.bytes, rxPackets: s.rx.packets, txPackets: s.tx.packets } : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `ip -n NETNS -s -j link show dev vxlan0`; resolves with its stdout ('' on failure). */
export type LinkStatsReader = (netns: string) => Promise<string>;

/** Reads the connection-tracking entries of a netns (`nf_conntrack_count`); '' on failure. */
export type ConntrackReader = (netns: string) => Promise<string>;

const conntrackReader: ConntrackReader = (netns) => new Promise((resolve) => {
  execFile('nsenter', [`--net=/run/netns/${netns}`, 'cat', '/proc/sys/net/netfilter/nf_conntrack_count'], { timeout: 2000 }, (err, stdout) => resolve(err ? '' : stdout));
});

const ipReader: LinkStatsReader = (netns) => new Promise((resolve) => {
  execFile('ip', ['-n', netns, '-s', '-j', 'link', 'show', 'dev', 'vxlan0'], { timeout: 2000 }, (err, stdout) => resolve(err ? '' : stdout));
});

/** Registers the overlay series; `sandboxes()` lists this node's sandboxes at scrape time. */
export function registerNetworkMetrics(registry: Registry, sandboxes: () => SandboxRef[], read: LinkStatsReader = ipReader, conntrack: ConntrackReader = conntrackReader): void {
  const labelNames = ['network_id', 'vni', 'direction'];
  let pending: Promise<{ sb: SandboxRef; stats: ReturnType<typeof parseLinkStats> }[]> | undefined;
  // One round of reads per scrape, shared by both families (cleared once the scrape moved on).
  const current = () => {
    pending ??= Promise.all(sandboxes().map(async (sb) => ({ sb, stats: parseLinkStats(await read(sb.netns)) })));
    const p = pending;
    setImmediate(() => { if (pending === p) pending = undefined; });
    return p;
  };
  // Bytes and packets: one family each, filled from the same round of reads.
  const vxlan = (name: string, help: string, rx: 'rxBytes' | 'rxPackets', tx: 'txBytes' | 'txPackets'): void => {
    const c: Counter = new Counter({
      name, help, labelNames, registers: [registry],
      collect: async () => {
        c.reset();
        for (const { sb, stats } of await current()) {
          if (!stats) continue;
          c.inc({ network_id: sb.networkId, vni: String(sb.vni), direction: 'receive' }, stats[rx]);
          c.inc({ network_id: sb.networkId, vni: String(sb.vni), direction: 'transmit' }, stats[tx]);
        }
      },
    });
  };
  vxlan('shoal_vxlan_bytes_total', 'Bytes through each overlay network\'s VXLAN device on this node.', 'rxBytes', 'txBytes');
  vxlan('shoal_vxlan_packets_total', 'Packets through each overlay network\'s VXLAN device on this node.', 'rxPackets', 'txPackets');
  // The routing mesh's connections: tracked flows in the ingress sandbox, where mesh traffic is balanced.
  const mesh: Gauge = new Gauge({
    name: 'shoal_mesh_connections', help: 'Connections tracked in the routing mesh\'s ingress sandbox on this node.', labelNames: ['network_id'], registers: [registry],
    collect: async () => {
      mesh.reset();
      for (const sb of sandboxes().filter((x) => x.ingress)) {
        const text = (await conntrack(sb.netns)).trim();
        if (text !== '' && Number.isFinite(Number(text))) mesh.set({ network_id: sb.networkId }, Number(text));
      }
    },
  });
  const count: Gauge = new Gauge({
    name: 'shoal_network_sandboxes', help: 'Overlay network sandboxes on this node.', registers: [registry],
    collect: () => { count.set(sandboxes().length); },
  });
}

/** The DNS series in text format from the DNS server's cumulative counts; '' without any. Pure. */
export function renderDnsMetrics(stats: DnsStats | undefined): string {
  if (!stats) return '';
  const q = stats.queries;
  const f = stats.forwarded;
  const lines = [
    '# HELP shoal_dns_queries_total DNS queries answered by the embedded DNS, by outcome (answer, nxdomain, refused, forward, malformed).',
    '# TYPE shoal_dns_queries_total counter',
    ...(['answer', 'nxdomain', 'refused', 'forward', 'malformed'] as const).map((k) => `shoal_dns_queries_total{result="${k}"} ${q[k]}`),
    '# HELP shoal_dns_forward_duration_seconds Latency of queries forwarded upstream and answered.',
    '# TYPE shoal_dns_forward_duration_seconds histogram',
    ...DNS_LATENCY_BUCKETS_MS.map((le, i) => `shoal_dns_forward_duration_seconds_bucket{le="${le / 1000}"} ${f.buckets[i]}`),
    `shoal_dns_forward_duration_seconds_bucket{le="+Inf"} ${f.count}`,
    `shoal_dns_forward_duration_seconds_sum ${f.sumMs / 1000}`,
    `shoal_dns_forward_duration_seconds_count ${f.count}`,
    '# HELP shoal_dns_forward_failures_total Forwarded queries no upstream answered (SERVFAIL).',
    '# TYPE shoal_dns_forward_failures_total counter',
    `shoal_dns_forward_failures_total ${f.servfail}`,
  ];
  return lines.join('\n') + '\n';
}
