/**
 * A VIP table as nf_tables netlink batches, for a helper to send in the task's netns: its
 * whole replacement (ruleset.ts's `renderReplace`) and its in-place update (`renderUpdate`),
 * with no `nft` process per task. Pure: services in, bytes out.
 *
 * Why: each task netns has its own VIP table, the first one is part of the task's attach,
 * and every rotation change rewrites it. Through `nft` that is a process start (fork, exec, its libraries, its parser: ≈
 * 10–15 ms of CPU on the project's PVM machine), and 20 tasks attached at once paid twenty
 * of them on two cores. Docker programs its per-container IPVS the same way, over netlink
 * from the daemon.
 *
 * The messages are the ones nft 1.0.6 sends for the same text, in its order and with its
 * attributes, including the sets' user data that `nft list` reads to print them (what each
 * TLV means is said where it is built), so the kernel holds the same table either way and
 * a later `nft` update of it works unchanged. vip-netlink.lab.test.ts applies both ways and
 * compares `nft list table`. The kernel runs a batch as one transaction: it takes all of it
 * or, when any message is refused, none. Only the last message asks for an ACK: the
 * answers are then an error for each refused message and one for the last, in order, so a
 * sender reads until the last one's and the socket never fills with ACKs.
 */
import { parseAddress } from '../ipam/cidr.ts';
import { tableName, type PickPlan } from './nft-text.ts';
import { DEFAULT_TABLE, vipPlan, type RulesetOptions, type VipChain, type VipPlan, type VipService } from './ruleset.ts';

// Netlink and nfnetlink (linux/netlink.h, linux/netfilter/nfnetlink.h).
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_CREATE = 0x400;
const NLM_F_APPEND = 0x800;
const NLA_F_NESTED = 0x8000;
const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;
const NFNL_SUBSYS_NFTABLES = 10;
const NFPROTO_IPV4 = 2;

// nf_tables (linux/netfilter/nf_tables.h).
const MSG = { NEWTABLE: 0, DELTABLE: 2, NEWCHAIN: 3, DELCHAIN: 5, NEWRULE: 6, DELRULE: 8, NEWSET: 9, NEWSETELEM: 12, DELSETELEM: 14 } as const;
const TABLE = { NAME: 1, FLAGS: 2 } as const;
const CHAIN = { TABLE: 1, NAME: 3, HOOK: 4, POLICY: 5, TYPE: 7 } as const;
const HOOK = { NUM: 1, PRIORITY: 2 } as const;
const SET = { TABLE: 1, NAME: 2, FLAGS: 3, KEY_TYPE: 4, KEY_LEN: 5, DATA_TYPE: 6, DATA_LEN: 7, DESC: 9, ID: 10, USERDATA: 13 } as const;
const SET_DESC_SIZE = 1;
const SET_FLAG = { ANONYMOUS: 0x1, CONSTANT: 0x2, INTERVAL: 0x4, MAP: 0x8 } as const;
const ELEMS = { TABLE: 1, SET: 2, ELEMENTS: 3, SET_ID: 4 } as const;
const ELEM = { KEY: 1, DATA: 2, FLAGS: 3 } as const;
const ELEM_INTERVAL_END = 0x1;
const LIST_ELEM = 1;
const DATA = { VALUE: 1, VERDICT: 2 } as const;
const VERDICT = { CODE: 1, CHAIN: 2 } as const;
const NFT_GOTO = -4;
const RULE = { TABLE: 1, CHAIN: 2, EXPRESSIONS: 4 } as const;
const EXPR = { NAME: 1, DATA: 2 } as const;
/** NF_INET_* hook numbers, NF_ACCEPT. */
const HOOKNUM = { prerouting: 0, forward: 2, output: 3 } as const;
const NF_ACCEPT = 1;
/** Registers: the verdict, the first 16-byte one, and 4-byte slots (a concatenation's 2nd and 3rd fields). */
const REG = { VERDICT: 0, R1: 1, R2: 2, R32_01: 9, R32_02: 10 } as const;

/** nft's datatype numbers (their concatenation: 6 bits each, the first field highest), as set key and data types. */
const TYPE = { integer: 4, ipv4_addr: 7, inet_proto: 12, inet_service: 13, verdict: 0xffffff00 } as const;
const concatType = (...ts: number[]) => ts.reduce((a, t) => (a << 6) | t, 0);

/**
 * Set user data (libnftnl's NFTNL_UDATA_SET_*: a type byte, a length byte, the value), read
 * by `nft list` only: the byte order of key and data (0 none given, 1 host, 2 big endian),
 * for a concatenated key declared by `type` a typeof record naming a concatenation with no
 * fields, and whether the data are intervals (0).
 */
const UDATA = { KEY_BYTEORDER: 0, DATA_BYTEORDER: 1, KEY_TYPEOF: 3, DATA_INTERVAL: 6 } as const;
const TYPEOF_EXPR = 0;
const TYPEOF_DATA = 1;
/** nft's expression number for a concatenation, in a typeof record. */
const EXPR_CONCAT = 13;

/**
 * A batch's bytes, written in place into one growing buffer: a message's and a nest's
 * length are written when they close. A batch is thousands of attributes, re-sent on every
 * rotation change of every task: one buffer for them all, not one (and a copy per nesting
 * level) for each. A 20-service update: 0.43 ms against 1.22 with a buffer per attribute
 * (renderUpdate's text: 0.21 ms), the bytes the same.
 */
class NlWriter {
  private buf = Buffer.allocUnsafe(8192);
  private len = 0;

  raw(type: number, v: Buffer): this {
    const at = this.open(type);
    this.room(v.length);
    v.copy(this.buf, this.len);
    this.len += v.length;
    return this.close(at);
  }

  str(type: number, s: string): this {
    const at = this.open(type);
    const n = Buffer.byteLength(s, 'latin1');
    this.room(n + 1);
    this.buf.write(s, this.len, 'latin1');
    this.buf[this.len + n] = 0;
    this.len += n + 1;
    return this.close(at);
  }

  u32(type: number, n: number): this {
    const at = this.open(type);
    this.room(4);
    this.buf.writeInt32BE(n | 0, this.len);
    this.len += 4;
    return this.close(at);
  }

  u8(type: number, n: number): this {
    const at = this.open(type);
    this.room(1);
    this.buf[this.len++] = n;
    return this.close(at);
  }

  nest(type: number, fill: (w: NlWriter) => void): this {
    const at = this.open(type | NLA_F_NESTED);
    fill(this);
    return this.close(at);
  }

  /** One netlink message with an nfgenmsg header; returns where its flags are. */
  message(type: number, flags: number, seq: number, family: number, resId: number, fill: (w: NlWriter) => void): number {
    this.room(20);
    const at = this.len;
    this.buf.writeUInt16LE(type, at + 4);
    this.buf.writeUInt16LE(flags, at + 6);
    this.buf.writeUInt32LE(seq, at + 8);
    this.buf.writeUInt32LE(0, at + 12);
    this.buf.writeUInt8(family, at + 16);
    this.buf.writeUInt8(0, at + 17);
    this.buf.writeUInt16BE(resId, at + 18);
    this.len += 20;
    fill(this);
    this.buf.writeUInt32LE(this.len - at, at);
    return at + 6;
  }

  addFlags(flagsAt: number, flags: number): void {
    this.buf.writeUInt16LE(this.buf.readUInt16LE(flagsAt) | flags, flagsAt);
  }

  /** A copy of what was written. */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const more = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(more, 0, 0, this.len);
    this.buf = more;
  }

  /** An attribute's header; its length is written by `close`. */
  private open(type: number): number {
    this.room(4);
    const at = this.len;
    this.buf.writeUInt16LE(type, at + 2);
    this.len += 4;
    return at;
  }

  /** The attribute's length, then zeros to the next 4 bytes. */
  private close(at: number): this {
    const length = this.len - at;
    // The length is 16 bits: a longer attribute would be cut, silently (elements are chunked below it).
    if (length > 0xffff) throw new RangeError(`netlink attribute ${this.buf.readUInt16LE(at + 2) & 0x3fff} of ${length - 4} bytes is too long`);
    this.buf.writeUInt16LE(length, at);
    const pad = (4 - (length % 4)) % 4;
    this.room(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
    return this;
  }
}

/** A data attribute (`NFTA_DATA_VALUE`) nested under `type`. */
const value = (type: number, v: Buffer) => (a: NlWriter) => a.nest(type, (d) => d.raw(DATA.VALUE, v));
const be32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0, 0); return b; };
const le32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0, 0); return b; };
const ip4 = (addr: string) => be32(parseAddress(addr));
/** A port as a concatenation field (2 bytes, big endian, padded to 4). */
const portField = (p: number) => Buffer.from([p >> 8, p & 0xff, 0, 0]);
/** A protocol as a concatenation field (1 byte, padded to 4). */
const protoField = (p: 'tcp' | 'udp') => Buffer.from([p === 'tcp' ? 6 : 17, 0, 0, 0]);
const udata = (entries: [number, Buffer][]) => Buffer.concat(entries.map(([t, v]) => Buffer.concat([Buffer.from([t, v.length]), v])));
const CONCAT_TYPEOF = udata([[TYPEOF_EXPR, le32(EXPR_CONCAT)], [TYPEOF_DATA, Buffer.alloc(0)]]);
/** Each set's user data, the same in every batch. */
const UDATA_OF = {
  vip_ports: udata([[UDATA.KEY_BYTEORDER, le32(0)], [UDATA.DATA_BYTEORDER, le32(0)], [UDATA.KEY_TYPEOF, CONCAT_TYPEOF], [UDATA.DATA_INTERVAL, le32(0)]]),
  vip_any: udata([[UDATA.KEY_BYTEORDER, le32(2)], [UDATA.DATA_BYTEORDER, le32(0)], [UDATA.DATA_INTERVAL, le32(0)]]),
  vip_none: udata([[UDATA.KEY_BYTEORDER, le32(2)]]),
  vip_gone: udata([[UDATA.KEY_BYTEORDER, le32(0)], [UDATA.KEY_TYPEOF, CONCAT_TYPEOF]]),
  /** A numgen pick's map: host-order keys, big-endian addresses. */
  pick: udata([[UDATA.KEY_BYTEORDER, le32(1)], [UDATA.DATA_BYTEORDER, le32(2)], [UDATA.DATA_INTERVAL, le32(0)]]),
} as const;

/** One expression of a rule: its name and attributes. */
type Expr = [name: string, fill: (a: NlWriter) => void];
const payload = (base: 1 | 2, offset: number, len: number, dreg: number): Expr => ['payload', (a) => a.u32(1, dreg).u32(2, base).u32(3, offset).u32(4, len)];
const NETWORK = 1;
const TRANSPORT = 2;
const meta = (key: number, dreg: number): Expr => ['meta', (a) => a.u32(2, key).u32(1, dreg)];
const META_L4PROTO = 16;
const cmpEq = (sreg: number, v: Buffer): Expr => ['cmp', (a) => { a.u32(1, sreg).u32(2, 0); value(3, v)(a); }];
const lookup = (set: string, id: number, sreg: number, dreg?: number): Expr => ['lookup', (a) => {
  a.u32(2, sreg);
  if (dreg !== undefined) a.u32(3, dreg);
  a.str(1, set).u32(4, id);
}];
const immediate = (dreg: number, v: Buffer): Expr => ['immediate', (a) => { a.u32(1, dreg); value(2, v)(a); }];
const numgenRandom = (mod: number, dreg: number): Expr => ['numgen', (a) => a.u32(1, dreg).u32(2, mod).u32(3, 1).u32(4, 0)];
/** numgen gives a host-order number; an interval map's keys are big endian (nft converts, as here). */
const htonl = (reg: number): Expr => ['byteorder', (a) => a.u32(1, reg).u32(2, reg).u32(3, 1).u32(4, 4).u32(5, 4)];
const dnat = (addrReg: number, protoReg?: number): Expr => ['nat', (a) => {
  a.u32(1, 1).u32(2, NFPROTO_IPV4).u32(3, addrReg);
  if (protoReg !== undefined) a.u32(5, protoReg).u32(7, 2); // NF_NAT_RANGE_PROTO_SPECIFIED
}];
const REJECT_ICMP_UNREACH = 0;
const REJECT_TCP_RST = 1;
const reject = (type: number, code: number): Expr => ['reject', (a) => a.u32(1, type).u8(2, code)];
const ct = (key: number, dreg: number, dir: 0 | 1): Expr => ['ct', (a) => a.u32(2, key).u32(1, dreg).u8(3, dir)];
const CT_SRC_IP = 19;
const CT_DST_IP = 20;
const bitwiseAnd = (reg: number, mask: number): Expr => ['bitwise', (a) => {
  a.u32(1, reg).u32(2, reg).u32(6, 0).u32(3, 1);
  value(4, Buffer.from([mask]))(a);
  value(5, Buffer.from([0]))(a);
}];

/** The batch being built: messages in order, numbered from 0 as nft does. */
class Batch {
  private readonly w = new NlWriter();
  private seq = 0;
  private nextSetId = 1;
  /** Where the last nf_tables message's flags are (the one that asks for an ACK). */
  private lastFlagsAt = -1;

  constructor() {
    this.w.message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, this.seq++, 0, NFNL_SUBSYS_NFTABLES, () => {});
  }

  setId(): number {
    return this.nextSetId++;
  }

  nft(type: number, flags: number, fill: (a: NlWriter) => void): void {
    this.lastFlagsAt = this.w.message((NFNL_SUBSYS_NFTABLES << 8) | type, flags | NLM_F_REQUEST, this.seq++, NFPROTO_IPV4, 0, fill);
  }

  /** The batch, and the sequence number of its last nf_tables message (the one answered whatever happens). */
  end(): { bytes: Buffer; lastSeq: number } {
    const lastSeq = this.seq - 1;
    this.w.message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, this.seq++, 0, NFNL_SUBSYS_NFTABLES, () => {});
    this.w.addFlags(this.lastFlagsAt, NLM_F_ACK);
    return { bytes: this.w.bytes(), lastSeq };
  }
}

interface SetSpec {
  name: string;
  flags: number;
  keyType: number;
  keyLen: number;
  data?: { type: number; len: number };
  /** Anonymous sets: their element count as nft declares it. */
  size?: number;
  udata: Buffer;
}

/** A set or map (a NEWSET), then its elements (a NEWSETELEM) when it has any; returns its id. */
function addSet(b: Batch, table: string, s: SetSpec, elems: ((a: NlWriter) => void)[]): number {
  const id = b.setId();
  b.nft(MSG.NEWSET, NLM_F_CREATE, (a) => {
    a.str(SET.TABLE, table).str(SET.NAME, s.name).u32(SET.FLAGS, s.flags).u32(SET.KEY_TYPE, s.keyType).u32(SET.KEY_LEN, s.keyLen);
    if (s.data) a.u32(SET.DATA_TYPE, s.data.type).u32(SET.DATA_LEN, s.data.len);
    a.u32(SET.ID, id);
    if (s.size !== undefined) a.nest(SET.DESC, (d) => d.u32(SET_DESC_SIZE, s.size!));
    a.raw(SET.USERDATA, s.udata);
  });
  if (elems.length) addElems(b, table, s.name, id, elems);
  return id;
}

/** Elements in one NEWSETELEM at most: each is ≤ ~112 bytes, and the list's length is 16 bits (nft splits too). */
const ELEMS_PER_MESSAGE = 500;

/** Elements added to set `name` (the kernel finds it by name, or by `id` among the sets this batch makes). */
function addElems(b: Batch, table: string, name: string, id: number, elems: ((a: NlWriter) => void)[]): void {
  for (let at = 0; at < elems.length; at += ELEMS_PER_MESSAGE) {
    const part = elems.slice(at, at + ELEMS_PER_MESSAGE);
    b.nft(MSG.NEWSETELEM, NLM_F_CREATE, (a) => a.str(ELEMS.TABLE, table).str(ELEMS.SET, name).u32(ELEMS.SET_ID, id)
      .nest(ELEMS.ELEMENTS, (l) => part.forEach((e, i) => l.nest(i + 1, e)))); // numbered from 1, as nft does (the kernel reads any type)
  }
}

/** An element: its key, and its data (a value, or a goto verdict) if a map's. */
function elem(key: Buffer, data?: Buffer | { goto: string }, flags?: number): (a: NlWriter) => void {
  return (a) => {
    if (flags !== undefined) a.u32(ELEM.FLAGS, flags);
    value(ELEM.KEY, key)(a);
    if (Buffer.isBuffer(data)) value(ELEM.DATA, data)(a);
    else if (data) {
      const chain = data.goto;
      a.nest(ELEM.DATA, (d) => d.nest(DATA.VERDICT, (v) => v.u32(VERDICT.CODE, NFT_GOTO).str(VERDICT.CHAIN, chain)));
    }
  };
}

function addRule(b: Batch, table: string, chain: string, exprs: Expr[]): void {
  b.nft(MSG.NEWRULE, NLM_F_CREATE | NLM_F_APPEND, (a) => a.str(RULE.TABLE, table).str(RULE.CHAIN, chain)
    .nest(RULE.EXPRESSIONS, (l) => { for (const [name, fill] of exprs) l.nest(LIST_ELEM, (e) => e.str(EXPR.NAME, name).nest(EXPR.DATA, fill)); }));
}

/**
 * The anonymous map of a numgen pick (backend addresses keyed by the number: host order, or
 * big-endian intervals for weights), then the rule's expressions up to the address in R1.
 */
function pickExprs(b: Batch, table: string, p: Exclude<PickPlan, { kind: 'one' }>): Expr[] {
  // An interval map only where some number range is wider than one, as nft makes it.
  const ranged = p.entries.some((e) => e.to > e.from);
  const spec: SetSpec = {
    name: '__map%d',
    flags: SET_FLAG.ANONYMOUS | SET_FLAG.CONSTANT | SET_FLAG.MAP | (ranged ? SET_FLAG.INTERVAL : 0),
    keyType: TYPE.integer, keyLen: 4, data: { type: TYPE.ipv4_addr, len: 4 },
    size: ranged ? 2 * p.entries.length : p.entries.length,
    udata: UDATA_OF.pick,
  };
  const elems = ranged
    ? [...p.entries.map((e) => elem(be32(e.from), ip4(e.addr))), elem(be32(p.mod), undefined, ELEM_INTERVAL_END)]
    : p.entries.map((e) => elem(le32(e.from), ip4(e.addr)));
  const id = addSet(b, table, spec, elems);
  return [numgenRandom(p.mod, REG.R1), ...(ranged ? [htonl(REG.R1)] : []), lookup('__map%d', id, REG.R1, REG.R1)];
}

function chainRule(b: Batch, table: string, c: VipChain): void {
  const exprs: Expr[] = [];
  if (c.protocol) exprs.push(meta(META_L4PROTO, REG.R1), cmpEq(REG.R1, Buffer.from([c.protocol === 'tcp' ? 6 : 17])));
  exprs.push(...(c.pick.kind === 'one' ? [immediate(REG.R1, ip4(c.pick.addr))] : pickExprs(b, table, c.pick)));
  if (c.targetPort !== undefined) exprs.push(immediate(REG.R2, Buffer.from([c.targetPort >> 8, c.targetPort & 0xff])), dnat(REG.R1, REG.R2));
  else exprs.push(dnat(REG.R1));
  addRule(b, table, c.name, exprs);
}

/** The table's four named sets and maps, in the order nft declares them, each with its elements. */
function namedSets(plan: VipPlan): { spec: SetSpec; elems: ((a: NlWriter) => void)[] }[] {
  const verdict = { type: TYPE.verdict, len: 0 };
  return [
    {
      spec: {
        name: 'vip_ports', flags: SET_FLAG.MAP, keyType: concatType(TYPE.ipv4_addr, TYPE.inet_proto, TYPE.inet_service), keyLen: 12, data: verdict,
        udata: UDATA_OF.vip_ports,
      },
      elems: plan.ports.map((e) => elem(Buffer.concat([ip4(e.vip), protoField(e.protocol), portField(e.port)]), { goto: e.chain })),
    },
    {
      spec: {
        name: 'vip_any', flags: SET_FLAG.MAP, keyType: TYPE.ipv4_addr, keyLen: 4, data: verdict,
        udata: UDATA_OF.vip_any,
      },
      elems: plan.any.map((e) => elem(ip4(e.vip), { goto: e.chain })),
    },
    {
      spec: { name: 'vip_none', flags: 0, keyType: TYPE.ipv4_addr, keyLen: 4, udata: UDATA_OF.vip_none },
      elems: plan.none.map((v) => elem(ip4(v))),
    },
    {
      spec: {
        name: 'vip_gone', flags: 0, keyType: concatType(TYPE.ipv4_addr, TYPE.ipv4_addr), keyLen: 8,
        udata: UDATA_OF.vip_gone,
      },
      elems: plan.gone.map((g) => elem(Buffer.concat([ip4(g.vip), ip4(g.backend)]))),
    },
  ];
}

/**
 * The batch that turns the table of `applied` into the one of `services` in place, as
 * `renderUpdate`'s text does (its comment says why not a whole replacement): the maps and
 * sets emptied and refilled, the per-port chains deleted, flushed and refilled, or added,
 * the hook chains untouched. `lastSeq` as for {@link encodeVipReplace}.
 */
export function encodeVipUpdate(applied: readonly VipService[], services: readonly VipService[], opts: RulesetOptions = {}): { bytes: Buffer; lastSeq: number } {
  const table = tableName(opts, DEFAULT_TABLE);
  const was = new Set(vipPlan(applied).chains.map((c) => c.name));
  const plan = vipPlan(services);
  const now = new Set(plan.chains.map((c) => c.name));
  const sets = namedSets(plan);
  const b = new Batch();
  // The named sets keep ids 1–4 in this batch (as declared), anonymous ones follow.
  sets.forEach(() => b.setId());
  // Emptied first: a deleted chain must have no map element pointing at it.
  for (const { spec } of sets) b.nft(MSG.DELSETELEM, 0, (a) => a.str(ELEMS.SET, spec.name).str(ELEMS.TABLE, table));
  for (const name of was) if (!now.has(name)) b.nft(MSG.DELCHAIN, 0, (a) => a.str(CHAIN.TABLE, table).str(CHAIN.NAME, name));
  for (const c of plan.chains) {
    if (was.has(c.name)) b.nft(MSG.DELRULE, 0, (a) => a.str(RULE.TABLE, table).str(RULE.CHAIN, c.name));
    else b.nft(MSG.NEWCHAIN, NLM_F_CREATE, (a) => a.str(CHAIN.TABLE, table).str(CHAIN.NAME, c.name));
    chainRule(b, table, c);
  }
  sets.forEach(({ spec, elems }, i) => {
    if (elems.length) addElems(b, table, spec.name, i + 1, elems);
  });
  return b.end();
}

/**
 * The batch that replaces `ip TABLE` with the table of `services` (as `renderReplace`):
 * `bytes`, and `lastSeq`, the sequence number of the message whose answer comes last.
 */
export function encodeVipReplace(services: readonly VipService[], opts: RulesetOptions = {}): { bytes: Buffer; lastSeq: number } {
  return encodePlan(vipPlan(services), tableName(opts, DEFAULT_TABLE), opts.priority ?? -100);
}

function encodePlan(plan: VipPlan, table: string, prio: number): { bytes: Buffer; lastSeq: number } {
  const b = new Batch();
  const tbl = (a: NlWriter) => a.str(TABLE.NAME, table);
  // `table ip T; delete table ip T;` then the table: the delete never fails.
  b.nft(MSG.NEWTABLE, 0, (a) => tbl(a).u32(TABLE.FLAGS, 0));
  b.nft(MSG.DELTABLE, 0, tbl);
  b.nft(MSG.NEWTABLE, 0, (a) => tbl(a).u32(TABLE.FLAGS, 0));
  const hooks: [string, 'nat' | 'filter', keyof typeof HOOKNUM, number][] = [
    ['output', 'nat', 'output', prio], ['prerouting', 'nat', 'prerouting', prio],
    ['reject_output', 'filter', 'output', 0], ['reject_forward', 'filter', 'forward', 0],
  ];
  for (const [name, type, hook, priority] of hooks) {
    b.nft(MSG.NEWCHAIN, NLM_F_CREATE, (a) => a.str(CHAIN.TABLE, table).str(CHAIN.NAME, name).str(CHAIN.TYPE, type).u32(CHAIN.POLICY, NF_ACCEPT)
      .nest(CHAIN.HOOK, (h) => h.u32(HOOK.NUM, HOOKNUM[hook]).u32(HOOK.PRIORITY, priority)));
  }
  for (const c of plan.chains) b.nft(MSG.NEWCHAIN, NLM_F_CREATE, (a) => a.str(CHAIN.TABLE, table).str(CHAIN.NAME, c.name));

  const [ports, any, none, gone] = namedSets(plan).map((x) => addSet(b, table, x.spec, x.elems));

  // ip daddr . meta l4proto . th dport vmap @vip_ports; ip daddr vmap @vip_any
  const natRules = (chain: string) => {
    addRule(b, table, chain, [payload(NETWORK, 16, 4, REG.R1), meta(META_L4PROTO, REG.R32_01), payload(TRANSPORT, 2, 2, REG.R32_02), lookup('vip_ports', ports, REG.R1, REG.VERDICT)]);
    addRule(b, table, chain, [payload(NETWORK, 16, 4, REG.R1), lookup('vip_any', any, REG.R1, REG.VERDICT)]);
  };
  // ip daddr @vip_none reject; tcp flags & rst == 0 ct original ip daddr . ct reply ip saddr @vip_gone reject with tcp reset
  const rejectRules = (chain: string) => {
    addRule(b, table, chain, [payload(NETWORK, 16, 4, REG.R1), lookup('vip_none', none, REG.R1), reject(REJECT_ICMP_UNREACH, 3)]);
    addRule(b, table, chain, [
      meta(META_L4PROTO, REG.R1), cmpEq(REG.R1, Buffer.from([6])), payload(TRANSPORT, 13, 1, REG.R1), bitwiseAnd(REG.R1, 0x04), cmpEq(REG.R1, Buffer.from([0])),
      ct(CT_DST_IP, REG.R1, 0), ct(CT_SRC_IP, REG.R32_01, 1), lookup('vip_gone', gone, REG.R1), reject(REJECT_TCP_RST, 0),
    ]);
  };
  natRules('output');
  natRules('prerouting');
  rejectRules('reject_output');
  rejectRules('reject_forward');
  for (const c of plan.chains) chainRule(b, table, c);
  return b.end();
}
