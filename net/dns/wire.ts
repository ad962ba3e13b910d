/**
 * The hot path of the embedded DNS, without a general DNS codec: a plain query (one
 * question, no compression, opcode QUERY) is read straight from the datagram and its
 * reply written straight into one buffer. `dns-packet` (packets.ts) builds an object
 * graph per query and per reply; on the path every task's name lookup takes, those
 * allocations are what the garbage collector later stops the loop for, and the tail of
 * the latency is made of such stops. Anything this reader does not take (several
 * questions, name compression in a query, unusual label bytes) returns undefined and
 * goes the general way, which also decides what is malformed. Pure: bytes in, bytes out.
 */

/** A plain query as read from the wire. */
export interface PlainQuery {
  id: number;
  /** The header's flags word (RD is the only bit the reply keeps). */
  flags: number;
  /** The question's name, lower-case, without a trailing dot. */
  name: string;
  qtype: number;
  qclass: number;
  /** Offset just past the question (the raw question is copied into the reply). */
  questionEnd: number;
}

const HEADER = 12;
const QR = 0x8000;
const OPCODE = 0x7800;
const RD = 0x0100;
const RA = 0x0080;
const AA = 0x0400;
const TC = 0x0200;
/** One A record with a compressed name (pointer to the question at offset 12). */
const A_RECORD = 16;

export const QTYPE_A = 1;
export const QCLASS_IN = 1;
export const RCODE_NOERROR = 0;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_REFUSED = 5;

/**
 * Reads a plain query, or returns undefined when the datagram is anything else (a reply,
 * another opcode, not exactly one question, records in the answer or authority sections,
 * a compressed or oversized name, label bytes outside printable ASCII or a '.').
 */
export function readPlainQuery(msg: Buffer): PlainQuery | undefined {
  if (msg.length < HEADER + 5) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & (QR | OPCODE)) return undefined;
  if (msg.readUInt16BE(4) !== 1 || msg.readUInt16BE(6) !== 0 || msg.readUInt16BE(8) !== 0) return undefined;
  let off = HEADER;
  let name = '';
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off++];
    if (len === 0) break;
    if (len > 63 || off + len > msg.length) return undefined;
    if (name.length + len + 1 > 254) return undefined;
    for (let i = off; i < off + len; i++) {
      const b = msg[i];
      if (b < 0x21 || b > 0x7e || b === 0x2e) return undefined;
    }
    name += (name ? '.' : '') + msg.toString('latin1', off, off + len).toLowerCase();
    off += len;
  }
  if (off + 4 > msg.length) return undefined;
  return { id: msg.readUInt16BE(0), flags, name, qtype: msg.readUInt16BE(off), qclass: msg.readUInt16BE(off + 2), questionEnd: off + 4 };
}

/**
 * The reply to `q` (read from `msg`): `rcode`, and for an A question the A records of
 * `ips` in order, each with `ttl`. Over `limit` bytes, records are dropped from the end
 * and TC is set. `authoritative`: a swarm answer (AA and RA set, as Docker's); false for
 * SERVFAIL / REFUSED (RA set only when `recursion`).
 */
export function writeReply(msg: Buffer, q: PlainQuery, o: { rcode: number; ips?: readonly string[]; ttl?: number; limit: number; authoritative: boolean; recursion: boolean }): Buffer {
  const questionLen = q.questionEnd - HEADER;
  let count = q.qtype === QTYPE_A && o.ips ? o.ips.length : 0;
  let flags = QR | (q.flags & RD) | (o.recursion ? RA : 0) | (o.authoritative ? AA : 0) | o.rcode;
  const room = Math.floor((o.limit - HEADER - questionLen) / A_RECORD);
  if (count > room) {
    count = Math.max(0, room);
    flags |= TC;
  }
  const out = Buffer.allocUnsafe(HEADER + questionLen + count * A_RECORD);
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(count, 6);
  out.writeUInt32BE(0, 8);
  msg.copy(out, HEADER, HEADER, q.questionEnd);
  let off = HEADER + questionLen;
  for (let i = 0; i < count; i++) {
    out.writeUInt16BE(0xc00c, off);
    out.writeUInt16BE(QTYPE_A, off + 2);
    out.writeUInt16BE(QCLASS_IN, off + 4);
    out.writeUInt32BE(o.ttl ?? 0, off + 6);
    out.writeUInt16BE(4, off + 10);
    writeIpv4(out, off + 12, o.ips![i]);
    off += A_RECORD;
  }
  return out;
}

/** Writes dotted-quad `ip` as 4 bytes at `off` (the addresses come from our own table). */
function writeIpv4(out: Buffer, off: number, ip: string): void {
  let part = 0;
  let k = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) {
      out[off + k++] = part;
      part = 0;
    } else {
      part = part * 10 + (c - 0x30);
    }
  }
  out[off + k] = part;
}
