// SimProc's questions to a process of simulated nodes: answered by type, and failed (not
// hung) when the process stops answering or exits, so a stuck round ends and is reported.
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimProc } from './scale-cluster.ts';

/** A child that records what it was sent and answers only when told to. */
function fakeChild() {
  const child = Object.assign(new EventEmitter(), { pid: 4242, sent: [] as unknown[] });
  (child as unknown as { send: (m: unknown) => boolean }).send = (m) => (child.sent.push(m), true);
  return child;
}

test('a reply resolves the question of its type', async () => {
  const child = fakeChild();
  const p = new SimProc(child as unknown as ChildProcess);
  const marked = p.ask({ type: 'mark', addr: '127.0.0.1:1' }, 'marked');
  child.emit('message', { type: 'marked' });
  assert.equal(await marked, { type: 'marked' });
  assert.equal(child.sent, [{ type: 'mark', addr: '127.0.0.1:1' }]);
});

test('no reply within the timeout: the question fails naming the process, and a later reply goes nowhere', async () => {
  const child = fakeChild();
  const p = new SimProc(child as unknown as ChildProcess);
  const err = await p.ask({ type: 'stats' }, 'stats', 5).then(() => null, (e: Error) => e);
  assert.match(String(err?.message), /pid 4242\) did not answer stats within 0.005 s/);
  const next = p.ask({ type: 'mark', addr: 'x' }, 'marked', 1000);
  child.emit('message', { type: 'marked' });
  assert.equal(await next, { type: 'marked' }, 'later questions still answered');
});

test('the process exits: every open question fails at once', async () => {
  const child = fakeChild();
  const p = new SimProc(child as unknown as ChildProcess);
  const q = p.ask({ type: 'stats' }, 'stats');
  child.emit('exit', null, 'SIGKILL');
  assert.match(String(await q.then(() => '', (e: Error) => e.message)), /exited/);
});

test.run();
