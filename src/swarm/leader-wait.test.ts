import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import { LeaderWait, type HoldClock } from './leader-wait.ts';
import { Dispatcher } from './dispatcher.ts';
import { MemoryStore } from '../store/index.ts';
import { nullLogger } from '../common/logger.ts';
import type { Manager } from '../manager/manager.ts';
import type { SessionFrame } from '../wire/types.ts';

/** A manual clock: timers fire when the test advances it. */
function manualClock(): HoldClock & { advance(ms: number): void } {
  let now = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  return {
    setTimer(ms, fn) {
      const t = { at: now + ms, fn };
      timers.add(t);
      return () => timers.delete(t);
    },
    advance(ms) {
      now += ms;
      for (const t of [...timers].sort((a, b) => a.at - b.at)) {
        if (t.at <= now && timers.delete(t)) t.fn();
      }
    },
  };
}

test('a held session is answered with the leader once one is known, exactly once', () => {
  const clock = manualClock();
  const w = new LeaderWait({ clock, maxHoldMs: 5000 });
  const got: (string | undefined)[] = [];
  w.hold((a) => got.push(a));
  w.hold((a) => got.push(a));
  assert.equal(got, []);
  assert.is(w.size, 2);
  w.leaderKnown('10.0.0.2:2377');
  assert.equal(got, ['10.0.0.2:2377', '10.0.0.2:2377']);
  clock.advance(10_000);
  w.leaderKnown('10.0.0.3:2377');
  assert.equal(got, ['10.0.0.2:2377', '10.0.0.2:2377']);
  assert.is(w.size, 0);
});

test('a session held past maxHoldMs is answered without a leader', () => {
  const clock = manualClock();
  const w = new LeaderWait({ clock, maxHoldMs: 5000 });
  const got: (string | undefined)[] = [];
  w.hold((a) => got.push(a));
  clock.advance(4999);
  assert.equal(got, []);
  clock.advance(1);
  assert.equal(got, [undefined]);
});

test('a session released (its connection closed) is never answered', () => {
  const clock = manualClock();
  const w = new LeaderWait({ clock, maxHoldMs: 5000 });
  const got: (string | undefined)[] = [];
  const release = w.hold((a) => got.push(a));
  release();
  w.leaderKnown('10.0.0.2:2377');
  clock.advance(10_000);
  assert.equal(got, []);
});

test('closing answers every held session without a leader and holds no more', () => {
  const w = new LeaderWait({ clock: manualClock(), maxHoldMs: 5000 });
  const got: (string | undefined)[] = [];
  w.hold((a) => got.push(a));
  w.close();
  w.hold((a) => got.push(`late:${a}`));
  assert.equal(got, [undefined, 'late:undefined']);
});

test('a non-positive hold, batch or maxHeld is refused', () => {
  assert.throws(() => new LeaderWait({ clock: manualClock(), maxHoldMs: 0 }), /maxHoldMs must be positive/);
  assert.throws(() => new LeaderWait({ clock: manualClock(), maxHoldMs: 1, batch: 0 }), /batch must be a positive integer/);
  assert.throws(() => new LeaderWait({ clock: manualClock(), maxHoldMs: 1, maxHeld: 0 }), /maxHeld must be a positive integer/);
});

test('past maxHeld a session is answered at once without a leader; a freed place holds again', () => {
  const w = new LeaderWait({ clock: manualClock(), maxHoldMs: 5000, maxHeld: 2 });
  const got: string[] = [];
  const release = w.hold((a) => got.push(`0:${a}`));
  w.hold((a) => got.push(`1:${a}`));
  w.hold((a) => got.push(`2:${a}`));
  assert.equal(got, ['2:undefined']);
  assert.is(w.size, 2);
  release();
  w.hold((a) => got.push(`3:${a}`));
  w.leaderKnown('m2');
  assert.equal(got, ['2:undefined', '1:m2', '3:m2']);
});

test('answers go out a batch per deferred turn, never inside the call that learned the leader', () => {
  const turns: (() => void)[] = [];
  const w = new LeaderWait({ clock: manualClock(), maxHoldMs: 5000, batch: 2, defer: (fn) => void turns.push(fn) });
  const got: string[] = [];
  for (let i = 0; i < 5; i++) w.hold((a) => got.push(`${i}:${a}`));
  const release = w.hold((a) => got.push(`late:${a}`));
  w.leaderKnown('m2');
  assert.equal(got, []);
  const counts: number[] = [];
  while (turns.length) {
    turns.shift()!();
    counts.push(got.length);
    release(); // closed while waiting for its turn: never answered
  }
  assert.equal(counts, [2, 4, 5]);
  assert.equal(got, ['0:m2', '1:m2', '2:m2', '3:m2', '4:m2']);
});

/** The WebSocket surface the dispatcher uses on a follower. */
class FakeWs extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  sent: SessionFrame[] = [];
  closedWith?: number;
  send(s: string) { this.sent.push(JSON.parse(s) as SessionFrame); }
  close(code: number) {
    if (this.readyState !== 1) return;
    this.readyState = 3;
    this.closedWith = code;
    this.emit('close');
  }
  terminate() { this.close(1006); }
}

/** A node's heartbeat as the dispatcher receives it. */
const heartbeatFrame = () => Buffer.from(JSON.stringify({ type: 'heartbeat', addr: '127.0.0.1:2377' }));

/** A dispatcher on a follower (this manager is m1) that knows `leaderId` as its leader ('' none). */
function follower(leaderId: string) {
  const listeners: ((e: { kind: string; leader?: string }) => void)[] = [];
  const heartbeats: string[] = [];
  const m = {
    isLeader: false,
    leaderId,
    /** Whether Raft says the leader it names went silent (`RaftNode.leaderSilent`). */
    silent: false,
    leaderAddr: () => (m.leaderId === 'm1' ? '127.0.0.1:4001' : m.leaderId ? '127.0.0.1:4000' : undefined),
    store: new MemoryStore(),
    heldSessions: { adopted: 0, redirected: 0, expired: 0 },
    heartbeatMs: 1000,
    standing: (_e: string, peer: unknown) => peer,
    heartbeat: (nodeId: string) => heartbeats.push(nodeId),
    isRaftMember: () => false,
    raft: {
      on: (l: (e: { kind: string; leader?: string }) => void) => { listeners.push(l); return () => {}; },
      leaderSilent: () => m.silent,
    },
  };
  const d = new Dispatcher(m as unknown as Manager, 'cluster', () => ({ m2: '127.0.0.1:4000' }), nullLogger);
  const open = (ws: FakeWs) => (d as unknown as { session(ws: FakeWs, peer: unknown, ip: string): void })
    .session(ws, { nodeId: 'n1', role: 'worker', clusterId: 'cluster' }, '127.0.0.1');
  const elect = (id: string) => {
    m.leaderId = id;
    m.isLeader = id === 'm1';
    for (const l of listeners) l({ kind: 'leader', leader: id });
  };
  return { d, m, open, elect, heartbeats };
}

test('a follower that knows no leader holds a session until one is elected, then redirects it there', async () => {
  const { d, open, elect } = follower('');
  const ws = new FakeWs();
  open(ws);
  // The old dispatcher answered at once with no leader and closed: the node came back in half a second.
  assert.equal(ws.sent, []);
  assert.is(ws.readyState, 1);
  elect('m2');
  await new Promise((r) => setImmediate(r));
  assert.equal(ws.sent.map((f) => f.type === 'redirect' && f.leader), ['127.0.0.1:4000']);
  assert.is(ws.closedWith, 1000);
  d.close();
});

test('a follower that knows the leader redirects at once', () => {
  const { d, open } = follower('m2');
  const ws = new FakeWs();
  open(ws);
  assert.equal(ws.sent.map((f) => f.type === 'redirect' && f.leader), ['127.0.0.1:4000']);
  assert.is(ws.closedWith, 1000);
  d.close();
});

test('a follower whose leader went silent holds a session, and redirects it once the leader speaks again', async () => {
  const { d, m, open } = follower('m2');
  m.silent = true;
  const ws = new FakeWs();
  open(ws);
  // Redirected now, the node would be sent to a leader that may be dead.
  assert.equal(ws.sent, []);
  m.silent = false;
  for (let i = 0; i < 100 && !ws.sent.length; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(ws.sent.map((f) => f.type === 'redirect' && f.leader), ['127.0.0.1:4000']);
  assert.equal(m.heldSessions, { adopted: 0, redirected: 1, expired: 0 });
  d.close();
});

test('the manager elected keeps the sessions it held: no redirect, the heartbeat sent while held answered', async () => {
  const { d, m, open, elect, heartbeats } = follower('');
  const ws = new FakeWs();
  open(ws);
  // The node's first heartbeat arrives while held: nothing answers it then.
  ws.emit('message', heartbeatFrame(), false);
  ws.emit('message', Buffer.from('{"type":"status","updates":[]}'), false);
  assert.equal(ws.sent, []);
  elect('m1');
  await new Promise((r) => setImmediate(r));
  assert.is(ws.closedWith, undefined, 'the connection stays open');
  const types = ws.sent.map((f) => f.type);
  assert.ok(!types.includes('redirect'), `no redirect: ${types.join(', ')}`);
  assert.ok(types.includes('assignments'), 'the assignment set is sent');
  assert.ok(types.includes('ack'), 'the heartbeat sent while held is answered');
  assert.equal(heartbeats, ['n1'], 'and recorded once');
  assert.equal(m.heldSessions, { adopted: 1, redirected: 0, expired: 0 });
  // Later heartbeats are answered as on any session.
  ws.emit('message', heartbeatFrame(), false);
  assert.is(ws.sent.filter((f) => f.type === 'ack').length, 2);
  d.close();
});

test('a hold that runs out while the follower still names its silent leader redirects there', async () => {
  const { d, m, open } = follower('m2');
  m.silent = true;
  const ws = new FakeWs();
  open(ws);
  (d as unknown as { leaderWait: { close(): void } }).leaderWait.close(); // as when the hold runs out: answered without a leader
  assert.equal(ws.sent.map((f) => f.type === 'redirect' && f.leader), ['127.0.0.1:4000']);
  assert.equal(m.heldSessions, { adopted: 0, redirected: 0, expired: 1 });
  d.close();
});

test('a held session\'s frames are looked at only until its fourth: a heartbeat after them is not kept', async () => {
  const { d, open, elect, heartbeats } = follower('');
  const ws = new FakeWs();
  open(ws);
  for (let i = 0; i < 4; i++) ws.emit('message', Buffer.from('{"type":"status","updates":[]}'), false);
  ws.emit('message', heartbeatFrame(), false);
  elect('m1');
  await new Promise((r) => setImmediate(r));
  assert.ok(ws.sent.some((f) => f.type === 'assignments'), 'adopted');
  assert.not.ok(ws.sent.some((f) => f.type === 'ack'), 'no heartbeat kept to answer');
  assert.equal(heartbeats, []);
  d.close();
});

test('a held session whose connection closed is not answered later', async () => {
  const { d, open, elect } = follower('');
  const ws = new FakeWs();
  open(ws);
  ws.terminate();
  elect('m2');
  await new Promise((r) => setImmediate(r));
  assert.equal(ws.sent, []);
  d.close();
});

test.run();
