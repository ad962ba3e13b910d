import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LogBroker } from './log-broker.ts';
import { LogRelay, RelayedRequests, type RelaySink } from './log-relay.ts';
import type { LogSessionFrame, SessionFrame } from '../wire/types.ts';

/** A follower's relay and the leader's side of its session, wired in memory. */
function wire() {
  const broker = new LogBroker();
  const toNode: SessionFrame[] = [];
  broker.addNode('w1', (f) => { toNode.push(f); return true; });
  let conn = new AbortController();
  const relay: LogRelay = new LogRelay((f) => {
    if (conn.signal.aborted) return undefined;
    queueMicrotask(() => leaderSide.onFrame(f));
    return conn.signal;
  });
  const leaderSide = new RelayedRequests(broker, (f) => { queueMicrotask(() => relay.onFrame(f as LogSessionFrame)); return true; });
  return { broker, relay, toNode, leaderSide, dropSession: () => { conn.abort(); leaderSide.close(); conn = new AbortController(); } };
}

function sink() {
  const got = { lines: [] as string[], ended: [] as string[], failed: [] as string[] };
  const s: RelaySink = {
    entries: (t, es) => { for (const e of es) got.lines.push(`${t}:${e.log}`); },
    end: (t, err) => { got.ended.push(`${t}:${err ?? ''}`); },
    fail: (err) => { got.failed.push(err); },
  };
  return { s, got };
}

const flush = () => new Promise((r) => setImmediate(r));

test('a relayed request runs on the leader\'s broker and its answers come back', async () => {
  const { broker, relay, toNode } = wire();
  const { s, got } = sink();
  relay.subscribe({ tasks: [{ taskId: 't1', nodeId: 'w1' }, { taskId: 't2', nodeId: 'gone' }], follow: false, stdout: true, stderr: true }, s);
  await flush();
  const sub = toNode.find((f) => f.type === 'logs.subscribe') as Extract<SessionFrame, { type: 'logs.subscribe' }>;
  assert.equal(sub.tasks, ['t1']);
  broker.onNodeFrame('w1', { type: 'logs', id: sub.id, taskId: 't1', entries: [{ time: 'x', stream: 'stdout', log: 'hi\n' }] });
  broker.onNodeFrame('w1', { type: 'logs.end', id: sub.id, taskId: 't1' });
  await flush();
  assert.equal(got.lines, ['t1:hi\n']);
  assert.equal(got.ended.sort(), ['t1:', 't2:logs unavailable: node gone is down or not connected']);
  assert.equal(got.failed, []);
});

test('the session to the leader closing fails the subscription and cancels it on the leader', async () => {
  const { broker, relay, toNode, dropSession } = wire();
  const { s, got } = sink();
  relay.subscribe({ tasks: [{ taskId: 't1', nodeId: 'w1' }], follow: true, stdout: true, stderr: true }, s);
  await flush();
  assert.is(broker.size, 1);
  dropSession();
  assert.equal(got.failed, ['logs: the session to the leader closed']);
  assert.is(broker.size, 0, 'the leader dropped it');
  assert.ok(toNode.some((f) => f.type === 'logs.cancel'), 'the node was told');
  assert.is(relay.size, 0);
});

test('without a session the relay says so at once', () => {
  const relay = new LogRelay(() => undefined);
  assert.is(relay.subscribe({ tasks: [], follow: false, stdout: true, stderr: true }, sink().s), undefined);
});

test.run();
