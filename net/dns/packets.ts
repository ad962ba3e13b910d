/**
 * DNS wire replies built from `records.ts` answers, with `dns-packet`. Pure: packets in,
 * buffers out.
 */
import dnsPacket, { type Packet, type Answer } from 'dns-packet';
import type { DnsAnswer } from './records.ts';

/** Classic UDP DNS limit (no EDNS): longer answers are cut and flagged TC. */
export const UDP_LIMIT = 512;
/** Largest DNS message over TCP (2-byte length prefix). */
export const TCP_LIMIT = 65535;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
const FLAG_RD = dnsPacket.RECURSION_DESIRED;
const FLAG_RA = dnsPacket.RECURSION_AVAILABLE;
const FLAG_AA = 1 << 10;
const FLAG_TC = 1 << 9;

/** Decodes a datagram as a query; `undefined` for anything malformed or not a query with one question. */
export function decodeQuery(msg: Buffer): Packet | undefined {
  let p: Packet;
  try { p = dnsPacket.decode(msg); } catch { return undefined; }
  if (p.type !== 'query' || !p.questions || p.questions.length !== 1) return undefined;
  return p;
}

/**
 * The reply to `query` from a swarm answer: A records for an A question (`ttl` seconds,
 * addresses in the given order), an empty NOERROR for other types of a known name,
 * NXDOMAIN for unknown swarm names. Over `limit` bytes, answers are dropped from
 * the end and TC is set (`limit`: `UDP_LIMIT`, or `TCP_LIMIT` over TCP). Must not be called
 * with a `forward` answer.
 */
export function encodeAnswer(query: Packet, answer: DnsAnswer, ttl: number, limit = UDP_LIMIT): Buffer {
  if (answer.kind === 'forward') throw new Error('dns: assertion failed: a forward answer has no local reply');
  const q = query.questions![0];
  const answers: Answer[] = answer.kind === 'answer' && q.type === 'A'
    ? answer.ips.map((ip) => ({ type: 'A', class: 'IN', name: q.name, ttl, data: ip }))
    : [];
  const rcode = answer.kind === 'nxdomain' ? RCODE.NXDOMAIN : RCODE.NOERROR;
  let flags = ((query.flags ?? 0) & FLAG_RD) | FLAG_RA | FLAG_AA | rcode;
  let buf = encode(query, flags, answers);
  while (buf.length > limit && answers.length > 0) {
    answers.pop();
    flags |= FLAG_TC;
    buf = encode(query, flags, answers);
  }
  return buf;
}

/** A SERVFAIL reply to `query` (no upstream, or none answered in time). */
export function encodeServfail(query: Packet): Buffer {
  return encode(query, ((query.flags ?? 0) & FLAG_RD) | FLAG_RA | RCODE.SERVFAIL, []);
}

/** A REFUSED reply to `query`, recursion not available (a name outside the swarm asked where nothing is forwarded). */
export function encodeRefused(query: Packet): Buffer {
  return encode(query, ((query.flags ?? 0) & FLAG_RD) | RCODE.REFUSED, []);
}

/** The message id of a raw DNS datagram, or -1 when it is too short. */
export function messageId(msg: Buffer): number {
  return msg.length >= 2 ? msg.readUInt16BE(0) : -1;
}

function encode(query: Packet, flags: number, answers: Answer[]): Buffer {
  return dnsPacket.encode({ id: query.id, type: 'response', flags, questions: query.questions, answers });
}
