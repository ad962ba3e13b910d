/**
 * Tests named after the sentences of the Raft paper (Ongaro & Ousterhout, "In Search of an
 * Understandable Consensus Algorithm", §5.2–§5.4) and the dissertation's membership (§4/§6)
 * and compaction (§7) chapters, after etcd's raft_paper_test.go. PreVote and CheckQuorum are
 * off unless a test says otherwise: the paper's algorithm has neither.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ProposalDroppedError } from '../errors.ts';
import { ConfChangeType, EntryType, MessageType, StateRole, message } from '../types.ts';
import type { Message } from '../types.ts';
import { Network, logOf, newNodeWithLog, newTestNode, processReady, voters } from './test-network.ts';
import type { NodeOptions, TestNode } from './test-network.ts';

const paper: NodeOptions = { preVote: false, checkQuorum: false };
// A new cluster's members start in term 1 with one bootstrap entry per member (the initial
// configuration), committed and applied: `B` for a three-member cluster.
const B = 3;
const enc = (s: string) => new TextEncoder().encode(s);
const ABC = voters(['a', 'b', 'c']);

function node(id = 'a', cs = ABC, opts: NodeOptions = {}): TestNode {
  return newTestNode(id, cs, { ...paper, ...opts });
}

/** Messages of one Ready cycle, without persisting anything unexpected. */
function msgs(n: TestNode): Message[] {
  return processReady(n);
}

/** Makes `n` leader of its next term directly (votes assumed) and flushes its first Ready. */
function makeLeader(n: TestNode): void {
  n.rn.raft.becomeCandidate();
  n.rn.raft.becomeLeader();
  msgs(n);
}

function commitNoop(n: TestNode, peers: string[]): void {
  // Acknowledge the leader's empty entry from every peer so it commits.
  const r = n.rn.raft;
  for (const p of peers) n.rn.step(message({ type: MessageType.AppResp, from: p, to: n.id, term: r.term, index: r.raftLog.lastIndex() }));
  msgs(n);
}

// ---------------------------------------------------------------- §5.1, §5.2: terms and election
const election = suite('paper §5.2 election');

election('server starts as a follower', () => {
  const n = node();
  assert.is(n.rn.raft.state, StateRole.Follower);
  assert.is(n.rn.raft.term, 1);
  assert.is(n.rn.raft.raftLog.committed, B, 'the bootstrap entries are committed');
});

election('current term is updated on a message with a larger term; candidates and leaders revert to follower', () => {
  for (const start of ['follower', 'candidate', 'leader'] as const) {
    const n = node();
    const r = n.rn.raft;
    if (start === 'candidate') r.becomeCandidate();
    if (start === 'leader') makeLeader(n);
    n.rn.step(message({ type: MessageType.App, from: 'b', to: 'a', term: 3, index: B, logTerm: 1 }));
    assert.is(r.term, 3, start);
    assert.is(r.state, StateRole.Follower, start);
    assert.is(r.lead, 'b', start);
  }
});

election('a server rejects a request with a stale term number', () => {
  const n = newNodeWithLog('a', ABC, [1, 2], { ...paper, term: 3 });
  n.rn.step(message({ type: MessageType.App, from: 'b', to: 'a', term: 2, index: 2, logTerm: 2, entries: [{ term: 2, index: 3, type: EntryType.Normal, data: enc('x') }] }));
  assert.is(n.rn.raft.raftLog.lastIndex(), 2, 'stale App not appended');
  n.rn.step(message({ type: MessageType.Vote, from: 'b', to: 'a', term: 2, index: 9, logTerm: 9 }));
  assert.is(n.rn.raft.vote, '');
  assert.equal(msgs(n).filter((m) => m.type === MessageType.VoteResp), [], 'stale vote request gets no answer');
});

election('leader sends heartbeats to all followers every heartbeat interval', () => {
  const n = node('a', ABC, { heartbeatTick: 2 });
  makeLeader(n);
  n.rn.tick();
  assert.equal(msgs(n), []);
  n.rn.tick();
  const hb = msgs(n);
  assert.equal(hb.map((m) => [m.type, m.to, m.term]), [[MessageType.Heartbeat, 'b', 2], [MessageType.Heartbeat, 'c', 2]]);
});

election('follower starts election after election timeout', () => {
  const n = node();
  const r = n.rn.raft;
  for (let i = 0; i < 2 * r.electionTimeout; i++) n.rn.tick();
  assert.is(r.term, 2);
  assert.is(r.state, StateRole.Candidate);
  assert.is(r.vote, 'a', 'votes for itself');
  const sent = msgs(n);
  assert.equal(sent.map((m) => [m.type, m.to, m.term, m.index, m.logTerm]), [[MessageType.Vote, 'b', 2, B, 1], [MessageType.Vote, 'c', 2, B, 1]]);
});

election('candidate starts a new election when the election timeout elapses without a winner', () => {
  const n = node();
  const r = n.rn.raft;
  r.becomeCandidate();
  for (let i = 0; i < 2 * r.electionTimeout; i++) n.rn.tick();
  assert.is(r.term, 3);
  assert.is(r.state, StateRole.Candidate);
  assert.ok(msgs(n).every((m) => m.type === MessageType.Vote && m.term === 3));
});

election('candidate wins an election when it receives votes from a majority in one round', () => {
  const cases: [number, Record<string, boolean>, StateRole][] = [
    [1, {}, StateRole.Leader],
    [3, { b: true, c: true }, StateRole.Leader],
    [3, { b: true }, StateRole.Leader],
    [5, { b: true, c: true, d: true, e: true }, StateRole.Leader],
    [5, { b: true, c: true }, StateRole.Leader],
    [3, {}, StateRole.Candidate],
    [5, { b: true }, StateRole.Candidate],
    [5, { b: false, c: false }, StateRole.Candidate],
    [3, { b: false, c: false }, StateRole.Follower],
    [5, { b: false, c: false, d: false }, StateRole.Follower],
  ];
  for (const [size, votes, want] of cases) {
    const ids = ['a', 'b', 'c', 'd', 'e'].slice(0, size);
    const n = node('a', voters(ids));
    n.rn.campaign();
    for (const [id, granted] of Object.entries(votes)) n.rn.step(message({ type: MessageType.VoteResp, from: id, to: 'a', term: 2, reject: !granted }));
    assert.is(n.rn.raft.state, want, `${size} voters, votes ${JSON.stringify(votes)}`);
    assert.is(n.rn.raft.term, 2);
  }
});

election('each server votes for at most one candidate per term, first come first served', () => {
  const cases: [string, string, boolean][] = [['', 'b', false], ['', 'c', false], ['b', 'b', false], ['c', 'c', false], ['b', 'c', true], ['c', 'b', true]];
  for (const [vote, from, reject] of cases) {
    const n = newNodeWithLog('a', ABC, [], { ...paper, term: 1, vote });
    n.rn.step(message({ type: MessageType.Vote, from, to: 'a', term: 1 }));
    const resp = msgs(n);
    assert.equal(resp.map((m) => [m.type, m.to, m.reject]), [[MessageType.VoteResp, from, reject]], `vote=${vote} from=${from}`);
  }
});

election('candidate returns to follower when it hears from a leader of at least its term', () => {
  for (const term of [2, 3]) {
    const n = node();
    n.rn.campaign();
    n.rn.step(message({ type: MessageType.App, from: 'b', to: 'a', term, index: B, logTerm: 1 }));
    assert.is(n.rn.raft.state, StateRole.Follower);
    assert.is(n.rn.raft.term, term);
    assert.is(n.rn.raft.lead, 'b');
  }
});

election('election timeouts are randomized in [electionTimeout, 2 * electionTimeout)', () => {
  const seen = new Set<number>();
  for (let seed = 0; seed < 200; seed++) {
    const n = newTestNode('a', ABC, paper, seed);
    const r = n.rn.raft;
    let ticks = 0;
    while (r.state === StateRole.Follower) {
      n.rn.tick();
      ticks++;
    }
    assert.ok(ticks >= 10 && ticks < 20, `timeout ${ticks}`);
    seen.add(ticks);
  }
  assert.ok(seen.size >= 8, `timeouts should spread over the range, saw ${[...seen]}`);
});

election('randomized election timeouts rarely make followers time out together', () => {
  let conflicts = 0;
  const rounds = 200;
  for (let seed = 0; seed < rounds; seed++) {
    const net = new Network(['a', 'b', 'c', 'd', 'e'], paper, seed + 1);
    const nodes = [...net.nodes.values()];
    let timedOut = 0;
    while (timedOut === 0) {
      for (const n of nodes) {
        n.rn.tick();
        if (n.rn.raft.state === StateRole.Candidate) timedOut++;
      }
    }
    if (timedOut > 1) conflicts++;
  }
  assert.ok(conflicts / rounds <= 0.3, `conflict rate ${conflicts / rounds}`);
});

election('a candidate with an out-of-date log cannot win (election restriction)', () => {
  const a = newNodeWithLog('a', ABC, [1], { ...paper, term: 2 });
  const b = newNodeWithLog('b', ABC, [1, 2], { ...paper, term: 2 });
  const c = newNodeWithLog('c', ABC, [1, 2], { ...paper, term: 2 });
  const net = Network.of([a, b, c]);
  net.campaign('a');
  assert.is(a.rn.raft.state, StateRole.Follower);
  net.campaign('b');
  assert.is(net.leader(), 'b');
});

election('candidate ignores vote responses from an earlier term', () => {
  const n = node();
  n.rn.campaign();
  n.rn.campaign();
  assert.is(n.rn.raft.term, 3);
  // A grant for term 2 arrives late: it must not count towards term 3.
  n.rn.step(message({ type: MessageType.VoteResp, from: 'b', to: 'a', term: 2 }));
  assert.is(n.rn.raft.state, StateRole.Candidate);
  n.rn.step(message({ type: MessageType.VoteResp, from: 'b', to: 'a', term: 3 }));
  assert.is(n.rn.raft.state, StateRole.Leader);
});

election.run();

// ---------------------------------------------------------------- §5.3: log replication
const replication = suite('paper §5.3 log replication');

replication('leader appends a proposal to its log and issues App to each follower', () => {
  const n = node();
  makeLeader(n);
  commitNoop(n, ['b', 'c']);
  n.rn.propose(enc('some data'));
  const sent = msgs(n);
  assert.equal(sent.map((m) => [m.type, m.to, m.index, m.logTerm, m.commit, m.entries.map((e) => e.index)]), [
    [MessageType.App, 'b', B + 1, 2, B + 1, [B + 2]],
    [MessageType.App, 'c', B + 1, 2, B + 1, [B + 2]],
  ]);
  assert.is(n.rn.raft.raftLog.lastIndex(), B + 2);
});

replication('new leader appends an empty entry of its term', () => {
  const n = node();
  makeLeader(n);
  const e = n.rn.raft.raftLog.allEntries().at(-1)!;
  assert.equal([e.index, e.term, e.data.byteLength, e.type], [B + 1, 2, 0, EntryType.Normal]);
});

replication('leader commits an entry once the leader has replicated it on a majority', () => {
  const n = node();
  makeLeader(n);
  commitNoop(n, ['b', 'c']);
  n.rn.propose(enc('x'));
  msgs(n);
  assert.is(n.rn.raft.raftLog.committed, B + 1);
  n.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 2, index: B + 2 }));
  assert.is(n.rn.raft.raftLog.committed, B + 2);
  const rd = n.rn.ready();
  assert.equal(rd.committedEntries.map((e) => e.index), [B + 2]);
  n.rn.advance(rd);
});

replication('leader commits when it has responses from a majority (including itself)', () => {
  const cases: [number, string[], boolean][] = [
    [1, [], true], [3, [], false], [3, ['b'], true], [3, ['b', 'c'], true],
    [5, ['b'], false], [5, ['b', 'c'], true], [5, ['b', 'c', 'd'], true],
  ];
  for (const [size, acks, want] of cases) {
    const ids = ['a', 'b', 'c', 'd', 'e'].slice(0, size);
    const n = node('a', voters(ids));
    makeLeader(n);
    commitNoop(n, ids.slice(1));
    n.rn.propose(enc('x'));
    msgs(n);
    const noop = n.rn.raft.raftLog.lastIndex() - 1;
    for (const id of acks) n.rn.step(message({ type: MessageType.AppResp, from: id, to: 'a', term: 2, index: noop + 1 }));
    assert.is(n.rn.raft.raftLog.committed > noop, want, `${size} nodes, acks ${acks}`);
  }
});

replication('committing an entry also commits all preceding entries, including from previous leaders', () => {
  const n = newNodeWithLog('a', ABC, [1, 2], { ...paper, term: 2 });
  n.rn.raft.becomeCandidate();
  n.rn.raft.becomeLeader();
  msgs(n);
  n.rn.propose(enc('x'));
  msgs(n);
  n.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 3, index: 4 }));
  assert.is(n.rn.raft.raftLog.committed, 4);
  const rd = n.rn.ready();
  assert.equal(rd.committedEntries.map((e) => [e.index, e.term]), [[1, 1], [2, 2], [3, 3], [4, 3]]);
});

replication('once a follower learns that a log entry is committed, it applies it', () => {
  const n = node('b');
  n.applied.length = 0;
  const ents = [1, 2].map((i) => ({ term: 2, index: B + i, type: EntryType.Normal, data: enc(`e${i}`) }));
  n.rn.step(message({ type: MessageType.App, from: 'a', to: 'b', term: 2, index: B, logTerm: 1, entries: ents, commit: B + 1 }));
  msgs(n);
  assert.equal(n.applied.map((e) => e.index), [B + 1]);
  n.rn.step(message({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 2, commit: B + 2 }));
  msgs(n);
  assert.equal(n.applied.map((e) => e.index), [B + 1, B + 2]);
});

replication('follower refuses new entries when its log does not contain the entry before them', () => {
  const cases: [number, number, boolean, number][] = [
    // [prev term, prev index, reject, rejectHint]
    [0, 0, false, 0],
    [1, 1, false, 0],
    [2, 2, false, 0],
    [1, 2, true, 1],
    [3, 3, true, 2],
  ];
  for (const [logTerm, index, reject, hint] of cases) {
    const n = newNodeWithLog('b', ABC, [1, 2], { ...paper, commit: 1 });
    n.rn.step(message({ type: MessageType.App, from: 'a', to: 'b', term: 2, logTerm, index }));
    const [resp] = msgs(n);
    assert.is(resp.type, MessageType.AppResp);
    assert.is(resp.reject, reject, `prev (${index}, ${logTerm})`);
    if (reject) assert.is(resp.rejectHint, hint);
  }
});

replication('follower deletes an existing entry that conflicts with a new one, and all that follow it', () => {
  const cases: [number, number, [number, number][], [number, number][]][] = [
    [2, 2, [[3, 3]], [[1, 1], [2, 2], [3, 3]]],
    [1, 1, [[2, 3], [3, 4]], [[1, 1], [2, 3], [3, 4]]],
    [0, 0, [[1, 1]], [[1, 1], [2, 2]]],
    [0, 0, [[1, 3]], [[1, 3]]],
  ];
  for (const [index, logTerm, ents, want] of cases) {
    const n = newNodeWithLog('b', ABC, [1, 2], paper);
    const entries = ents.map(([i, t]) => ({ index: i, term: t, type: EntryType.Normal, data: new Uint8Array() }));
    n.rn.step(message({ type: MessageType.App, from: 'a', to: 'b', term: 2, index, logTerm, entries }));
    msgs(n);
    assert.equal(logOf(n), want);
  }
});

replication("leader syncs a follower's conflicting log (Figure 7)", () => {
  const lead = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers = [
    [1, 1, 1, 4, 4, 5, 5, 6, 6],
    [1, 1, 1, 4],
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    [1, 1, 1, 4, 4, 4, 4],
    [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  ];
  for (const [i, flog] of followers.entries()) {
    const a = newNodeWithLog('a', ABC, lead, { ...paper, term: 8, commit: lead.length });
    const b = newNodeWithLog('b', ABC, flog, { ...paper, term: 7 });
    // 'c' is missing from the network: it grants its vote and hears nothing more.
    const net = Network.of([a, b]);
    net.campaign('a');
    net.send(message({ type: MessageType.VoteResp, from: 'c', to: 'a', term: 9 }));
    assert.is(a.rn.raft.state, StateRole.Leader);
    net.propose('a', 'x');
    assert.equal(logOf(b), logOf(a), `follower ${'abcdef'[i]}`);
    assert.is(b.rn.raft.raftLog.committed, a.rn.raft.raftLog.committed);
  }
});

replication('fast backtracking needs one round trip per conflicting term, not per entry', () => {
  const a = newNodeWithLog('a', ABC, [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], { ...paper, term: 8, commit: 3 });
  const b = newNodeWithLog('b', ABC, [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], { ...paper, term: 7, commit: 3 });
  const net = Network.of([a, b]);
  net.campaign('a');
  net.send(message({ type: MessageType.VoteResp, from: 'c', to: 'a', term: 9 }));
  const rejections = net.delivered.filter((m) => m.type === MessageType.AppResp && m.reject).length;
  assert.equal(logOf(b), logOf(a));
  assert.ok(rejections <= 3, `took ${rejections} rejections for 8 conflicting entries`);
});

replication.run();

// ---------------------------------------------------------------- §5.4: safety
const safety = suite('paper §5.4 safety');

safety('voter denies its vote if its own log is more up to date than the candidate', () => {
  const cases: [number[], number, number, boolean][] = [
    // [voter log terms, candidate last index, candidate last term, reject]
    [[1], 1, 1, false], [[1], 2, 1, false], [[1, 1], 1, 1, true],
    [[1], 1, 2, false], [[1], 2, 2, false], [[1, 1], 1, 2, false],
    [[2], 1, 1, true], [[2], 2, 1, true], [[2, 1], 1, 1, true],
  ];
  for (const [log, index, logTerm, reject] of cases) {
    const n = newNodeWithLog('a', ABC, log, { ...paper, term: 2 });
    n.rn.step(message({ type: MessageType.Vote, from: 'b', to: 'a', term: 3, index, logTerm }));
    const [resp] = msgs(n);
    assert.is(resp.type, MessageType.VoteResp);
    assert.is(resp.reject, reject, `log ${log} vs candidate (${index}, ${logTerm})`);
  }
});

safety('leader only commits log from current term by counting replicas', () => {
  const n = newNodeWithLog('a', ABC, [1, 2], { ...paper, term: 2 });
  n.rn.raft.becomeCandidate();
  n.rn.raft.becomeLeader();
  msgs(n);
  // A majority has the old entries (1 and 2): they must not commit by counting.
  n.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 3, index: 1 }));
  assert.is(n.rn.raft.raftLog.committed, 0);
  n.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 3, index: 2 }));
  assert.is(n.rn.raft.raftLog.committed, 0);
  // Once the current term's entry (the no-op at 3) is on a majority, everything before commits too.
  n.rn.step(message({ type: MessageType.AppResp, from: 'b', to: 'a', term: 3, index: 3 }));
  assert.is(n.rn.raft.raftLog.committed, 3);
});

safety('an entry of an old term on a majority is not committed, and may be overwritten safely (Figure 8)', () => {
  // a led term 2 and appended entry 2 alone; e led term 3 and appended a different entry 2.
  const cs = voters(['a', 'b', 'c', 'd', 'e']);
  const o = { ...paper, maxSizePerMsg: 0, commit: 1 };
  const a = newNodeWithLog('a', cs, [1, 2], { ...o, term: 4 });
  const e = newNodeWithLog('e', cs, [1, 3], { ...o, term: 4 });
  const others = ['b', 'c', 'd'].map((id) => newNodeWithLog(id, cs, [1], { ...o, term: 4 }));
  const net = Network.of([a, e, ...others]);
  // a wins term 5 and copies entry 2 (term 2) to b and c, but its no-op (3) reaches nobody.
  const hasOld2 = (id: string) => net.rn(id).raft.raftLog.zeroTermOnErr(2) === 2;
  net.dropIf((m) => m.type === MessageType.App && (m.to === 'd' || m.to === 'e' || (m.entries.some((x) => x.index === 3) && hasOld2(m.to))));
  net.campaign('a');
  assert.is(a.rn.raft.state, StateRole.Leader);
  assert.equal(['b', 'c'].map((id) => net.rn(id).raft.raftLog.zeroTermOnErr(2)), [2, 2], 'entry 2 is on a majority (a, b, c)');
  assert.is(a.rn.raft.raftLog.committed, 1, 'but it is not committed: it is not of the current term');
  // a fails; e wins a later term (its last term 3 beats 2) and overwrites entry 2 everywhere.
  net.recover();
  net.isolate('a');
  net.campaign('e');
  net.campaign('e');
  assert.is(e.rn.raft.state, StateRole.Leader);
  net.recover();
  net.tickAll(3);
  for (const n of net.nodes.values()) {
    assert.is(n.rn.raft.raftLog.zeroTermOnErr(2), 3, `${n.id} holds e's entry 2`);
    assert.ok(n.applied.every((x) => x.index !== 2 || x.term === 3), `${n.id} never applied a's entry 2`);
  }
});

safety.run();

// ---------------------------------------------------------------- §6 (dissertation §4): membership
const membership = suite('paper §6 membership changes');

function addLearner(id: string) {
  return { changes: [{ type: ConfChangeType.AddLearner, nodeId: id }] };
}

function cluster(ids: string[], opts: NodeOptions = {}): Network {
  const net = new Network(ids, { ...paper, ...opts });
  net.campaign(ids[0]);
  return net;
}

membership('learners receive the log but never vote or campaign', () => {
  const net = cluster(['a', 'b', 'c']);
  const d = newTestNode('d', voters([]), paper);
  net.add(d);
  net.rn('a').proposeConfChange(addLearner('d'));
  net.stabilize();
  net.propose('a', 'x');
  assert.equal(net.appliedData('d'), ['x'], 'learner catches up');
  assert.equal(net.rn('d').status().confState.learners, ['d']);
  assert.equal(net.rn('d').status().confState.voters, ['a', 'b', 'c'], 'it learned the initial configuration from the log');
  // The learner never campaigns, however long it waits.
  net.isolate('a');
  for (let i = 0; i < 50; i++) d.rn.tick();
  assert.is(d.rn.raft.state, StateRole.Follower);
  assert.is(d.rn.raft.promotable(), false);
});

membership("learners' acknowledgements do not count towards commit", () => {
  const net = cluster(['a', 'b']);
  net.add(newTestNode('c', voters([]), paper));
  net.rn('a').proposeConfChange(addLearner('c'));
  net.stabilize();
  net.isolate('b');
  net.propose('a', 'y');
  assert.equal(net.appliedData('c'), [], 'a and the learner c are not a quorum of (a b)');
  assert.is(net.rn('c').raft.raftLog.lastIndex(), net.rn('a').raft.raftLog.lastIndex(), 'the learner still has the entry');
});

membership('learner is promoted by AddNode and then counts for quorum', () => {
  const net = cluster(['a', 'b']);
  net.add(newTestNode('c', voters([]), paper));
  net.rn('a').proposeConfChange(addLearner('c'));
  net.stabilize();
  net.rn('a').proposeConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: 'c' }] });
  net.stabilize();
  assert.equal(net.rn('a').status().confState.voters, ['a', 'b', 'c']);
  net.isolate('b');
  net.propose('a', 'z');
  assert.equal(net.appliedData('a'), ['z']);
});

membership('a second conf change is refused while one is pending', () => {
  const net = cluster(['a', 'b', 'c']);
  net.isolate('b');
  net.isolate('c');
  net.rn('a').proposeConfChange(addLearner('d'));
  assert.throws(() => net.rn('a').proposeConfChange(addLearner('e')), (e: unknown) => e instanceof ProposalDroppedError && /pending/.test((e as Error).message));
  net.recover();
  net.tickAll(1);
  assert.equal(net.rn('a').status().confState.learners, ['d']);
  net.rn('a').proposeConfChange(addLearner('e'));
  net.stabilize();
  assert.equal(net.rn('a').status().confState.learners, ['d', 'e']);
});

membership('conf change is refused until the leader has committed an entry of its term', () => {
  const net = new Network(['a', 'b', 'c'], paper);
  net.ignore(MessageType.AppResp);
  net.campaign('a');
  assert.is(net.leader(), 'a');
  assert.throws(() => net.rn('a').proposeConfChange(addLearner('d')), /has not committed an entry in its term/);
  net.recover();
  net.tickAll(1);
  net.rn('a').proposeConfChange(addLearner('d'));
  net.stabilize();
  assert.equal(net.rn('a').status().confState.learners, ['d']);
});

membership('conf change takes effect when applied, not when appended', () => {
  const net = cluster(['a', 'b', 'c']);
  net.isolate('b');
  net.isolate('c');
  net.rn('a').proposeConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: 'd' }] });
  net.stabilize();
  assert.equal(net.rn('a').status().confState.voters, ['a', 'b', 'c'], 'uncommitted: old config');
  net.recover();
  net.tickAll(1);
  assert.equal(net.rn('a').status().confState.voters, ['a', 'b', 'c', 'd']);
});

membership('joint consensus needs both majorities to commit', () => {
  const net = cluster(['a', 'b', 'c'], {});
  for (const id of ['d', 'e']) net.add(newTestNode(id, voters([]), paper));
  // Replace b and c by d and e in one joint change, left explicitly.
  net.rn('a').proposeConfChange({
    changes: [
      { type: ConfChangeType.RemoveNode, nodeId: 'b' }, { type: ConfChangeType.RemoveNode, nodeId: 'c' },
      { type: ConfChangeType.AddNode, nodeId: 'd' }, { type: ConfChangeType.AddNode, nodeId: 'e' },
    ],
    transition: 'joint-explicit',
  });
  net.stabilize();
  const cs = net.rn('a').status().confState;
  assert.equal([cs.voters, cs.votersOutgoing], [['a', 'd', 'e'], ['a', 'b', 'c']]);
  // With the old majority cut off, the new majority alone cannot commit.
  net.isolate('b');
  net.isolate('c');
  net.propose('a', 'new-only');
  assert.equal(net.appliedData('a'), []);
  net.recover();
  net.tickAll(1);
  assert.equal(net.appliedData('a'), ['new-only']);
  // And the other way round.
  net.isolate('d');
  net.isolate('e');
  net.propose('a', 'old-only');
  assert.equal(net.appliedData('a'), ['new-only']);
  net.recover();
  net.tickAll(1);
  assert.equal(net.appliedData('a'), ['new-only', 'old-only']);
  net.rn('a').proposeConfChange({ changes: [] });
  net.stabilize();
  assert.equal(net.rn('a').status().confState.votersOutgoing, []);
  assert.equal(net.rn('a').status().confState.voters, ['a', 'd', 'e']);
});

membership('a joint configuration with autoLeave is left automatically once applied', () => {
  const net = cluster(['a', 'b', 'c']);
  net.add(newTestNode('d', voters([]), paper));
  net.rn('a').proposeConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: 'd' }, { type: ConfChangeType.RemoveNode, nodeId: 'c' }] });
  net.stabilize();
  const cs = net.rn('a').status().confState;
  assert.equal([cs.voters, cs.votersOutgoing, cs.autoLeave], [['a', 'b', 'd'], [], false]);
  assert.equal(net.rn('b').status().confState.voters, ['a', 'b', 'd']);
});

membership('removed leader steps down', () => {
  const net = cluster(['a', 'b', 'c'], { checkQuorum: true, preVote: true });
  net.rn('a').proposeConfChange({ changes: [{ type: ConfChangeType.RemoveNode, nodeId: 'a' }] });
  net.stabilize();
  assert.is(net.rn('a').raft.state, StateRole.Follower);
  assert.throws(() => net.rn('a').propose(enc('x')), (e: unknown) => e instanceof ProposalDroppedError);
  // The rest elect a new leader and carry on.
  net.isolate('a');
  net.tickAll(25);
  const lead = net.leader();
  assert.ok(lead === 'b' || lead === 'c', `new leader ${lead}`);
  net.propose(lead!, 'after');
  assert.equal(net.appliedData(lead === 'b' ? 'c' : 'b'), ['after']);
});

membership('a new leader may not propose a conf change over a prior uncommitted one (Ongaro 2015)', () => {
  // Old leader a appended AddNode(d) in term 1 but committed it nowhere else. b becomes leader
  // in term 2 without that entry; it must commit its own no-op before changing membership.
  const net = cluster(['a', 'b', 'c']);
  net.isolate('a');
  net.rn('a').proposeConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: 'd' }] });
  net.stabilize();
  net.ignore(MessageType.AppResp);
  net.campaign('b');
  assert.is(net.rn('b').raft.state, StateRole.Leader);
  assert.throws(() => net.rn('b').proposeConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: 'e' }] }), (e: unknown) => e instanceof ProposalDroppedError);
  net.recover();
  net.tickAll(1);
  net.rn('b').proposeConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: 'e' }] });
  net.stabilize();
  for (const id of ['a', 'b', 'c']) assert.equal(net.rn(id).status().confState.voters, ['a', 'b', 'c', 'e'], id);
});

membership('a conf change truncated from a follower\'s log never took effect there', () => {
  const net = cluster(['a', 'b', 'c', 'd', 'e']);
  // a appends AddNode(f) and reaches only b, which does not commit it.
  for (const id of ['c', 'd', 'e']) net.isolate(id);
  net.rn('a').proposeConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: 'f' }] });
  net.stabilize();
  assert.is(net.rn('b').raft.raftLog.lastIndex(), net.rn('a').raft.raftLog.lastIndex());
  assert.equal(net.rn('b').status().confState.voters, ['a', 'b', 'c', 'd', 'e']);
  // c leads a new term with d and e, without the entry; b's tail is overwritten when it rejoins.
  net.recover();
  net.isolate('a');
  net.isolate('b');
  net.campaign('c');
  assert.is(net.leader(), 'c');
  net.recover();
  net.isolate('a');
  net.propose('c', 'y');
  net.tickAll(1);
  assert.equal(net.appliedData('b'), ['y']);
  assert.equal(net.rn('b').status().confState.voters, ['a', 'b', 'c', 'd', 'e']);
  assert.not.ok(net.node('b').applied.some((e) => e.type === EntryType.ConfChange && e.index > 5));
});

membership('a learner ignores TimeoutNow and never campaigns', () => {
  const net = cluster(['a', 'b']);
  net.add(newTestNode('c', voters([]), paper));
  net.rn('a').proposeConfChange(addLearner('c'));
  net.stabilize();
  const term = net.rn('c').raft.term;
  net.rn('c').step(message({ type: MessageType.TimeoutNow, from: 'a', to: 'c', term }));
  assert.is(net.rn('c').raft.state, StateRole.Follower);
  assert.is(net.rn('c').raft.term, term);
});

membership.run();

// ---------------------------------------------------------------- §7: log compaction
const compaction = suite('paper §7 log compaction');

function compactLeader(net: Network, id: string): void {
  const n = net.node(id);
  const applied = n.rn.raft.raftLog.applied;
  n.storage.createSnapshot(applied, n.rn.status().confState, enc(`state@${applied}`));
  n.storage.compact(applied);
}

compaction('InstallSnapshot brings a far-behind follower up to date', () => {
  const net = cluster(['a', 'b', 'c']);
  net.isolate('c');
  for (let i = 0; i < 10; i++) net.propose('a', `v${i}`);
  compactLeader(net, 'a');
  assert.ok(net.node('a').storage.firstIndex() > 2);
  net.recover();
  net.propose('a', 'after');
  const c = net.node('c');
  assert.is(net.delivered.filter((m) => m.type === MessageType.Snap && m.to === 'c').length, 1);
  assert.is(c.storage.snapshot().metadata.index, B + 11);
  assert.equal(new TextDecoder().decode(c.storage.snapshot().data), `state@${B + 11}`);
  assert.equal(logOf(c), logOf(net.node('a')));
  assert.equal(net.appliedData('c'), ['after'], 'entries after the snapshot are applied normally');
  assert.is(c.rn.raft.raftLog.committed, net.rn('a').raft.raftLog.committed);
});

compaction('leader keeps the follower in snapshot state until the snapshot is reported', () => {
  const net = cluster(['a', 'b', 'c']);
  net.isolate('c');
  for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
  compactLeader(net, 'a');
  net.recover();
  net.ignore(MessageType.Snap);
  net.propose('a', 'x');
  assert.is(net.rn('a').status().progress.get('c')!.state, 'snapshot');
  net.rn('a').reportSnapshot('c', false);
  assert.is(net.rn('a').status().progress.get('c')!.state, 'probe');
  net.recover();
  net.tickAll(2);
  assert.is(net.rn('a').status().progress.get('c')!.state, 'replicate');
  assert.is(net.rn('c').raft.raftLog.committed, net.rn('a').raft.raftLog.committed);
});

compaction('follower restoring a snapshot takes the configuration it carries', () => {
  const n = node('c', voters(['a', 'b', 'c']));
  const cs = { voters: ['a', 'b', 'c'], learners: ['d'], votersOutgoing: [], learnersNext: [], autoLeave: false };
  n.rn.step(message({ type: MessageType.Snap, from: 'a', to: 'c', term: 2, snapshot: { metadata: { index: 11, term: 2, confState: cs }, data: enc('s') } }));
  const rd = n.rn.ready();
  assert.is(rd.snapshot?.metadata.index, 11);
  assert.equal(rd.committedEntries, []);
  assert.equal(rd.messages.map((m) => [m.type, m.index]), [[MessageType.AppResp, 11]]);
  n.storage.applySnapshot(rd.snapshot!);
  n.rn.advance(rd);
  assert.equal(n.rn.status().confState.learners, ['d']);
  assert.is(n.rn.status().applied, 11);
  assert.is(n.rn.raft.raftLog.committed, 11);
});

compaction('compacted log still serves its term at the compaction point and entries after it', () => {
  const net = cluster(['a', 'b', 'c']);
  for (let i = 0; i < 4; i++) net.propose('a', `v${i}`);
  compactLeader(net, 'a');
  const log = net.rn('a').raft.raftLog;
  assert.is(log.firstIndex(), B + 6);
  assert.is(log.term(B + 5), 2);
  assert.throws(() => log.term(B), /compaction/);
  net.propose('a', 'more');
  assert.equal(net.appliedData('b').slice(-1), ['more']);
});

compaction.run();
