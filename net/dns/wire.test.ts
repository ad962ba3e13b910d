// The hand-written hot path against dns-packet, the general codec: the same questions
// read, the same replies meant, and hostile bytes never throwing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { decodeQuery, encodeAnswer, TCP_LIMIT, UDP_LIMIT } from './packets.ts';
import { readPlainQuery, writeReply, RCODE_NOERROR, RCODE_NXDOMAIN } from './wire.ts';

type Reply = DecodedPacket & { rcode: string; flag_aa: boolean; flag_tc: boolean; flag_rd: boolean; flag_ra: boolean };

const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const qtype = fc.constantFrom('A', 'AAAA', 'MX', 'TXT') as fc.Arbitrary<'A' | 'AAAA' | 'MX' | 'TXT'>;
const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));

function query(id: number, n: string, type: 'A' | 'AAAA' | 'MX' | 'TXT', rd: boolean): Buffer {
  return dnsPacket.encode({ id, type: 'query', flags: rd ? dnsPacket.RECURSION_DESIRED : 0, questions: [{ type, class: 'IN', name: n }] });
}

test('a plain query reads as dns-packet reads it', () => {
  fc.assert(fc.property(fc.nat(0xffff), name, qtype, fc.boolean(), (id, n, t, rd) => {
    const msg = query(id, n, t, rd);
    const q = readPlainQuery(msg)!;
    const p = decodeQuery(msg)!;
    assert.ok(q, 'read');
    assert.is(q.id, p.id);
    assert.is(q.name, p.questions![0].name.toLowerCase());
    assert.is(q.qtype, ({ A: 1, AAAA: 28, MX: 15, TXT: 16 } as const)[t]);
    assert.is(q.qclass, 1);
  }), { numRuns: 500 });
});

test('replies mean what the dns-packet replies mean', () => {
  fc.assert(fc.property(fc.nat(0xffff), name, qtype, fc.boolean(), fc.array(ip, { maxLength: 8 }), fc.boolean(), (id, n, t, rd, ips, known) => {
    const msg = query(id, n, t, rd);
    const answer = known ? { kind: 'answer' as const, ips } : { kind: 'nxdomain' as const };
    const ours = dnsPacket.decode(writeReply(msg, readPlainQuery(msg)!, { rcode: known ? RCODE_NOERROR : RCODE_NXDOMAIN, ips: known ? ips : undefined, ttl: 600, limit: TCP_LIMIT, authoritative: true, recursion: true })) as Reply;
    const theirs = dnsPacket.decode(encodeAnswer(decodeQuery(msg)!, answer, 600, TCP_LIMIT)) as Reply;
    for (const k of ['id', 'type', 'rcode', 'flag_aa', 'flag_tc', 'flag_rd', 'flag_ra'] as const) assert.equal(ours[k], theirs[k], k);
    assert.equal(ours.questions, theirs.questions);
    assert.equal(ours.answers, theirs.answers);
  }), { numRuns: 500 });
});

test('an answer over the UDP limit is cut and flagged TC, and stays under it', () => {
  const msg = query(7, 'many', 'A', true);
  const ips = Array.from({ length: 60 }, (_, i) => `10.0.0.${i}`);
  const buf = writeReply(msg, readPlainQuery(msg)!, { rcode: 0, ips, ttl: 600, limit: UDP_LIMIT, authoritative: true, recursion: true });
  const r = dnsPacket.decode(buf) as Reply;
  assert.ok(buf.length <= UDP_LIMIT);
  assert.ok(r.flag_tc);
  assert.ok(r.answers!.length > 0 && r.answers!.length < 60);
  assert.equal(r.answers!.map((a) => (a as { data: string }).data), ips.slice(0, r.answers!.length));
});

test('hostile bytes never throw; what is read as plain decodes the same in dns-packet', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    const msg = Buffer.from(bytes);
    const q = readPlainQuery(msg);
    if (!q) return;
    const p = decodeQuery(msg);
    assert.ok(p, 'dns-packet takes it too');
    assert.is(q.name, p!.questions![0].name.toLowerCase());
  }), { numRuns: 3000 });
  // Shapes the general path must get: a reply, two questions, a compressed name.
  const ok = query(1, 'web', 'A', true);
  const reply = Buffer.from(ok); reply[2] |= 0x80;
  assert.is(readPlainQuery(reply), undefined);
  const two = dnsPacket.encode({ id: 1, type: 'query', questions: [{ type: 'A', name: 'a' }, { type: 'A', name: 'b' }] });
  assert.is(readPlainQuery(two), undefined);
  const pointer = Buffer.concat([ok.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
  assert.is(readPlainQuery(pointer), undefined);
  assert.is(readPlainQuery(ok.subarray(0, ok.length - 1)), undefined, 'a cut question');
});

test.run();
