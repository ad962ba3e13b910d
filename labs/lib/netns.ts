// The lab's underlay: a switch namespace with a bridge, one namespace per host joined to it
// by a veth pair created directly inside the two namespaces (no link ever lives in the root
// namespace), and partitions as an nftables drop table in a host's namespace.
import { statSync, readdirSync } from 'node:fs';
import { LabNames, UNDERLAY_BITS, UNDERLAY_MTU } from './names.ts';
import { run, runOk, sleep } from './procs.ts';

/** Thrown for a partition that cannot be built as asked. */
export class PartitionError extends Error {
  override name = 'PartitionError';
}

/** Runs `ip -n NS -batch -` with one command per line. */
async function ipBatch(netns: string, lines: string[]): Promise<void> {
  await runOk('ip', ['-n', netns, '-batch', '-'], { input: lines.join('\n') + '\n' });
}

/** Names of the network namespaces under /run/netns. */
export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Inode of a named network namespace (as in /proc/PID/ns/net), or undefined. */
export function netnsInode(name: string): string | undefined {
  try {
    return String(statSync(`/run/netns/${name}`).ino);
  } catch {
    return undefined;
  }
}

/** The lab's namespaces among those under /run/netns: `<prefix>-sw` and `<prefix>-hN`. */
export function labNetns(names: LabNames): string[] {
  const re = new RegExp(`^${names.prefix}-(sw|h[1-9]\\d*)$`);
  return listNetns().filter((n) => re.test(n));
}

/** Creates the switch namespace with its bridge at .1/24, MTU 1500. */
export async function createSwitch(names: LabNames): Promise<void> {
  const ns = names.switchNetns;
  await runOk('ip', ['netns', 'add', ns]);
  await ipBatch(ns, [
    'link set lo up',
    `link add ${names.bridge} type bridge`,
    `link set ${names.bridge} mtu ${UNDERLAY_MTU}`,
    `addr add ${names.switchAddress}/${UNDERLAY_BITS} dev ${names.bridge}`,
    `link set ${names.bridge} up`,
  ]);
  // Bridged frames must not pass through the (br_netfilter) iptables of the switch.
  await run('nsenter', [`--net=/run/netns/${ns}`, '--', 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0']);
}

/** Creates host `hN`'s namespace, its veth `eth0` ↔ switch port `hN`, address and routes. */
export async function createHostNet(names: LabNames, host: string): Promise<void> {
  const ns = names.hostNetns(host);
  const port = names.switchPort(host);
  await runOk('ip', ['netns', 'add', ns]);
  await runOk('ip', ['link', 'add', 'eth0', 'netns', ns, 'mtu', String(UNDERLAY_MTU), 'type', 'veth',
    'peer', 'name', port, 'netns', names.switchNetns, 'mtu', String(UNDERLAY_MTU)]);
  await ipBatch(names.switchNetns, [`link set ${port} master ${names.bridge}`, `link set ${port} up`]);
  await ipBatch(ns, [
    'link set lo up',
    `addr add ${names.hostAddress(host)}/${UNDERLAY_BITS} dev eth0`,
    'link set eth0 up',
    `route add default via ${names.switchAddress}`,
  ]);
}

/** How a partition cuts a host off. */
export type PartitionMode =
  /** nftables drop of all IP traffic on the host's eth0 (carrier stays up). Default. */
  | 'drop'
  /** The switch port is set down (the host sees no carrier). */
  | 'link';

/**
 * nftables commands that cut a host (in its own namespace) off the underlay, or only off
 * the given peer addresses. `add` is idempotent for the table and chains and appends rules,
 * so successive partitions accumulate until heal deletes the table. `direction: 'in'` drops
 * only what arrives (a one-way partition: the host still sends, but hears nothing back).
 */
export function partitionCommands(table: string, peers?: string[], direction: 'both' | 'in' = 'both'): string {
  const pre = peers?.length ? ` ip saddr { ${peers.join(', ')} }` : '';
  const post = peers?.length ? ` ip daddr { ${peers.join(', ')} }` : '';
  return [
    `add table inet ${table}`,
    `add chain inet ${table} pre { type filter hook prerouting priority -300; policy accept; }`,
    `add chain inet ${table} post { type filter hook postrouting priority -300; policy accept; }`,
    `add rule inet ${table} pre iifname "eth0"${pre} drop`,
    ...(direction === 'both' ? [`add rule inet ${table} post oifname "eth0"${post} drop`] : []),
  ].join('\n') + '\n';
}

/** Options of {@link partitionHost}. */
export interface PartitionOptions {
  /** How to cut. Default 'drop'. */
  mode?: PartitionMode;
  /** Cut only traffic with these underlay addresses ('drop' mode only). Default: all. */
  peers?: string[];
  /** 'in': drop only what arrives ('drop' mode only). Default 'both'. */
  direction?: 'both' | 'in';
}

/** Cuts a host off the underlay (or off some peers). Idempotent; partitions accumulate. */
export async function partitionHost(names: LabNames, host: string, opts: PartitionOptions = {}): Promise<void> {
  if ((opts.mode ?? 'drop') === 'link') {
    if (opts.peers?.length || opts.direction === 'in') throw new PartitionError('lab: a link partition cannot pick peers or a direction; use mode drop');
    await runOk('ip', ['-n', names.switchNetns, 'link', 'set', names.switchPort(host), 'down']);
    return;
  }
  await runOk('nsenter', [`--net=/run/netns/${names.hostNetns(host)}`, '--', 'nft', '-f', '-'], { input: partitionCommands(names.nftTable, opts.peers, opts.direction) });
}

/** Undoes any partition of a host (both modes). Idempotent; fine on a missing host. */
export async function healHost(names: LabNames, host: string): Promise<void> {
  await run('nsenter', [`--net=/run/netns/${names.hostNetns(host)}`, '--', 'nft', 'delete', 'table', 'inet', names.nftTable]);
  const port = names.switchPort(host);
  await run('ip', ['-n', names.switchNetns, 'link', 'set', port, 'up']);
  // Wait until both ends carry traffic again (carrier is back a moment after `up`).
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    if ((await operstate(names.switchNetns, port)) !== 'DOWN' && (await operstate(names.hostNetns(host), 'eth0')) !== 'DOWN') return;
    await sleep(20);
  }
}

/** `operstate` of a link (UP, DOWN, LOWERLAYERDOWN, UNKNOWN…), or undefined if missing. */
async function operstate(netns: string, dev: string): Promise<string | undefined> {
  const r = await run('ip', ['-n', netns, '-j', 'link', 'show', dev]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { operstate?: string }[])[0]?.operstate;
}

/** True when the host is partitioned (either mode). */
export async function isPartitioned(names: LabNames, host: string): Promise<boolean> {
  const t = await run('nsenter', [`--net=/run/netns/${names.hostNetns(host)}`, '--', 'nft', 'list', 'table', 'inet', names.nftTable]);
  if (t.code === 0) return true;
  const l = await run('ip', ['-n', names.switchNetns, '-j', 'link', 'show', names.switchPort(host)]);
  if (l.code !== 0) return false;
  const [link] = JSON.parse(l.stdout) as { flags?: string[] }[];
  return !link?.flags?.includes('UP');
}

/** Deletes a named network namespace (its links go with it). Idempotent. */
export async function deleteNetns(name: string): Promise<void> {
  const r = await run('ip', ['netns', 'delete', name]);
  if (r.code !== 0 && listNetns().includes(name)) {
    // A stale /run/netns entry (e.g. an unmounted nsfs file) : remove the file.
    await run('umount', ['-l', `/run/netns/${name}`]);
    await run('rm', ['-f', `/run/netns/${name}`]);
  }
}
