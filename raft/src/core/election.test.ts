/** PreVote, CheckQuorum and the vote lease: elections that do not disrupt a healthy leader. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageType, StateRole, message } from '../types.ts';
import { Network, newTestNode, voters } from './test-network.ts';
import type { NodeOptions } from './test-network.ts';

function elect(opts: NodeOptions, ids = ['a', 'b', 'c']): Network {
  const net = new Network(ids, opts);
  net.campaign(ids[0]);
  assert.is(net.leader(), ids[0]);
  return net;
}

const both: NodeOptions = { preVote: true, checkQuorum: true };

test('pre-candidate does not bump its term and wins a pre-election before campaigning', () => {
  const net = new Network(['a', 'b', 'c'], both);
  const term = net.rn('a').raft.term;
  net.rn('a').campaign();
  assert.is(net.rn('a').raft.state, StateRole.PreCandidate);
  assert.is(net.rn('a').raft.term, term, 'pre-vote keeps the term');
  net.stabilize();
  assert.is(net.leader(), 'a');
  assert.is(net.rn('a').raft.term, term + 1);
  const kinds = new Set(net.delivered.map((m) => m.type));
  assert.ok(kinds.has(MessageType.PreVote) && kinds.has(MessageType.Vote));
});

test('a partitioned node rejoining with PreVote does not disrupt the leader', () => {
  const net = elect(both);
  const term = net.rn('a').raft.term;
  net.isolate('c');
  net.tickAll(50);
  assert.is(net.rn('c').raft.term, term, 'the isolated node keeps failing pre-elections without bumping its term');
  assert.is(net.rn('c').raft.state, StateRole.PreCandidate);
  net.recover();
  net.tickAll(5);
  assert.is(net.leader(), 'a');
  assert.is(net.rn('a').raft.term, term, 'the leader keeps its term');
  assert.is(net.rn('c').raft.state, StateRole.Follower);
  assert.is(net.rn('c').raft.lead, 'a');
});

test('without PreVote a rejoining node forces a new term (why PreVote matters)', () => {
  const net = elect({ preVote: false, checkQuorum: false });
  const term = net.rn('a').raft.term;
  net.isolate('c');
  net.tickAll(50);
  assert.ok(net.rn('c').raft.term > term + 1);
  net.recover();
  net.tickAll(30);
  assert.ok(net.rn('a').raft.term > term, 'the old leader was deposed by the higher term');
});

test('leader steps down with CheckQuorum when it has not heard from a quorum for an election timeout', () => {
  const net = elect(both);
  net.isolate('a');
  // The first check after isolation still counts what was heard before it; the second fails.
  net.tickAll(10);
  assert.is(net.rn('a').raft.state, StateRole.Leader);
  net.tickAll(10);
  assert.is(net.rn('a').raft.state, StateRole.Follower);
  assert.is(net.rn('a').raft.lead, '');
});

test('leader without CheckQuorum stays leader in a minority partition', () => {
  const net = elect({ preVote: true, checkQuorum: false });
  net.isolate('a');
  net.tickAll(30);
  assert.is(net.rn('a').raft.state, StateRole.Leader);
});

test('CheckQuorum keeps a leader that hears from a majority', () => {
  const net = elect(both, ['a', 'b', 'c', 'd', 'e']);
  net.isolate('d');
  net.isolate('e');
  net.tickAll(40);
  assert.is(net.rn('a').raft.state, StateRole.Leader);
});

test('vote lease: a follower that heard from the leader recently ignores a vote request', () => {
  const net = elect({ preVote: false, checkQuorum: true });
  const b = net.rn('b').raft;
  const term = b.term;
  net.rn('b').step(message({ type: MessageType.Vote, from: 'c', to: 'b', term: term + 5, index: 100, logTerm: term + 4 }));
  assert.is(b.term, term, 'term unchanged');
  assert.is(b.vote, 'a');
  assert.equal(b.msgs.filter((m) => m.type === MessageType.VoteResp), [], 'no answer at all');
});

test('vote lease is bypassed by a leadership-transfer campaign', () => {
  const net = elect(both);
  net.rn('a').transferLeader('c');
  net.stabilize();
  assert.is(net.leader(), 'c');
});

test('lower-term pre-candidate learns the higher term from a PreVote rejection', () => {
  const net = elect(both);
  const term = net.rn('a').raft.term;
  const b = net.rn('b');
  // A node at an old term asks for a pre-vote: the answer rejects it with the current term.
  b.step(message({ type: MessageType.PreVote, from: 'c', to: 'b', term: term - 1, index: 1, logTerm: 1 }));
  const resp = b.raft.msgs.find((m) => m.type === MessageType.PreVoteResp)!;
  assert.is(resp.reject, true);
  assert.is(resp.term, term);
});

test('a stale leader is answered with the current term and steps down', () => {
  const net = elect(both);
  net.isolate('a');
  net.tickAll(10);
  net.campaign('b');
  assert.is(net.leader(), 'b');
  const newTerm = net.rn('b').raft.term;
  // 'a' (now a follower at its old term) gets an App from nobody; simulate an old-term App from 'a' reaching 'c'.
  net.recover();
  net.rn('c').step(message({ type: MessageType.Heartbeat, from: 'a', to: 'c', term: newTerm - 1 }));
  const resp = net.rn('c').raft.msgs.find((m) => m.to === 'a')!;
  assert.equal([resp.type, resp.term], [MessageType.AppResp, newTerm]);
});

test('every combination of PreVote and CheckQuorum elects one leader and survives a partition', () => {
  for (const preVote of [false, true]) {
    for (const checkQuorum of [false, true]) {
      const net = elect({ preVote, checkQuorum }, ['a', 'b', 'c', 'd', 'e']);
      net.isolate('a');
      net.tickAll(40);
      const leaders = [...net.nodes.values()].filter((n) => n.id !== 'a' && n.rn.raft.state === StateRole.Leader);
      assert.is(leaders.length, 1, `preVote=${preVote} checkQuorum=${checkQuorum}`);
      net.recover();
      net.tickAll(40);
      const terms = new Set([...net.nodes.values()].map((n) => n.rn.raft.term));
      assert.is(terms.size, 1, 'everyone converges on one term');
      assert.ok(net.leader());
      net.propose(net.leader()!, 'x');
      for (const id of net.nodes.keys()) assert.equal(net.appliedData(id), ['x'], `${id} preVote=${preVote} checkQuorum=${checkQuorum}`);
    }
  }
});

test('partial connectivity (a-b, b-c, no a-c) converges to a stable leader', () => {
  const net = elect(both);
  net.cut('a', 'c');
  net.tickAll(100);
  const lead = net.leader();
  assert.ok(lead);
  const term = net.rn(lead!).raft.term;
  net.tickAll(100);
  assert.is(net.leader(), lead, 'leadership is stable');
  assert.is(net.rn(lead!).raft.term, term, 'no more elections');
});

test('single voter elects itself at once', () => {
  const net = new Network(['a'], both);
  net.campaign('a');
  assert.is(net.leader(), 'a');
  net.propose('a', 'solo');
  assert.equal(net.appliedData('a'), ['solo']);
});

test('a split vote resolves through randomized timeouts', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const net = new Network(['a', 'b', 'c', 'd'], { preVote: false, checkQuorum: false }, seed);
    // a and b campaign in the same term, each voting for itself.
    net.rn('a').campaign();
    net.rn('b').campaign();
    net.stabilize();
    net.tickAll(60);
    assert.ok(net.leader(), `seed ${seed}`);
  }
});

test('after the leader fails a new one is elected within about one to two election timeouts', () => {
  const ticks: number[] = [];
  for (let seed = 1; seed <= 60; seed++) {
    const net = new Network(['a', 'b', 'c', 'd', 'e'], both, seed);
    net.campaign('a');
    net.tickAll(3);
    net.isolate('a');
    let t = 0;
    while (!['b', 'c', 'd', 'e'].some((id) => net.rn(id).raft.state === StateRole.Leader)) {
      net.tickAll(1);
      t++;
      assert.ok(t < 100, `seed ${seed}: no leader after 100 ticks`);
    }
    ticks.push(t);
  }
  ticks.sort((x, y) => x - y);
  const median = ticks[Math.floor(ticks.length / 2)];
  assert.ok(median >= 8 && median < 20, `median ${median} ticks (electionTick 10)`);
  assert.ok(ticks[ticks.length - 1] <= 30, `worst ${ticks[ticks.length - 1]} ticks: at most one extra round`);
});

test('a cluster mixing PreVote and non-PreVote nodes elects leaders and converges (rolling upgrade)', () => {
  const ids = ['a', 'b', 'c'];
  const net = Network.of(ids.map((id, i) => newTestNode(id, voters(ids), { checkQuorum: true, preVote: id !== 'b' }, i + 1)));
  net.tickAll(40);
  const first = net.leader();
  assert.ok(first);
  for (const id of ['a', 'b', 'c']) {
    net.isolate(id);
    net.tickAll(40);
    net.recover();
    net.tickAll(40);
    const lead = net.leader();
    assert.ok(lead, `a leader after isolating ${id}`);
    assert.is(new Set([...net.nodes.values()].map((n) => n.rn.raft.term)).size, 1, 'one term');
    net.propose(lead!, `after-${id}`);
  }
  for (const id of ['a', 'b', 'c']) assert.equal(net.appliedData(id), ['after-a', 'after-b', 'after-c']);
});

test.run();
