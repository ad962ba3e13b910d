import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProposalDroppedError } from '../errors.ts';
import { emptyConfState, MessageType, StateRole, type Message } from '../types.ts';
import { DiskStorage } from '../wal/index.ts';
import { LeaderChangedError, NodeStoppedError } from './errors.ts';
import { MemoryDurableStorage } from './memory-durable-storage.ts';
import { TestCluster, enc } from './test-cluster.ts';

/** A promise's outcome, observable without awaiting it. */
function track<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const t: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then((v) => Object.assign(t, { done: true, value: v }), (e: unknown) => Object.assign(t, { done: true, error: e }));
  return t;
}

const ABC = ['a', 'b', 'c'];

const basics = suite('RaftNode basics');

basics('three nodes elect one leader and the others follow it', async () => {
  const c = new TestCluster(1);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    for (const m of c.members.values()) {
      assert.is(m.node.leaderId, l.id);
      assert.ok(m.events.some((e) => e.kind === 'leader' && e.leader === l.id));
    }
    assert.ok(l.events.some((e) => e.kind === 'role' && e.role === StateRole.Leader));
  } finally {
    await c.stopAll();
  }
});

basics('propose resolves after commit with the state machine result, and every node applies it', async () => {
  const c = new TestCluster(2);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const p = track(l.node.propose(enc('x=1')));
    await c.waitFor(() => p.done, 'proposal');
    const { index, result } = p.value as { index: number; result: unknown };
    assert.is(result, `x=1@${index}`);
    await c.applied(index);
    for (const m of c.members.values()) assert.equal(m.sm.applied, ['x=1']);
  } finally {
    await c.stopAll();
  }
});

basics('proposals made in the same turn share one save on the leader and one append per follower', async () => {
  const c = new TestCluster(3);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    await c.advance(200);
    const storage = l.storage as MemoryDurableStorage;
    const before = storage.saves;
    const apps: Message[] = [];
    c.net.filter = (m) => {
      if (m.type === MessageType.App && m.entries.length > 0) apps.push(m);
      return true;
    };
    const ps = Array.from({ length: 20 }, (_, i) => track(l.node.propose(enc(`k${i}`))));
    await c.settle();
    assert.ok(ps.every((p) => p.done && !p.error), 'all committed without ticking');
    // One save for the 20 entries, at most one more for the commit index.
    assert.ok(storage.saves - before <= 2, `saves: ${storage.saves - before}`);
    // And one append per follower carries them all (proposals batched across callers).
    assert.equal(apps.map((m) => m.entries.length).sort(), [20, 20]);
    assert.equal(ps.map((p) => (p.value as { index: number }).index), ps.map((_, i) => (ps[0].value as { index: number }).index + i));
  } finally {
    await c.stopAll();
  }
});

/** A storage whose saves can be held back, like a slow fsync. */
class GatedStorage extends MemoryDurableStorage {
  held = false;
  /** `save` calls, counted when made (held ones too). */
  calls = 0;
  private waiting: (() => void)[] = [];
  override async save(batch: Parameters<MemoryDurableStorage['save']>[0]): Promise<void> {
    this.calls++;
    if (this.held) await new Promise<void>((r) => this.waiting.push(r));
    return super.save(batch);
  }
  release(): void {
    this.held = false;
    for (const r of this.waiting.splice(0)) r();
  }
}

basics('two followers\' acks commit and apply while the leader\'s own write is held; it counts itself only after', async () => {
  const c = new TestCluster(10);
  const gated = new Map(ABC.map((id) => [id, new GatedStorage({ confState: { ...emptyConfState(), voters: ABC } })]));
  try {
    for (const id of ABC) await c.start(id, gated.get(id)!);
    const l = await c.leader();
    await c.advance(200);
    const g = gated.get(l.id)!;
    g.held = true;
    const p = track(l.node.propose(enc('fast')));
    await c.waitFor(() => p.done, 'the proposal, committed by the two followers');
    assert.is(p.error, undefined);
    const index = (p.value as { index: number }).index;
    assert.equal(l.sm.applied, ['fast']);
    // The leader's write is still held: its own match must not cover the entry yet.
    assert.ok(g.lastIndex() < index, 'the leader has not written the entry');
    assert.ok(l.node.status().progress.get(l.id)!.match < index, 'the leader counted itself for an entry it has not written');
    // Pipelining: a second proposal goes out to the followers while the first write is held.
    const q = track(l.node.propose(enc('next')));
    await c.waitFor(() => q.done, 'the second proposal, also behind the held write');
    assert.ok(l.node.status().progress.get(l.id)!.match < index);
    g.release();
    await c.waitFor(() => l.node.status().progress.get(l.id)!.match >= index + 1, 'the leader counts itself once written');
    assert.ok(g.lastIndex() >= index + 1);
    assert.equal(l.sm.applied, ['fast', 'next'], 'nothing applied twice');
  } finally {
    for (const g of gated.values()) g.release();
    await c.stopAll();
  }
});

basics('followers acknowledge only what they have written, even with appends pipelined behind a held write', async () => {
  const c = new TestCluster(11);
  const gated = new Map(ABC.map((id) => [id, new GatedStorage({ confState: { ...emptyConfState(), voters: ABC } })]));
  try {
    for (const id of ABC) await c.start(id, gated.get(id)!);
    const l = await c.leader();
    await c.advance(200);
    const followers = ABC.filter((id) => id !== l.id);
    for (const id of followers) gated.get(id)!.held = true;
    const p = track(l.node.propose(enc('one')));
    const q = track(l.node.propose(enc('two')));
    await c.advance(300);
    assert.not.ok(p.done || q.done, 'committed on acks of unwritten entries');
    const last = l.node.status().progress.get(l.id)!.match;
    for (const id of followers) assert.ok(l.node.status().progress.get(id)!.match < last, `${id} acknowledged an unwritten entry`);
    gated.get(followers[0])!.release();
    await c.waitFor(() => p.done && q.done, 'both proposals once one follower wrote them');
    assert.is(p.error, undefined);
    assert.ok(l.node.status().progress.get(followers[1])!.match < last, 'the held follower acknowledged early');
  } finally {
    for (const g of gated.values()) g.release();
    await c.stopAll();
  }
});

basics('a follower gathers appends that arrive during its write into one write and one reply', async () => {
  const c = new TestCluster(12);
  const gated = new Map(ABC.map((id) => [id, new GatedStorage({ confState: { ...emptyConfState(), voters: ABC } })]));
  try {
    for (const id of ABC) await c.start(id, gated.get(id)!);
    const l = await c.leader();
    await c.advance(200);
    const f = ABC.find((id) => id !== l.id)!;
    const g = gated.get(f)!;
    g.held = true;
    const first = track(l.node.propose(enc('p0')));
    await c.settle();
    const callsBefore = g.calls;
    // Four more proposals in four turns: four appends reach the follower while its write is held.
    const ps = [first];
    for (let i = 1; i <= 4; i++) {
      ps.push(track(l.node.propose(enc(`p${i}`))));
      await c.settle();
    }
    assert.is(g.calls, callsBefore, 'the follower started writes behind its held one');
    g.release();
    await c.waitFor(() => ps.every((p) => p.done), 'all proposals');
    await c.settle();
    assert.ok(g.calls - callsBefore <= 2, `follower saves after release: ${g.calls - callsBefore}`);
  } finally {
    for (const g of gated.values()) g.release();
    await c.stopAll();
  }
});

basics('a deposed leader never applies its overwritten tail early, even mid-write', async () => {
  const c = new TestCluster(20);
  const gated = new Map(ABC.map((id) => [id, new GatedStorage({ confState: { ...emptyConfState(), voters: ABC } })]));
  try {
    for (const id of ABC) await c.start(id, gated.get(id)!);
    const old = await c.leader();
    const others = ABC.filter((id) => id !== old.id);
    c.net.isolate(old.id);
    void old.node.propose(enc('lost')).catch(() => {});
    await c.settle();
    // The old leader's next write hangs, so everything below reaches it mid-write.
    gated.get(old.id)!.held = true;
    void old.node.propose(enc('lost2')).catch(() => {});
    await c.settle();
    await c.waitFor(() => others.some((id) => c.get(id).node.isLeader), 'new leader');
    const l2 = c.get(others.find((id) => c.get(id).node.isLeader)!);
    for (const v of ['won1', 'won2', 'won3']) {
      const w = track(l2.node.propose(enc(v)));
      await c.waitFor(() => w.done, v);
    }
    c.net.heal();
    await c.advance(500);
    assert.ok(!old.sm.applied.includes('lost'), `applied mid-write: ${old.sm.applied.join(',')}`);
    gated.get(old.id)!.release();
    await c.waitFor(() => old.sm.applied.length >= 3, 'old leader catches up');
    assert.equal(old.sm.applied, l2.sm.applied.slice(0, old.sm.applied.length));
    assert.ok(!old.sm.applied.includes('lost') && !old.sm.applied.includes('lost2'));
  } finally {
    for (const g of gated.values()) g.release();
    await c.stopAll();
  }
});

basics('a follower proposal is forwarded to the leader and resolves on the follower', async () => {
  const c = new TestCluster(4);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const f = [...c.members.values()].find((m) => m !== l)!;
    const p = track(f.node.propose(enc('via-follower')));
    await c.waitFor(() => p.done, 'forwarded proposal');
    assert.is(p.error, undefined);
    assert.match(String((p.value as { result: unknown }).result), /^via-follower@\d+$/);
    assert.equal(l.sm.applied, ['via-follower']);
  } finally {
    await c.stopAll();
  }
});

basics('a throw in the state machine rejects that proposal only', async () => {
  const c = new TestCluster(5);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const bad = track(l.node.propose(enc('throw')));
    const good = track(l.node.propose(enc('ok')));
    await c.waitFor(() => bad.done && good.done, 'both proposals');
    assert.match(String(bad.error), /state machine refused/);
    assert.is(good.error, undefined);
  } finally {
    await c.stopAll();
  }
});

basics('without forwarding a follower rejects with NotLeaderError naming the leader', async () => {
  const c = new TestCluster(6, { forwardProposals: false });
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const f = [...c.members.values()].find((m) => m !== l)!;
    const err = await f.node.propose(enc('x')).catch((e: unknown) => e);
    assert.is((err as Error).name, 'NotLeaderError');
    assert.is((err as { leader: string }).leader, l.id);
  } finally {
    await c.stopAll();
  }
});

basics('without a leader a proposal is dropped with a retryable error', async () => {
  const c = new TestCluster(7);
  try {
    await c.start('a', TestCluster.storage(ABC));
    const err = await c.get('a').node.propose(enc('x')).catch((e: unknown) => e);
    assert.instance(err, ProposalDroppedError);
    assert.is((err as ProposalDroppedError).retryable, true);
  } finally {
    await c.stopAll();
  }
});

basics('readIndex on a follower resolves once it has applied the leader commit', async () => {
  const c = new TestCluster(8);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const w = track(l.node.propose(enc('w')));
    await c.waitFor(() => w.done, 'write');
    const f = [...c.members.values()].find((m) => m !== l)!;
    const r = track(f.node.readIndex());
    await c.waitFor(() => r.done, 'read index');
    assert.is(r.error, undefined);
    const idx = r.value as number;
    assert.ok(idx >= (w.value as { index: number }).index);
    assert.ok(f.node.status().applied >= idx);
    assert.ok(f.sm.applied.includes('w'));
  } finally {
    await c.stopAll();
  }
});

basics('stop rejects waiting proposals with NodeStoppedError', async () => {
  const c = new TestCluster(9);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    for (const m of c.members.values()) if (m !== l) c.net.isolate(m.id);
    const p = track(l.node.propose(enc('never')));
    await c.settle();
    await c.stop(l.id);
    await c.settle();
    assert.instance(p.error, NodeStoppedError);
  } finally {
    await c.stopAll();
  }
});

basics.run();

const failover = suite('RaftNode failover');

failover('after the leader stops the others elect a new one and accept writes', async () => {
  const c = new TestCluster(11);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    await c.stop(l.id);
    const l2 = await c.leader();
    assert.is.not(l2.id, l.id);
    const p = track(l2.node.propose(enc('after')));
    await c.waitFor(() => p.done, 'write on new leader');
    assert.is(p.error, undefined);
  } finally {
    await c.stopAll();
  }
});

failover('when the transport reports the leader down, a new leader takes over within one election timeout', async () => {
  const c = new TestCluster(18);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const t0 = c.clock.now();
    await c.stop(l.id); // the memory network reports the stopped node down to the others
    const l2 = await c.leader();
    assert.is.not(l2.id, l.id);
    // Election timeout is 10 ticks × 50 ms = 500 ms at least without the hint.
    assert.ok(c.clock.now() - t0 < 500, `took ${c.clock.now() - t0} virtual ms`);
  } finally {
    await c.stopAll();
  }
});

failover('a false leader-down hint does not depose a live leader', async () => {
  const c = new TestCluster(19);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const term = l.node.currentTerm;
    for (const m of c.members.values()) if (m !== l) m.transport.peerDown(l.id);
    await c.advance(3000);
    assert.is((await c.leader()).id, l.id);
    assert.is(l.node.currentTerm, term);
  } finally {
    await c.stopAll();
  }
});

failover('a partitioned leader\'s uncommitted proposal is rejected retryably once its index is overwritten', async () => {
  const c = new TestCluster(12);
  try {
    await c.startAll(ABC);
    const old = await c.leader();
    const others = ABC.filter((id) => id !== old.id);
    c.net.isolate(old.id);
    const lost = track(old.node.propose(enc('lost')));
    await c.settle();
    assert.is(lost.done, false);
    // The majority elects a leader and commits a write at the same index.
    await c.waitFor(() => others.some((id) => c.get(id).node.isLeader), 'new leader in the majority');
    const l2 = c.get(others.find((id) => c.get(id).node.isLeader)!);
    const won = track(l2.node.propose(enc('won')));
    await c.waitFor(() => won.done, 'majority write');
    c.net.heal();
    await c.waitFor(() => lost.done, 'old proposal settles');
    assert.instance(lost.error, LeaderChangedError);
    assert.is((lost.error as LeaderChangedError).retryable, true);
    assert.is((lost.error as LeaderChangedError).definite, true);
    await c.applied((won.value as { index: number }).index);
    for (const m of c.members.values()) assert.ok(!m.sm.applied.includes('lost'));
  } finally {
    await c.stopAll();
  }
});

failover('a proposal forwarded to a leader that dies is rejected retryably, not left hanging', async () => {
  const c = new TestCluster(13);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const f = [...c.members.values()].find((m) => m !== l)!;
    c.net.isolate(l.id); // the forwarded proposal never reaches it
    const p = track(f.node.propose(enc('orphan')));
    await c.stop(l.id);
    c.net.heal();
    await c.waitFor(() => p.done, 'orphan settles');
    assert.ok((p.error as { retryable?: boolean }).retryable, String(p.error));
  } finally {
    await c.stopAll();
  }
});

failover('a restarted node recovers every acknowledged entry from its storage', async () => {
  const c = new TestCluster(14);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = track(l.node.propose(enc(`v${i}`)));
      await c.waitFor(() => p.done, 'write');
      acked.push(`v${i}`);
    }
    const f = [...c.members.values()].find((m) => m !== l)!;
    const stopped = await c.stop(f.id);
    const again = await c.start(f.id, stopped.storage);
    await c.waitFor(() => again.sm.applied.length === acked.length, 'replay');
    assert.equal(again.sm.applied, acked);
  } finally {
    await c.stopAll();
  }
});

failover('a cluster on DiskStorage restarted as a whole recovers every acknowledged entry', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'raft-node-disk-'));
  const open = (id: string) => DiskStorage.open(join(dir, id), { fsync: false, confState: { ...emptyConfState(), voters: ABC } });
  let c = new TestCluster(16, {}, 2);
  try {
    for (const id of ABC) await c.start(id, await open(id));
    const l = await c.leader();
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = track(l.node.propose(enc(`d${i}`)));
      await c.waitFor(() => p.done, 'write');
      assert.is(p.error, undefined);
      acked.push(`d${i}`);
    }
    for (const id of ABC) await (await c.stop(id)).storage.close();
    c = new TestCluster(17, {}, 2);
    for (const id of ABC) await c.start(id, await open(id));
    await c.waitFor(() => ABC.every((id) => c.get(id).sm.applied.length >= acked.length), 'replay on every node');
    for (const id of ABC) assert.equal(c.get(id).sm.applied, acked);
    const l2 = await c.leader();
    const p = track(l2.node.propose(enc('after-restart')));
    await c.waitFor(() => p.done, 'write after restart');
    assert.is(p.error, undefined);
  } finally {
    for (const id of [...c.members.keys()]) await (await c.stop(id)).storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

failover('leadership transfer hands over to the named voter', async () => {
  const c = new TestCluster(15);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const to = ABC.find((id) => id !== l.id)!;
    const t = track(l.node.transferLeadership(to));
    await c.waitFor(() => t.done, 'transfer');
    assert.is(t.error, undefined);
    assert.is((await c.leader()).id, to);
  } finally {
    await c.stopAll();
  }
});

failover.run();

const snaps = suite('RaftNode snapshots and membership');

snaps('a far-behind follower catches up through a snapshot', async () => {
  const c = new TestCluster(21, { snapshotEvery: 10, snapshotTrailing: 2 });
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const lag = [...c.members.values()].find((m) => m !== l)!;
    c.net.isolate(lag.id);
    let last = 0;
    for (let i = 0; i < 40; i++) {
      const p = track(l.node.propose(enc(`s${i}`)));
      await c.waitFor(() => p.done, 'write');
      last = (p.value as { index: number }).index;
    }
    assert.ok(l.storage.firstIndex() > 2, 'leader compacted its log');
    c.net.heal();
    await c.applied(last, [lag.id]);
    assert.ok(lag.events.some((e) => e.kind === 'snapshot' && e.received), 'follower restored a snapshot');
    assert.ok(lag.sm.restores >= 1);
    assert.equal(lag.sm.applied, l.sm.applied);
  } finally {
    await c.stopAll();
  }
});

snaps('a new member joins as a learner, is promoted, and an old one is removed', async () => {
  const c = new TestCluster(22);
  try {
    await c.startAll(ABC);
    const l = await c.leader();
    const w = track(l.node.propose(enc('before-join')));
    await c.waitFor(() => w.done, 'write');
    const d = await c.start('d', new MemoryDurableStorage());
    const add = track(l.node.addLearner('d', 'memory:d'));
    await c.waitFor(() => add.done, 'add learner');
    assert.is(add.error, undefined);
    assert.ok((add.value as { confState: { learners: string[] } }).confState.learners.includes('d'));
    await c.waitFor(() => d.sm.applied.includes('before-join'), 'learner catches up');
    const promote = track(l.node.promote('d'));
    await c.waitFor(() => promote.done, 'promote');
    assert.is(promote.error, undefined);
    assert.ok((promote.value as { confState: { voters: string[] } }).confState.voters.includes('d'));
    const victim = ABC.find((id) => id !== l.id)!;
    const rm = track(l.node.remove(victim));
    await c.waitFor(() => rm.done, 'remove');
    assert.is(rm.error, undefined);
    const cs = (rm.value as { confState: { voters: string[] } }).confState;
    assert.equal([...cs.voters].sort(), ABC.filter((id) => id !== victim).concat('d').sort());
    await c.stop(victim);
    const p = track(l.node.propose(enc('after-remove')));
    await c.waitFor(() => p.done, 'write with the new membership');
    assert.is(p.error, undefined);
    await c.waitFor(() => d.sm.applied.includes('after-remove'), 'd applies');
  } finally {
    await c.stopAll();
  }
});

snaps.run();
