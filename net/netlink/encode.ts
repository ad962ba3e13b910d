/**
 * `NlRequest`s (messages.ts) as the bytes of rtnetlink messages, free of I/O: what a
 * namespace's relay (relay.pl) sends as it is. Only the fields messages.ts writes are
 * known; any other is refused, never dropped. Links are named by IFLA_IFNAME (the kernel
 * finds them, so a veth made earlier in the same batch needs no lookup); a neighbour's
 * device, a link's master and a macvlan's lower (IFLA_LINK) need an index, which the
 * caller supplies (`indexOf`).
 */
import { IFLA, cstr, nla, u32, type Hex, type NlRequest } from './messages.ts';
import { NLMSG_HDRLEN } from './relay-frames.ts';

/** rtnetlink message types (linux/rtnetlink.h). */
export const RTM = { NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19, NEWADDR: 20, NEWNEIGH: 28, DELNEIGH: 29 } as const;
const NLM_F_REQUEST = 1;
const NLM_F_ACK = 4;
const IFF_UP = 1;
const NUD_PERMANENT = 0x80;
const NTF_SELF = 0x02;
const NDA = { dst: 1, lladdr: 2 } as const;
const TYPES = { newLink: RTM.NEWLINK, setLink: RTM.SETLINK, delLink: RTM.DELLINK, newAddr: RTM.NEWADDR, newNeighbor: RTM.NEWNEIGH, delNeighbor: RTM.DELNEIGH } as const;
const IFA = { address: 1, local: 2 } as const;
/** Where an RTM_NEWADDR's interface index sits: after the header, family, prefixlen, flags and scope. */
export const ADDR_INDEX_AT = NLMSG_HDRLEN + 4;

/** A request the encoder does not know how to say (a programming error in messages.ts's output). */
export class NetlinkEncodeError extends Error {
  override name = 'NetlinkEncodeError';
  constructor(message: string) { super(`netlink: ${message}`); }
}

/** A message, and where in it the relay writes the fd of `path` (a veth peer's netns, or a macvlan's own). */
export interface EncodedRequest { msg: Buffer; fd?: { at: number; path: string } }

/** Header + payload, with REQUEST|ACK always set (the relay waits for each ACK). */
export function nlmsg(type: number, flags: number, seq: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(NLMSG_HDRLEN);
  h.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags | NLM_F_REQUEST | NLM_F_ACK, 6);
  h.writeUInt32LE(seq >>> 0, 8);
  return Buffer.concat([h, payload]);
}

/** RTM_GETLINK of the link named `name` (the answer is one RTM_NEWLINK, its index at data byte 4). */
export function getLinkRequest(name: string, seq: number): Buffer {
  return nlmsg(RTM.GETLINK, 0, seq, Buffer.concat([Buffer.alloc(16), nla(IFLA.ifname, cstr(name))]));
}

/** `req` as one message with sequence number `seq`; `indexOf` gives the index of a device by name. */
export function encodeRequest(req: NlRequest, seq: number, indexOf: (name: string) => number): EncodedRequest {
  if (req.method === 'index') throw new NetlinkEncodeError('an index request is a getLinkRequest');
  const type = TYPES[req.method];
  if (type === undefined) throw new NetlinkEncodeError(`unknown method "${String(req.method)}" in "${req.line}"`);
  if (type === RTM.NEWADDR) return address(req, type, seq, indexOf);
  return type === RTM.NEWNEIGH || type === RTM.DELNEIGH ? neighbour(req, type, seq, indexOf) : link(req, type, seq, indexOf);
}

function address(req: NlRequest, type: number, seq: number, indexOf: (name: string) => number): EncodedRequest {
  const { family, prefixlen, ...rest } = req.data as { family?: number; prefixlen?: number };
  refuseOthers(rest, req, 'data');
  if (req.dev === undefined) throw new NetlinkEncodeError(`an address without a device in "${req.line}"`);
  if (req.master !== undefined || req.lower !== undefined || req.netns !== undefined) throw new NetlinkEncodeError(`an address with a master, lower or netns in "${req.line}"`);
  const ifaddrmsg = Buffer.alloc(8);
  ifaddrmsg[0] = family ?? 0;
  ifaddrmsg[1] = prefixlen ?? 0;
  ifaddrmsg.writeUInt32LE(indexOf(req.dev), 4);
  const attrs = Object.entries(req.attrs).map(([k, v]) => {
    const t = IFA[k as keyof typeof IFA];
    if (t === undefined) throw new NetlinkEncodeError(`unknown address attribute "${k}" in "${req.line}"`);
    return nla(t, bytes(v, req, k));
  });
  return { msg: nlmsg(type, req.flags, seq, Buffer.concat([ifaddrmsg, ...attrs])) };
}

function neighbour(req: NlRequest, type: number, seq: number, indexOf: (name: string) => number): EncodedRequest {
  const { family, state, flags, ...rest } = req.data as { family?: number; state?: Record<string, unknown>; flags?: Record<string, unknown> };
  refuseOthers(rest, req, 'data');
  if (req.dev === undefined) throw new NetlinkEncodeError(`a neighbour without a device in "${req.line}"`);
  if (req.master !== undefined || req.lower !== undefined || req.netns !== undefined) throw new NetlinkEncodeError(`a neighbour with a master, lower or netns in "${req.line}"`);
  const ndmsg = Buffer.alloc(12);
  ndmsg[0] = family ?? 0;
  ndmsg.writeInt32LE(indexOf(req.dev), 4);
  ndmsg.writeUInt16LE(bits(state, { permanent: NUD_PERMANENT }, req, 'state'), 8);
  ndmsg[10] = bits(flags, { self: NTF_SELF }, req, 'flags');
  const attrs = Object.entries(req.attrs).map(([k, v]) => {
    const t = NDA[k as keyof typeof NDA];
    if (t === undefined) throw new NetlinkEncodeError(`unknown neighbour attribute "${k}" in "${req.line}"`);
    return nla(t, bytes(v, req, k));
  });
  return { msg: nlmsg(type, req.flags, seq, Buffer.concat([ndmsg, ...attrs])) };
}

function link(req: NlRequest, type: number, seq: number, indexOf: (name: string) => number): EncodedRequest {
  const { flags, change, ...rest } = req.data as { flags?: Record<string, unknown>; change?: Record<string, unknown> };
  refuseOthers(rest, req, 'data');
  const ifinfomsg = Buffer.alloc(16);
  ifinfomsg.writeUInt32LE(bits(flags, { up: IFF_UP }, req, 'flags'), 8);
  ifinfomsg.writeUInt32LE(bits(change, { up: IFF_UP }, req, 'change'), 12);
  const { ifname, mtu, linkinfo, group, address, ...others } = req.attrs as { ifname?: string; mtu?: number; linkinfo?: Hex; group?: number; address?: Hex };
  refuseOthers(others, req, 'attrs');
  // A group delete (RTM_DELLINK with IFLA_GROUP, index 0) names no link: the kernel deletes the group's.
  const wholeGroup = type === RTM.DELLINK && group !== undefined && ifname === undefined && req.dev === undefined;
  if (!wholeGroup && (ifname === undefined) === (req.dev === undefined)) throw new NetlinkEncodeError(`a link needs exactly one of ifname and dev in "${req.line}"`);
  const parts = wholeGroup ? [ifinfomsg] : [ifinfomsg, nla(IFLA.ifname, cstr(ifname ?? req.dev!))];
  if (mtu !== undefined) parts.push(nla(IFLA.mtu, u32(mtu)));
  if (group !== undefined) parts.push(nla(IFLA.group, u32(group)));
  if (address !== undefined) parts.push(nla(IFLA.address, bytes(address, req, 'address')));
  if (req.master !== undefined) parts.push(nla(IFLA.master, u32(indexOf(req.master))));
  // A lower link is chosen when a link is made; on a set or delete the kernel's meaning is
  // not one we rely on (nothing asks for it), so it is refused rather than sent.
  if (req.lower !== undefined && type !== RTM.NEWLINK) throw new NetlinkEncodeError(`a lower link (IFLA_LINK) only on a new link, not in "${req.line}"`);
  if (req.lower !== undefined) parts.push(nla(IFLA.link, u32(indexOf(req.lower))));
  let fd: EncodedRequest['fd'];
  const before = () => parts.reduce((n, b) => n + b.length, 0);
  if (req.netns && req.netns.at === undefined) {
    // The link itself goes into that netns: its own IFLA_NET_NS_FD (a u32 after the attribute's header).
    fd = { at: NLMSG_HDRLEN + before() + 4, path: req.netns.path };
    parts.push(nla(IFLA.netNsFd, u32(0)));
  }
  if (linkinfo !== undefined) {
    const info = bytes(linkinfo, req, 'linkinfo');
    if (req.netns?.at !== undefined) {
      if (req.netns.at < 0 || req.netns.at + 4 > info.length) throw new NetlinkEncodeError(`netns fd slot outside linkinfo in "${req.line}"`);
      fd = { at: NLMSG_HDRLEN + before() + 4 + req.netns.at, path: req.netns.path };
    }
    parts.push(nla(IFLA.linkinfo, info));
  } else if (req.netns?.at !== undefined) {
    throw new NetlinkEncodeError(`a netns fd slot without linkinfo in "${req.line}"`);
  }
  return { msg: nlmsg(type, req.flags, seq, Buffer.concat(parts)), fd };
}

function refuseOthers(rest: Record<string, unknown>, req: NlRequest, where: string): void {
  const keys = Object.keys(rest);
  if (keys.length) throw new NetlinkEncodeError(`unknown ${where} field "${keys[0]}" in "${req.line}"`);
}

/** `{ up: true }` → IFF_UP; a false value is 0; an unknown key is refused. */
function bits(v: Record<string, unknown> | undefined, known: Record<string, number>, req: NlRequest, where: string): number {
  let n = 0;
  for (const [k, on] of Object.entries(v ?? {})) {
    if (known[k] === undefined) throw new NetlinkEncodeError(`unknown ${where} bit "${k}" in "${req.line}"`);
    if (on) n |= known[k];
  }
  return n;
}

function bytes(v: unknown, req: NlRequest, k: string): Buffer {
  const h = (v as Hex | undefined)?.$hex;
  if (typeof h !== 'string' || !/^(?:[0-9a-f]{2})*$/i.test(h)) throw new NetlinkEncodeError(`attribute "${k}" is not bytes in "${req.line}"`);
  return Buffer.from(h, 'hex');
}
