// vip-netlink's framing (pure; the kernel's view of the same batches is vip-netlink.lab in
// src/agent/network): a batch begins and ends as nfnetlink wants, only its last nf_tables
// message asks for an ACK (lastSeq names it), and big sets are split so no attribute passes
// its 16-bit length.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeVipReplace, encodeVipUpdate } from './vip-netlink.ts';
import type { VipService } from './ruleset.ts';

interface Msg { type: number; flags: number; seq: number; body: Buffer }

function messages(bytes: Buffer): Msg[] {
  const out: Msg[] = [];
  for (let off = 0; off < bytes.length;) {
    const len = bytes.readUInt32LE(off);
    assert.ok(len >= 20 && len % 4 === 0 && off + len <= bytes.length, `message at ${off}: length ${len}`);
    out.push({ type: bytes.readUInt16LE(off + 4), flags: bytes.readUInt16LE(off + 6), seq: bytes.readUInt32LE(off + 8), body: bytes.subarray(off + 20, off + len) });
    off += len;
  }
  return out;
}

/** The top-level attributes of a message body: [type, value]. */
function attrs(body: Buffer): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (let off = 0; off + 4 <= body.length;) {
    const len = body.readUInt16LE(off);
    out.push([body.readUInt16LE(off + 2) & 0x3fff, body.subarray(off + 4, off + len)]);
    off += (len + 3) & ~3;
  }
  return out;
}

const NEWSETELEM = (10 << 8) | 12;

test('a batch: begin, nf_tables messages numbered on, end; only the last nf_tables message asks for an ACK', () => {
  const svc: VipService[] = [{ name: 'web', vip: '10.0.0.2', backends: ['10.0.0.5', '10.0.0.6'] }];
  for (const { bytes, lastSeq } of [encodeVipReplace(svc), encodeVipUpdate(svc, [])]) {
    const m = messages(bytes);
    assert.is(m[0].type, 0x10, 'batch begin');
    assert.is(m.at(-1)!.type, 0x11, 'batch end');
    assert.equal(m.map((x) => x.seq), m.map((_, i) => i));
    const acked = m.filter((x) => x.flags & 0x4);
    assert.equal(acked.map((x) => x.seq), [lastSeq]);
    assert.is(lastSeq, m.length - 2, 'the last before the end');
  }
});

test('big sets are split over messages, every attribute under 64 KB, no element lost', () => {
  const many: VipService[] = Array.from({ length: 1200 }, (_, i) => ({ name: `s${i}`, vip: `10.98.${i >> 8}.${i & 255}`, backends: ['10.99.0.1', '10.99.0.2'] }));
  const m = messages(encodeVipReplace(many).bytes).filter((x) => x.type === NEWSETELEM);
  const anyParts = m.filter((x) => attrs(x.body).some(([t, v]) => t === 2 && v.toString('latin1') === 'vip_any\0'));
  assert.is(anyParts.length, 3, '1,200 elements in 3 messages');
  const counts = anyParts.map((x) => attrs(attrs(x.body).find(([t]) => t === 3)![1]).length);
  assert.equal(counts, [500, 500, 200]);
  for (const x of m) for (const [, v] of attrs(x.body)) assert.ok(v.length < 0xffff);
});

test.run();
