/**
 * What the overlay driver does to the kernel, as `ip`/`bridge` batch lines (DESIGN.md,
 * plane 5), free of I/O: a sandbox per network per node holds a bridge and a VXLAN device
 * (one VNI per network, UDP 4789, learning off, ARP proxied locally); the manager's peer
 * table becomes static FDB and neighbour entries, so there is no multicast and no
 * flooding. An adapter feeds the lines to `ip -batch -` / `bridge -batch -` (≈ 40 µs per
 * line after one spawn).
 */
import { formatAddress, parseAddress, parsePrefix } from '../ipam/cidr.ts';
import { OverlaySpecError } from './errors.ts';

/** One overlay network on this node. */
export interface SandboxSpec {
  /** VXLAN network identifier. */
  readonly vni: number;
  /** The network's subnet, `A.B.C.D/N`. */
  readonly subnet: string;
  /** The gateway address, set on the sandbox bridge. */
  readonly gateway: string;
  /** This node's underlay address (the local VTEP). */
  readonly localVtep: string;
  /** MTU of every overlay interface: underlay MTU − 50 (e.g. 1450). */
  readonly mtu: number;
  /** The sandbox's netns name (`/run/netns/NAME`). */
  readonly sandbox: string;
  /** How tasks join it; default `bridge` ({@link TaskPath}). */
  readonly taskPath?: TaskPath;
}

/**
 * How task interfaces join a sandbox. `bridge` (this module's default): the sandbox bridge
 * holds the gateway address, vxlan0 is its port, and each task gets a veth on it. `macvlan`
 * (measured in PERFORMANCE.md; the agent's choice for every sandbox but ingress, see
 * src/agent/network/task-path.ts): no bridge;
 * each task interface is a macvlan (bridge mode) on vxlan0 made straight into the task's
 * netns, and the gateway address sits on a macvlan of its own in the sandbox
 * ({@link GATEWAY_DEV}). It skips the bridge and one veth crossing per packet each way.
 */
export type TaskPath = 'bridge' | 'macvlan';

/** A task endpoint anywhere in the swarm: its overlay address, MAC and node's underlay address. */
export interface Peer {
  readonly ip: string;
  readonly mac: string;
  readonly vtep: string;
}

/** Batch lines for the host netns (`ip -batch -`), the sandbox (`ip -n SB -batch -`) and its bridge FDB (`bridge -n SB -batch -`). */
export interface Commands {
  readonly host: string[];
  readonly ip: string[];
  readonly bridge: string[];
}

/** VXLAN UDP port (IANA). */
export const VXLAN_PORT = 4789;
/** Bytes of VXLAN encapsulation: overlay MTU = underlay MTU − this. */
export const VXLAN_OVERHEAD = 50;
/** Device names inside a sandbox. */
export const BRIDGE = 'br0';
export const VXLAN_DEV = 'vxlan0';
/** The sandbox's gateway device on the `macvlan` task path (in place of the bridge). */
export const GATEWAY_DEV = 'gw0';
/** The batch line that brings a netns's loopback up (the last of the sandbox's and of a task's lines). */
export const LO_UP = 'link set lo up';
const ZERO_MAC = '00:00:00:00:00:00';

/** The host-side name of the VXLAN device before it moves into the sandbox (unique per VNI, ≤ 15 chars). */
export function hostVxlanName(vni: number): string {
  return `vx-${vni}`;
}

/** A MAC derived from an IPv4 address, as Docker does: `02:42:` + the four address bytes. */
export function macFromIp(ip: string): string {
  const n = parseAddress(ip);
  return ['02', '42', ...[24, 16, 8, 0].map((s) => ((n >>> s) & 255).toString(16).padStart(2, '0'))].join(':');
}

/**
 * Creating the sandbox's devices (the netns itself must exist). The VXLAN device is made
 * in the host netns, so its UDP socket stays on the underlay, then moved into the sandbox.
 * It sends without an outer UDP checksum (`noudpcsum`, as Docker's overlay: the inner
 * checksum covers the payload, and no NIC needs tunnel checksum offload for it); receiving
 * accepts both. The rest of the path's tuning (netfilter) is in tuning.ts.
 */
export function createSandbox(spec: SandboxSpec): Commands {
  const p = parsePrefix(spec.subnet);
  const gw = formatAddress(parseAddress(spec.gateway, 'gateway'));
  const vtep = formatAddress(parseAddress(spec.localVtep, 'VTEP'));
  const tmp = hostVxlanName(spec.vni);
  const path = taskPath(spec.taskPath);
  // vxlan0 cannot be a bridge port and a macvlan lower at once (one rx handler per device).
  const ip = path === 'bridge'
    ? [
      `link set ${tmp} name ${VXLAN_DEV}`,
      `link add ${BRIDGE} type bridge`,
      `link set ${BRIDGE} mtu ${spec.mtu}`,
      `addr add ${gw}/${p.bits} dev ${BRIDGE}`,
      `link set ${VXLAN_DEV} master ${BRIDGE}`,
      `link set ${VXLAN_DEV} up`,
      `link set ${BRIDGE} up`,
      LO_UP,
    ]
    : [
      `link set ${tmp} name ${VXLAN_DEV}`,
      // A MAC from the gateway address, as tasks' are: gw0 made again (repair) answers at the
      // MAC the tasks' neighbour caches hold. It never leaves the node (macvlan switches
      // frames to a local MAC itself), so every node's gw0 may have it.
      `link add link ${VXLAN_DEV} name ${GATEWAY_DEV} address ${macFromIp(gw)} mtu ${spec.mtu} type macvlan mode bridge`,
      `addr add ${gw}/${p.bits} dev ${GATEWAY_DEV}`,
      `link set ${VXLAN_DEV} up`,
      `link set ${GATEWAY_DEV} up`,
      LO_UP,
    ];
  return {
    host: [
      `link add ${tmp} type vxlan id ${spec.vni} local ${vtep} dstport ${VXLAN_PORT} nolearning proxy noudpcsum`,
      `link set ${tmp} mtu ${spec.mtu}`,
      `link set ${tmp} netns ${spec.sandbox}`,
    ],
    ip,
    bridge: [],
  };
}

/**
 * The changes that turn the sandbox's programmed peers `from` into `to`. Peers on this
 * node (`vtep === localVtep`) are left out: they sit on the local bridge. Per remote peer:
 * an FDB entry for its MAC and a permanent neighbour entry (answered by the VXLAN proxy);
 * per remote node: one all-zero FDB entry so broadcasts reach it. Removals come first.
 */
export function syncPeers(localVtep: string, from: readonly Peer[], to: readonly Peer[]): Commands {
  const local = formatAddress(parseAddress(localVtep, 'VTEP'));
  const old = index(from, local);
  const want = index(to, local);
  const ip: string[] = [];
  const bridge: string[] = [];
  for (const [k, p] of old) {
    const n = want.get(k);
    if (n && n.mac === p.mac && n.vtep === p.vtep) continue;
    ip.push(`neigh del ${p.ip} dev ${VXLAN_DEV}`);
    bridge.push(`fdb del ${p.mac} dev ${VXLAN_DEV} dst ${p.vtep} self`);
  }
  const oldVteps = vteps(old);
  const newVteps = vteps(want);
  for (const v of oldVteps) if (!newVteps.has(v)) bridge.push(`fdb del ${ZERO_MAC} dev ${VXLAN_DEV} dst ${v} self`);
  for (const v of newVteps) if (!oldVteps.has(v)) bridge.push(`fdb append ${ZERO_MAC} dev ${VXLAN_DEV} dst ${v} self permanent`);
  for (const [k, p] of want) {
    const o = old.get(k);
    if (o && o.mac === p.mac && o.vtep === p.vtep) continue;
    bridge.push(`fdb replace ${p.mac} dev ${VXLAN_DEV} dst ${p.vtep} self permanent`);
    ip.push(`neigh replace ${p.ip} lladdr ${p.mac} dev ${VXLAN_DEV} nud permanent`);
  }
  return { host: [], ip, bridge };
}

/** Remote peers by address, normalized and sorted (so commands come out in a stable order). */
function index(peers: readonly Peer[], local: string): Map<string, Peer> {
  const out = new Map<string, Peer>();
  const norm = peers.map((p) => ({
    ip: formatAddress(parseAddress(p.ip)), mac: normalizeMac(p.mac), vtep: formatAddress(parseAddress(p.vtep, 'VTEP')),
  })).filter((p) => p.vtep !== local).sort((a, b) => parseAddress(a.ip) - parseAddress(b.ip));
  for (const p of norm) {
    if (out.has(p.ip)) throw new Error(`overlay: assertion failed: peer address ${p.ip} given twice`);
    out.set(p.ip, p);
  }
  return out;
}

function vteps(peers: Map<string, Peer>): Set<string> {
  return new Set([...peers.values()].map((p) => p.vtep).sort((a, b) => parseAddress(a) - parseAddress(b)));
}

function normalizeMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m)) throw new OverlaySpecError(`invalid MAC "${mac}"`);
  return m;
}

/** One task attachment to a network: a veth from the sandbox bridge into the task's netns. */
export interface AttachmentSpec {
  /** The task's netns name. */
  readonly taskNetns: string;
  /** Position among the task's attachments: 0 → `eth0`, 1 → `eth1`, … (in the service's network order). */
  readonly index: number;
  /** The task's address on this network. */
  readonly ip: string;
  /** Prefix length of the network's subnet. */
  readonly prefixBits: number;
  /** MTU, as the sandbox's. */
  readonly mtu: number;
  /** MAC; default `macFromIp(ip)`. */
  readonly mac?: string;
  /** As the sandbox's ({@link TaskPath}); default `bridge`. */
  readonly taskPath?: TaskPath;
}

/** The sandbox-side veth name of an attachment: `v` + the address in hex (unique per network, ≤ 15 chars). */
export function sandboxVethName(ip: string): string {
  return `v${parseAddress(ip).toString(16).padStart(8, '0')}`;
}

/**
 * Connecting a task to the sandbox: `sandbox` lines (`ip -n SB -batch -`) make the veth,
 * move its peer into the task netns as `ethN` and attach the near end to the bridge;
 * `task` lines (`ip -n TASK -batch -`) set its MAC, MTU and address and bring it and
 * `lo` up (the runtime spec has no NET_ADMIN, so this happens before the task starts).
 * Undo with `detachTask` (or by removing the task's netns).
 */
export function attachTask(spec: AttachmentSpec): { sandbox: string[]; task: string[] } {
  if (!Number.isInteger(spec.index) || spec.index < 0 || spec.index > 99) throw new OverlaySpecError(`invalid attachment index "${spec.index}"`);
  if (!Number.isInteger(spec.prefixBits) || spec.prefixBits < 1 || spec.prefixBits > 30) throw new OverlaySpecError(`invalid prefix length "${spec.prefixBits}"`);
  const ip = formatAddress(parseAddress(spec.ip, 'task address'));
  const mac = normalizeMac(spec.mac ?? macFromIp(ip));
  const veth = sandboxVethName(ip);
  const dev = `eth${spec.index}`;
  return {
    sandbox: taskPath(spec.taskPath) === 'bridge'
      ? [
        `link add ${veth} mtu ${spec.mtu} type veth peer name ${dev} mtu ${spec.mtu} netns ${spec.taskNetns}`,
        `link set ${veth} master ${BRIDGE}`,
        `link set ${veth} up`,
      ]
      // Nothing stays in the sandbox: the task's netns going takes the macvlan with it.
      : [`link add link ${VXLAN_DEV} name ${dev} netns ${spec.taskNetns} mtu ${spec.mtu} type macvlan mode bridge`],
    // The MAC first (callers may run every attachment's first line before the rest): on the
    // macvlan path it is the one line refused while another device on vxlan0 holds that MAC
    // (EADDRINUSE: a detached task's, until its netns is freed), and setting a MAC a device
    // already has is a no-op, so the batch can be run again as it is.
    task: [
      `link set ${dev} address ${mac}`,
      `addr add ${ip}/${spec.prefixBits} dev ${dev}`,
      `link set ${dev} up`,
      LO_UP,
    ],
  };
}

/** Removing an attachment's veth from the sandbox (its peer in the task netns goes with it). */
export function detachTask(ip: string): string[] {
  return [`link del ${sandboxVethName(ip)}`];
}

/**
 * On the `macvlan` task path: the sandbox lines that make the gateway macvlan (`gw0`, with
 * the gateway address) again, after it alone went behind our back. (When vxlan0 goes, gw0
 * goes with it: net/netlink's `vxlanRepair` makes both.)
 */
export function gatewayRepair(spec: SandboxSpec): string[] {
  return linesNaming(createSandbox({ ...spec, taskPath: 'macvlan' }), [GATEWAY_DEV]).ip;
}

/**
 * The lines of `cmds` that name one of `devs` as a whole word, in their order: how a repair
 * picks, from `createSandbox`'s lines, those that make and set up the devices that went
 * (here and net/netlink's `vxlanRepair`).
 */
export function linesNaming(cmds: Commands, devs: readonly string[]): Commands {
  const names = (l: string) => l.split(/\s+/).some((w) => devs.includes(w));
  return { host: cmds.host.filter(names), ip: cmds.ip.filter(names), bridge: cmds.bridge.filter(names) };
}

/**
 * Refuses anything but `bridge` and `macvlan` with an {@link OverlaySpecError} (an unknown
 * value, `undefined` too, must not silently mean one of them); the one check of a
 * {@link TaskPath}, for callers that take one from outside (the agent's options).
 */
export function checkTaskPath(p: unknown): asserts p is TaskPath {
  if (p !== 'bridge' && p !== 'macvlan') throw new OverlaySpecError(`invalid task path "${String(p)}" (bridge or macvlan)`);
}

/** A spec's task path: absent means `bridge` (this module's default); anything else is checked. */
function taskPath(p: TaskPath | undefined): TaskPath {
  if (p === undefined) return 'bridge';
  checkTaskPath(p);
  return p;
}
