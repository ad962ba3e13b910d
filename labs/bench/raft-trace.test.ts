// The raft bench's stage trace: each stage is measured between the right events, a write
// committed by two followers before the leader's own sync has no own-sync stage, and a
// window is reset when it is read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_PENDING, StageTrace, dist, slowWrites } from './raft-trace.ts';

test('raft-trace: dist gives n, percentiles and max of a sample', () => {
  assert.is(dist([]), null);
  assert.equal(dist([3, 1, 2, 4]), { n: 4, p50: 3, p90: 4, p99: 4, max: 4 });
});

test('raft-trace: slowWrites splits the p99 writes by what they waited for and GC overlap', () => {
  assert.is(slowWrites([], []), null);
  // 100 writes of 1 ms, then two slow ones: one bound by the own sync during a pause, one by the ack.
  const w: [number, number, number, number, number][] = Array.from({ length: 100 }, (_, i) => [i * 10, i * 10, i * 10 + 0.5, i * 10 + 0.6, i * 10 + 1]);
  w.push([2000, 2000, 2008, 2001, 2009], [3000, 3000, 3001, 3007, 3008]);
  const s = slowWrites(w, [[2002, 2006]])!;
  assert.equal([s.n, s.threshold_ms, s.own_sync_bound, s.first_ack_bound, s.overlapping_gc], [2, 8, 1, 1, 1]);
  assert.is(s.sent_to_own_sync_p50, 8); // of 8 and 1 ms, the upper middle
});

test('raft-trace: leader stages follow propose, send, own sync, first ack, apply', () => {
  const t = new StageTrace();
  try {
    t.appendSent(5, 6, 10);
    t.saved(5, 6, 2, 13);
    t.appendAcked(5, 12); // acks 5 only
    t.appendAcked(6, 14);
    t.appendAcked(6, 15); // a second follower's ack is not the first
    t.applied(5, 9, 13.5);
    t.applied(6, 9.5, 14.25);
    const out = t.take({ member: 'm0' }) as { member: string; stages: Record<string, { n: number; max: number; p50: number } | null> };
    assert.is(out.member, 'm0');
    assert.equal(out.stages.propose_to_sent, { n: 2, p50: 1, p90: 1, p99: 1, max: 1 });
    assert.is(out.stages.sent_to_own_sync!.max, 3);
    assert.equal([out.stages.sent_to_first_ack!.p50, out.stages.sent_to_first_ack!.max], [4, 4]);
    assert.is(out.stages.sent_to_first_ack!.n, 2);
    assert.equal([out.stages.ready_to_applied!.n, out.stages.ready_to_applied!.max], [2, 0.5]);
    assert.is(out.stages.save!.n, 1);
    // Read once: the next window starts empty.
    const again = t.take({}) as { stages: Record<string, unknown> };
    assert.is(again.stages.propose_to_applied, null);
  } finally {
    t.close();
  }
});

test('raft-trace: an entry committed without the leader\'s own sync has no own-sync stage', () => {
  const t = new StageTrace();
  try {
    t.appendSent(1, 1, 0);
    t.appendAcked(1, 1);
    t.applied(1, 0, 2);
    const out = t.take({}) as { stages: Record<string, { n: number } | null> };
    assert.is(out.stages.sent_to_own_sync, null);
    assert.is(out.stages.ready_to_applied, null);
    assert.is(out.stages.propose_to_applied!.n, 1);
  } finally {
    t.close();
  }
});

test('raft-trace: a follower times each append from arrival to its acknowledgement', () => {
  const t = new StageTrace();
  try {
    t.appendReceived(3, 100);
    t.appendReceived(4, 101);
    t.ackSent(4, 103);
    const out = t.take({}) as { stages: Record<string, { n: number; max: number } | null> };
    assert.equal([out.stages.recv_to_ack!.n, out.stages.recv_to_ack!.max], [2, 3]);
  } finally {
    t.close();
  }
});

test('raft-trace: a follower\'s saves, never applied here, are forgotten past the bound', () => {
  const t = new StageTrace();
  try {
    t.saved(1, MAX_PENDING + 1, 1, 0);
    t.appendSent(5, 5, 1);
    t.applied(5, 0, 2);
    const out = t.take({}) as { stages: Record<string, { n: number } | null> };
    assert.is(out.stages.sent_to_own_sync, null, 'the save of entry 5 was forgotten');
    assert.is(out.stages.propose_to_sent!.n, 1);
  } finally {
    t.close();
  }
});

test.run();
