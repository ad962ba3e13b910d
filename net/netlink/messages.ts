/**
 * The overlay's `ip`/`bridge` batch lines as rtnetlink requests for the `netlink` package
 * (RTM_NEWNEIGH/DELNEIGH for FDB and neighbour entries, RTM_NEWLINK/SETLINK/DELLINK for
 * veths), free of I/O. `net/overlay/plan.ts` stays the one place that says what the
 * kernel should hold; this file only says how to ask rtnetlink for it. A line outside
 * the grammar below is refused (`NetlinkTranslateError`) and its caller runs the whole
 * batch through `ip` instead, so a new kind of line is never dropped.
 *
 * Requests are plain data (Buffers as `{ $hex }`, printable in errors and tests). encode.ts
 * makes them rtnetlink messages once what they name is known: interface indexes (`dev`,
 * `master` by name, looked up in the namespace) and the fd of a target netns (`netns`,
 * opened by the relay that lives in the namespace, relay.pl, which sends the message).
 */
import { parseAddress } from '../ipam/cidr.ts';

/** A Buffer, as plain data. */
export interface Hex { $hex: string }

/** One rtnetlink request (named after the `netlink` package's `RtNetlinkSocket` calls). */
export interface NlRequest {
  /** The kind of request (the package's method name). */
  method: 'newNeighbor' | 'delNeighbor' | 'newLink' | 'setLink' | 'delLink' | 'newAddr' | 'index';
  /** The message's fixed part (ndmsg / ifinfomsg) as the package's object. */
  data: Record<string, unknown>;
  /** Attributes as the package's object; Buffers as `{ $hex }`. */
  attrs: Record<string, unknown>;
  /** `NLM_F_*` flags beyond REQUEST|ACK (`encode.ts` adds those). */
  flags: number;
  /** Interface name whose index goes into `data` (`ifindex` for neighbours, `index` for links). */
  dev?: string;
  /** Interface name whose index goes into `attrs.master`. */
  master?: string;
  /** Interface name whose index goes into IFLA_LINK (a macvlan's lower device). */
  lower?: string;
  /**
   * Netns file to open; its fd is written as a u32 into `attrs.linkinfo` at byte `at` (a veth
   * peer's), or, without `at`, into the link's own IFLA_NET_NS_FD (a macvlan made into it).
   */
  netns?: { path: string; at?: number };
  /** The line it came from (error messages). */
  line: string;
}

/** A line the netlink path does not speak; the caller uses `ip` for its batch. */
export class NetlinkTranslateError extends Error {
  override name = 'NetlinkTranslateError';
  readonly retryable = false;
  constructor(message: string) { super(`netlink: ${message}`); }
}

/** `NLM_F_*` request flags (linux/netlink.h). */
export const NLM_F = { REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400, APPEND: 0x800 } as const;
const AF_INET = 2;
const AF_BRIDGE = 7;
/** IFLA_LINKINFO's nested types (linux/if_link.h). */
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
/** IFLA_* link attribute types (linux/if_link.h), here and in encode.ts. */
export const IFLA = { address: 1, ifname: 3, mtu: 4, link: 5, master: 10, linkinfo: 18, group: 27, netNsFd: 28 } as const;
/** Where `ip netns add` puts named namespaces. */
export const NETNS_RUN_DIR = '/run/netns';

/** One netlink attribute: 4-byte header, payload padded to 4 bytes. */
export function nla(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

/** A little-endian u32 attribute payload. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** A NUL-terminated string attribute payload. */
export function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf8');
}

/**
 * IFLA_LINKINFO of a veth whose peer is `peer` with `mtu`, made in the netns whose fd
 * the sender writes at `fdAt` (a placeholder 0 here: the fd exists only in the process that sends it).
 */
export function vethLinkinfo(peer: string, mtu: number): { linkinfo: Buffer; fdAt: number } {
  const ifinfomsg = Buffer.alloc(16); // family, type, index, flags, change: all 0
  const name = nla(IFLA.ifname, cstr(peer));
  const mtuAttr = nla(IFLA.mtu, u32(mtu));
  const fdAttr = nla(IFLA.netNsFd, u32(0));
  const peerAttr = nla(VETH_INFO_PEER, Buffer.concat([ifinfomsg, name, mtuAttr, fdAttr]));
  const kind = nla(IFLA_INFO_KIND, cstr('veth'));
  const data = nla(IFLA_INFO_DATA, peerAttr);
  // Offsets inside linkinfo: kind | data hdr(4) | peer hdr(4) | ifinfomsg(16) | name | mtu | fd hdr(4) | fd.
  const fdAt = kind.length + 4 + 4 + ifinfomsg.length + name.length + mtuAttr.length + 4;
  return { linkinfo: Buffer.concat([kind, data]), fdAt };
}

/** IFLA_MACVLAN_MODE and MACVLAN_MODE_BRIDGE (linux/if_link.h). */
const IFLA_MACVLAN_MODE = 1;
const MACVLAN_MODE_BRIDGE = 4;

/** IFLA_LINKINFO of a macvlan in bridge mode (net/overlay/plan.ts's `macvlan` task path). */
export function macvlanLinkinfo(): Buffer {
  return Buffer.concat([nla(IFLA_INFO_KIND, cstr('macvlan')), nla(IFLA_INFO_DATA, nla(IFLA_MACVLAN_MODE, u32(MACVLAN_MODE_BRIDGE)))]);
}

/** `aa:bb:…` → 6 bytes; refuses anything else. */
export function macBytes(mac: string): Buffer {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) throw new NetlinkTranslateError(`invalid MAC "${mac}"`);
  return Buffer.from(mac.split(':').map((x) => parseInt(x, 16)));
}

/** Dotted IPv4 → 4 bytes, network order. */
export function ipBytes(ip: string): Buffer {
  let n: number;
  try { n = parseAddress(ip); } catch { throw new NetlinkTranslateError(`invalid IPv4 address "${ip}"`); }
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

const hex = (b: Buffer): Hex => ({ $hex: b.toString('hex') });
const NAME = /^[A-Za-z0-9_.@-]{1,15}$/;
/** A name under /run/netns (longer than an interface name may be; never a path). */
const NETNS = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}$/;

function devName(s: string | undefined, line: string): string {
  if (s === undefined || !NAME.test(s)) throw new NetlinkTranslateError(`bad interface name in "${line}"`);
  return s;
}

/** One `ip` batch line (`neigh …`, `link …`) as a request. */
export function ipLine(line: string): NlRequest {
  const w = line.trim().split(/\s+/);
  let m: RegExpExecArray | null;
  const l = w.join(' ');
  if ((m = /^neigh replace (\S+) lladdr (\S+) dev (\S+) nud permanent$/.exec(l))) {
    return { method: 'newNeighbor', data: { family: AF_INET, state: { permanent: true } }, attrs: { dst: hex(ipBytes(m[1])), lladdr: hex(macBytes(m[2])) }, flags: NLM_F.CREATE | NLM_F.REPLACE, dev: devName(m[3], l), line: l };
  }
  if ((m = /^neigh del (\S+) dev (\S+)$/.exec(l))) {
    return { method: 'delNeighbor', data: { family: AF_INET }, attrs: { dst: hex(ipBytes(m[1])) }, flags: 0, dev: devName(m[2], l), line: l };
  }
  if ((m = /^link add (\S+) mtu (\d+) type veth peer name (\S+) mtu (\d+) netns (\S+)$/.exec(l))) {
    const [, name, mtu, peer, peerMtu, netns] = m;
    if (!NETNS.test(netns)) throw new NetlinkTranslateError(`bad netns name in "${l}"`);
    const { linkinfo, fdAt } = vethLinkinfo(devName(peer, l), Number(peerMtu));
    return {
      method: 'newLink', data: {}, attrs: { ifname: devName(name, l), mtu: Number(mtu), linkinfo: hex(linkinfo) },
      flags: NLM_F.CREATE | NLM_F.EXCL, netns: { path: `${NETNS_RUN_DIR}/${netns}`, at: fdAt }, line: l,
    };
  }
  // A task interface on the `macvlan` task path: made in the sandbox (its lower, vxlan0, is
  // there) straight into the task netns (the link's own IFLA_NET_NS_FD).
  if ((m = /^link add link (\S+) name (\S+) netns (\S+) mtu (\d+) type macvlan mode bridge$/.exec(l))) {
    const [, lower, name, netns, mtu] = m;
    if (!NETNS.test(netns)) throw new NetlinkTranslateError(`bad netns name in "${l}"`);
    return {
      method: 'newLink', data: {}, attrs: { ifname: devName(name, l), mtu: Number(mtu), linkinfo: hex(macvlanLinkinfo()) },
      flags: NLM_F.CREATE | NLM_F.EXCL, lower: devName(lower, l), netns: { path: `${NETNS_RUN_DIR}/${netns}` }, line: l,
    };
  }
  if ((m = /^link set (\S+) master (\S+)$/.exec(l))) {
    return { method: 'setLink', data: {}, attrs: {}, flags: 0, dev: devName(m[1], l), master: devName(m[2], l), line: l };
  }
  if ((m = /^link set (\S+) (up|down)$/.exec(l))) {
    const up = m[2] === 'up';
    return { method: 'setLink', data: { flags: up ? { up: true } : {}, change: { up: true } }, attrs: {}, flags: 0, dev: devName(m[1], l), line: l };
  }
  // A task's side of its veth (the task netns; src/agent/network/netns-maker.ts sends them there).
  if ((m = /^link set (\S+) address (\S+)$/.exec(l))) {
    return { method: 'setLink', data: {}, attrs: { address: hex(macBytes(m[2])) }, flags: 0, dev: devName(m[1], l), line: l };
  }
  if ((m = /^addr add (\S+)\/(\d+) dev (\S+)$/.exec(l))) {
    const bits = Number(m[2]);
    if (bits > 32) throw new NetlinkTranslateError(`bad prefix length in "${l}"`);
    // As `ip addr add`: the address as IFA_LOCAL and IFA_ADDRESS (no peer), no broadcast, universe scope.
    const a = hex(ipBytes(m[1]));
    return { method: 'newAddr', data: { family: AF_INET, prefixlen: bits }, attrs: { local: a, address: a }, flags: NLM_F.CREATE | NLM_F.EXCL, dev: devName(m[3], l), line: l };
  }
  // A group of task veths deleted at once (src/agent/network/veth-wave.ts): set each's group, delete the group.
  if ((m = /^link set (\S+) group (\d+)$/.exec(l))) {
    return { method: 'setLink', data: {}, attrs: { group: group(m[2], l) }, flags: 0, dev: devName(m[1], l), line: l };
  }
  if ((m = /^link del group (\d+)$/.exec(l))) {
    return { method: 'delLink', data: {}, attrs: { group: group(m[1], l) }, flags: 0, line: l };
  }
  if ((m = /^link del (\S+)$/.exec(l))) {
    return { method: 'delLink', data: {}, attrs: {}, flags: 0, dev: devName(m[1], l), line: l };
  }
  throw new NetlinkTranslateError(`no rtnetlink form for ip line "${l}"`);
}

/** An interface group number (u32). */
function group(s: string, line: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new NetlinkTranslateError(`bad interface group in "${line}"`);
  return n;
}

/** One `bridge` batch line (`fdb replace|append|del MAC dev D dst V self [permanent]`) as a request. */
export function bridgeLine(line: string): NlRequest {
  const l = line.trim().split(/\s+/).join(' ');
  const m = /^fdb (replace|append|del) (\S+) dev (\S+) dst (\S+) self( permanent)?$/.exec(l);
  if (!m) throw new NetlinkTranslateError(`no rtnetlink form for bridge line "${l}"`);
  const [, verb, mac, dev, dst, permanent] = m;
  if ((verb === 'del') === Boolean(permanent)) throw new NetlinkTranslateError(`no rtnetlink form for bridge line "${l}"`);
  const attrs = { lladdr: hex(macBytes(mac)), dst: hex(ipBytes(dst)) };
  if (verb === 'del') return { method: 'delNeighbor', data: { family: AF_BRIDGE, flags: { self: true } }, attrs, flags: 0, dev: devName(dev, l), line: l };
  const flags = NLM_F.CREATE | (verb === 'replace' ? NLM_F.REPLACE : NLM_F.APPEND);
  return { method: 'newNeighbor', data: { family: AF_BRIDGE, state: { permanent: true }, flags: { self: true } }, attrs, flags, dev: devName(dev, l), line: l };
}

/** The requests of a sandbox batch (`ip` lines, then `bridge` lines, as `IprouteBatch` runs them). */
export function sandboxRequests(cmds: { ip: readonly string[]; bridge: readonly string[] }): NlRequest[] {
  return [...cmds.ip.map(ipLine), ...cmds.bridge.map(bridgeLine)];
}

/** A task veth as `attachTask`'s sandbox lines make it: near end on the bridge and up, far end in the task netns. */
export interface VethSpec {
  name: string;
  mtu: number;
  peer: string;
  peerMtu: number;
  /** The task netns's name. */
  peerNetns: string;
  master: string;
}

/**
 * `attachTask`'s three sandbox lines (`link add V mtu M type veth peer name P mtu M netns T`,
 * `link set V master B`, `link set V up`) as one veth, or undefined for any other batch:
 * made by one RTM_NEWLINK from the daemon's own netns (see `OwnNetlink.newVeth`).
 */
export function vethFromLines(lines: readonly string[]): VethSpec | undefined {
  if (lines.length !== 3) return undefined;
  const [a, b, c] = lines.map((l) => l.trim().split(/\s+/).join(' '));
  const m = /^link add (\S+) mtu (\d+) type veth peer name (\S+) mtu (\d+) netns (\S+)$/.exec(a);
  if (!m) return undefined;
  const [, name, mtu, peer, peerMtu, netns] = m;
  const master = /^link set (\S+) master (\S+)$/.exec(b);
  if (!master || master[1] !== name || c !== `link set ${name} up`) return undefined;
  if (![name, peer, master[2]].every((n) => NAME.test(n)) || !NETNS.test(netns)) return undefined;
  return { name, mtu: Number(mtu), peer, peerMtu: Number(peerMtu), peerNetns: netns, master: master[2] };
}

/**
 * The index and name of the device an RTM_DELLINK payload (ifinfomsg + attributes) says
 * is gone; undefined for AF_BRIDGE ones (a port leaving its bridge, not a device going).
 */
export function removedLink(data: Buffer): { index: number; ifname: string } | undefined {
  if (data.length < 16 || data[0] !== 0) return undefined;
  const index = data.readInt32LE(4);
  for (let o = 16; o + 4 <= data.length;) {
    const len = data.readUInt16LE(o);
    if (len < 4) break;
    if ((data.readUInt16LE(o + 2) & 0x3fff) === IFLA.ifname) {
      const name = data.subarray(o + 4, o + len);
      const nul = name.indexOf(0);
      return { index, ifname: name.subarray(0, nul < 0 ? name.length : nul).toString('utf8') };
    }
    o += (len + 3) & ~3;
  }
  return undefined;
}
