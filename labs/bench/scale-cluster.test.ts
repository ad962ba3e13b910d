// SimProc's questions to a process of simulated nodes: each answered by the reply carrying
// its id, a late reply to a timed-out question dropped and counted (never taken for the
// next question's answer), and failed (not hung) when the process stops answering or
// exits, so a stuck round ends and is reported.
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ScaleCluster, SimProc } from './scale-cluster.ts';
import type { SimRequest } from '../scale/sim-process.ts';

/** A child that records what it was sent and answers only when told to. */
function fakeChild() {
  const child = Object.assign(new EventEmitter(), { pid: 4242, sent: [] as unknown[] });
  (child as unknown as { send: (m: unknown) => boolean }).send = (m) => (child.sent.push(m), true);
  return child;
}

/** The id the `i`th question was sent under. */
const idOf = (child: ReturnType<typeof fakeChild>, i: number) => (child.sent[i] as { id: number }).id;

test('a reply resolves the question whose id it carries', async () => {
  const child = fakeChild();
  const p = new SimProc(child as unknown as ChildProcess);
  const marked = p.ask({ type: 'mark', addr: '127.0.0.1:1' }, 'marked');
  child.emit('message', { type: 'marked', id: idOf(child, 0) });
  assert.equal(await marked, { type: 'marked', id: idOf(child, 0) });
  assert.equal(child.sent, [{ type: 'mark', addr: '127.0.0.1:1', id: idOf(child, 0) }]);
});

test('no reply within the timeout: the question fails naming the process, and its late reply is dropped, not taken for the next', async () => {
  const child = fakeChild();
  const p = new SimProc(child as unknown as ChildProcess);
  const err = await p.ask({ type: 'stats' }, 'stats', 5).then(() => null, (e: Error) => e);
  assert.match(String(err?.message), /pid 4242\) did not answer stats within 0.005 s/);
  const next = p.ask({ type: 'stats' }, 'stats', 1000);
  // The first question's answer comes late, while the second of the same kind is open.
  child.emit('message', { type: 'stats', id: idOf(child, 0), rtts: [1] });
  child.emit('message', { type: 'stats', id: idOf(child, 1), rtts: [2] });
  assert.equal((await next).rtts, [2], 'the second question gets its own answer');
  assert.is(p.stale, 1, 'the late reply is counted');
  assert.is.not(idOf(child, 1), idOf(child, 0), 'each question its own id');
});

test('a reply of another kind under a question\'s id fails that question', async () => {
  const child = fakeChild();
  const p = new SimProc(child as unknown as ChildProcess);
  const q = p.ask({ type: 'stats' }, 'stats', 1000);
  child.emit('message', { type: 'marked', id: idOf(child, 0) });
  assert.match(String(await q.then(() => '', (e: Error) => e.message)), /answered stats with marked/);
});

test('an error reply fails only the question it answers', async () => {
  const child = fakeChild();
  const p = new SimProc(child as unknown as ChildProcess);
  const a = p.ask({ type: 'join', from: 0, count: 1, joinAddr: 'x', token: 't' }, 'joined', 1000);
  const b = p.ask({ type: 'join', from: 1, count: 1, joinAddr: 'x', token: 't' }, 'joined', 1000);
  child.emit('message', { type: 'error', id: idOf(child, 0), message: 'no root CA' });
  child.emit('message', { type: 'joined', id: idOf(child, 1), nodes: 1, failed: [], nodeIds: ['n1'] });
  assert.match(String(await a.then(() => '', (e: Error) => e.message)), /simulated nodes: no root CA/);
  assert.equal((await b).nodeIds, ['n1']);
});

test('the process exits: every open question fails at once', async () => {
  const child = fakeChild();
  const p = new SimProc(child as unknown as ChildProcess);
  const q = p.ask({ type: 'stats' }, 'stats');
  child.emit('exit', null, 'SIGKILL');
  assert.match(String(await q.then(() => '', (e: Error) => e.message)), /exited/);
});

test('a real process of simulated nodes answers by id, and refuses a question it does not know', async () => {
  const cluster = new ScaleCluster();
  try {
    const p = cluster.startSims();
    const [a, b] = await Promise.all([p.ask({ type: 'stats' }, 'stats', 30_000), p.ask({ type: 'stats' }, 'stats', 30_000)]);
    assert.equal([a.nodes, b.nodes, p.stale], [0, 0, 0]);
    const err = await p.ask({ type: 'nope' } as unknown as SimRequest, 'stats', 30_000).then(() => '', (e: Error) => e.message);
    assert.match(err, /simulated nodes: unknown request "nope"/);
  } finally {
    assert.equal(await cluster.close(), [], 'nothing left');
  }
});

test.run();
