import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageType, message, type Message, type NodeId } from '../types.ts';
import { MemoryNetwork } from './memory-transport.ts';

const settle = () => new Promise<void>((r) => setImmediate(r));

async function net3() {
  const net = new MemoryNetwork();
  const inbox: Record<NodeId, Message[]> = { a: [], b: [], c: [] };
  const unreachable: NodeId[] = [];
  const snaps: [NodeId, boolean][] = [];
  const ts = Object.fromEntries(await Promise.all(['a', 'b', 'c'].map(async (id) => {
    const t = net.transport(id);
    t.setHandler({ onMessage: (m) => inbox[id].push(m), onUnreachable: (p) => unreachable.push(p), onSnapshotStatus: (p, ok) => snaps.push([p, ok]) });
    await t.start();
    return [id, t] as const;
  })));
  return { net, ts, inbox, unreachable, snaps };
}

const hb = (from: string, to: string) => message({ type: MessageType.Heartbeat, from, to, term: 1 });

test('messages are delivered asynchronously, in order', async () => {
  const { ts, inbox } = await net3();
  ts.a.send([hb('a', 'b'), { ...hb('a', 'b'), term: 2 }]);
  assert.is(inbox.b.length, 0);
  await settle();
  assert.equal(inbox.b.map((m) => m.term), [1, 2]);
});

test('isolate, partition and heal cut and restore links', async () => {
  const { net, ts, inbox, unreachable } = await net3();
  net.isolate('c');
  ts.a.send([hb('a', 'c'), hb('a', 'b')]);
  await settle();
  assert.is(inbox.c.length, 0);
  assert.is(inbox.b.length, 1);
  assert.equal(unreachable, ['c']);
  net.heal();
  net.partition(['a'], ['b', 'c']);
  ts.b.send([hb('b', 'a'), hb('b', 'c')]);
  await settle();
  assert.is(inbox.a.length, 0);
  assert.is(inbox.c.length, 1);
  net.heal();
  ts.b.send([hb('b', 'a')]);
  await settle();
  assert.is(inbox.a.length, 1);
});

test('a snapshot message reports its outcome; a stopped node receives nothing', async () => {
  const { ts, inbox, snaps } = await net3();
  ts.a.send([message({ type: MessageType.Snap, from: 'a', to: 'b', term: 1 })]);
  await ts.c.close();
  ts.a.send([message({ type: MessageType.Snap, from: 'a', to: 'c', term: 1 })]);
  await settle();
  assert.equal(snaps, [['b', true], ['c', false]]);
  assert.is(inbox.c.length, 0);
});

test.run();
