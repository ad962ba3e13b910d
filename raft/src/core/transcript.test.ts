/**
 * Transcript tests (after etcd's datadriven interaction tests): each scenario drives a small
 * in-memory cluster and renders every delivered message and state change as text, compared
 * with `testdata/<name>.txt`. When behaviour changes on purpose, rewrite the files with
 * `RAFT_REWRITE=1 node --import tsx raft/src/core/transcript.test.ts` and commit them only once
 * the diff is understood.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfChangeType, EntryType, MessageType } from '../types.ts';
import type { Message } from '../types.ts';
import { Network, newTestNode, voters } from './test-network.ts';
import type { NodeOptions } from './test-network.ts';

const REWRITE = process.env.RAFT_REWRITE === '1';
const dec = new TextDecoder();

function fmtMsg(m: Message): string {
  let s = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  if (m.type === MessageType.App || m.type === MessageType.Vote || m.type === MessageType.PreVote) s += ` prev=${m.index}/${m.logTerm}`;
  if (m.type === MessageType.AppResp || m.type === MessageType.ReadIndexResp) s += ` index=${m.index}`;
  if (m.type === MessageType.App || m.type === MessageType.Heartbeat) s += ` commit=${m.commit}`;
  if (m.entries.length > 0) {
    s += ' [' + m.entries.map((e) => {
      const body = e.type === EntryType.ConfChange ? 'conf' : e.data.length ? JSON.stringify(dec.decode(e.data)) : 'noop';
      return `${e.index}/${e.term} ${body}`;
    }).join(', ') + ']';
  }
  if (m.reject) s += ` rejected hint=${m.rejectHint}/${m.logTerm}`;
  if (m.snapshot) s += ` snapshot=${m.snapshot.metadata.index}/${m.snapshot.metadata.term}`;
  if (m.context && m.context.length) s += ` ctx=${JSON.stringify(dec.decode(m.context))}`;
  return s;
}

/** A network that writes its traffic and the nodes' state changes into a transcript. */
class Recorder {
  readonly lines: string[] = [];
  private seen: number;
  private readonly roles = new Map<string, string>();

  constructor(readonly net: Network) {
    this.seen = net.delivered.length;
    this.snapshotRoles();
  }

  private snapshotRoles(): void {
    for (const n of this.net.nodes.values()) this.roles.set(n.id, this.role(n.id));
  }

  private role(id: string): string {
    const r = this.net.rn(id).raft;
    return `${r.state} term=${r.term} lead=${r.lead || '-'} commit=${r.raftLog.committed}`;
  }

  /** Runs `fn` under a heading and records what it caused. */
  step(title: string, fn: () => void): void {
    this.lines.push(`> ${title}`);
    fn();
    for (const m of this.net.delivered.slice(this.seen)) this.lines.push(`  ${fmtMsg(m)}`);
    this.seen = this.net.delivered.length;
    for (const n of this.net.nodes.values()) {
      const now = this.role(n.id);
      if (this.roles.get(n.id) !== now) this.lines.push(`  = ${n.id}: ${now}`);
      this.roles.set(n.id, now);
    }
  }

  check(name: string): void {
    const text = this.lines.join('\n') + '\n';
    const file = new URL(`./testdata/${name}.txt`, import.meta.url);
    if (REWRITE) {
      writeFileSync(file, text);
      return;
    }
    // A missing golden file is a failure, not a pass that writes one: a deleted or
    // misnamed transcript would otherwise check nothing, silently, forever.
    assert.ok(existsSync(file), `transcript ${name}: no golden file testdata/${name}.txt (RAFT_REWRITE=1 writes it; commit it once the diff is understood)`);
    assert.fixture(text, readFileSync(file, 'utf8'), `transcript ${name} changed (RAFT_REWRITE=1 to accept)`);
  }
}

const opts: NodeOptions = { preVote: true, checkQuorum: true };

test('transcript: pre-vote election and first replication', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  const t = new Recorder(net);
  t.step('a campaigns', () => net.campaign('a'));
  t.step('propose "x" at a', () => net.propose('a', 'x'));
  t.step('propose "y" at follower c (forwarded)', () => net.propose('c', 'y'));
  t.step('heartbeat', () => net.tickAll(1));
  t.check('election-replication');
});

test('transcript: CheckQuorum step-down and a partitioned node rejoining with PreVote', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  const t = new Recorder(net);
  t.step('isolate a, tick 20', () => {
    net.isolate('a');
    net.tickAll(20);
  });
  t.step('heal, tick 3', () => {
    net.recover();
    net.tickAll(3);
  });
  t.check('checkquorum-prevote');
});

test('transcript: leadership transfer to a lagging follower', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  const t = new Recorder(net);
  t.step('c misses two entries', () => {
    net.isolate('c');
    net.propose('a', 'p1');
    net.propose('a', 'p2');
    net.recover();
  });
  t.step('transfer leadership to c', () => {
    net.rn('a').transferLeader('c');
    net.stabilize();
  });
  t.check('transfer-lagging');
});

test('transcript: a follower behind the compaction point is sent a snapshot', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  const t = new Recorder(net);
  t.step('c is away while a writes and compacts', () => {
    net.isolate('c');
    for (const v of ['v1', 'v2', 'v3']) net.propose('a', v);
    const a = net.node('a');
    const applied = a.rn.raft.raftLog.applied;
    a.storage.createSnapshot(applied, a.rn.status().confState, new Uint8Array());
    a.storage.compact(applied);
  });
  t.step('c returns', () => {
    net.recover();
    net.tickAll(1);
  });
  t.step('snapshot reported', () => {
    net.rn('a').reportSnapshot('c', true);
    net.tickAll(1);
  });
  t.check('snapshot-catch-up');
});

test('transcript: learner added, caught up and promoted', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.add(newTestNode('d', voters([]), opts));
  net.campaign('a');
  const t = new Recorder(net);
  t.step('add learner d', () => {
    net.rn('a').proposeConfChange({ changes: [{ type: ConfChangeType.AddLearner, nodeId: 'd' }] });
    net.stabilize();
  });
  t.step('promote d', () => {
    net.rn('a').proposeConfChange({ changes: [{ type: ConfChangeType.AddNode, nodeId: 'd' }] });
    net.stabilize();
  });
  t.lines.push(`= d confState ${JSON.stringify(net.rn('d').status().confState)}`);
  t.check('learner-promotion');
});

test('transcript: ReadIndex from a follower', () => {
  const net = new Network(['a', 'b', 'c'], opts);
  net.campaign('a');
  const t = new Recorder(net);
  t.step('c asks for a read index', () => {
    net.rn('c').readIndex(new TextEncoder().encode('r1'));
    net.stabilize();
  });
  t.lines.push(`= c readStates ${JSON.stringify(net.node('c').readStates.map((r) => [r.index, dec.decode(r.requestCtx)]))}`);
  t.check('read-index-follower');
});

test.run();
