import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { EntryType, MessageType, message, type Message, type NodeId } from '../types.ts';
import { encodeFrame } from './codec.ts';
import { makeTestPki } from './test-certs.ts';
import type { TransportHandler } from './transport.ts';
import { WsTransport, type WsTransportOptions } from './ws-transport.ts';

const pki = makeTestPki(['a', 'b']);

/** Collects what a transport reports; `next(pred)` waits for the first event matching it. */
class Inbox implements TransportHandler {
  messages: Message[] = [];
  unreachable: NodeId[] = [];
  snapshots: [NodeId, boolean][] = [];
  private waiters: (() => void)[] = [];
  onMessage(m: Message) { this.messages.push(m); this.wake(); }
  onUnreachable(id: NodeId) { this.unreachable.push(id); this.wake(); }
  onSnapshotStatus(id: NodeId, ok: boolean) { this.snapshots.push([id, ok]); this.wake(); }
  private wake() { for (const w of this.waiters.splice(0)) w(); }
  async until(pred: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

function node(id: string, port = 0, extra: Partial<WsTransportOptions> = {}) {
  const t = new WsTransport({ id, listen: { host: '127.0.0.1', port }, tls: { ...pki.certs[id], ca: pki.ca }, reconnectMinMs: 10, ...extra });
  const inbox = new Inbox();
  t.setHandler(inbox);
  return { t, inbox };
}

const app = (i: number): Message => message({
  type: MessageType.App, from: 'a', to: 'b', term: 1, index: i, commit: i,
  entries: [{ term: 1, index: i + 1, type: EntryType.Normal, data: new Uint8Array(1024).fill(i % 256) }],
});

test('messages flow over mutual TLS, in order, addressed to the receiver only', async () => {
  const a = node('a');
  const b = node('b');
  try {
    await a.t.start();
    await b.t.start();
    a.t.addPeer('b', `127.0.0.1:${b.t.port()}`);
    const batch = Array.from({ length: 500 }, (_, i) => app(i));
    a.t.send(batch.slice(0, 250));
    a.t.send(batch.slice(250));
    a.t.send([message({ type: MessageType.Heartbeat, from: 'a', to: 'b', term: 1, context: new Uint8Array([5]) })]);
    await b.inbox.until(() => b.inbox.messages.length === 501, '501 messages');
    assert.equal(b.inbox.messages.slice(0, 500).map((m) => m.index), batch.map((m) => m.index));
    assert.equal(b.inbox.messages[499].entries[0].data[0], 499 % 256);
    assert.equal(Array.from(b.inbox.messages[500].context!), [5]);
    a.t.send([message({ type: MessageType.Snap, from: 'a', to: 'b', term: 1, snapshot: {
      metadata: { index: 9, term: 1, confState: { voters: ['a', 'b'], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
      data: new Uint8Array(3 << 20).fill(3),
    } })]);
    await a.inbox.until(() => a.inbox.snapshots.length === 1, 'snapshot status');
    assert.equal(a.inbox.snapshots, [['b', true]]);
    await b.inbox.until(() => b.inbox.messages.length === 502, 'snapshot');
    assert.is(b.inbox.messages[501].snapshot!.data.length, 3 << 20);
  } finally {
    await a.t.close();
    await b.t.close();
  }
});

test('a message to an unknown peer is reported unreachable', async () => {
  const a = node('a');
  try {
    await a.t.start();
    a.t.send([message({ type: MessageType.Snap, from: 'a', to: 'zz', term: 1 })]);
    await a.inbox.until(() => a.inbox.unreachable.length === 1 && a.inbox.snapshots.length === 1, 'reports');
    assert.equal(a.inbox.snapshots, [['zz', false]]);
  } finally {
    await a.t.close();
  }
});

test('the sender reconnects after the receiving side restarts', async () => {
  const a = node('a');
  let b = node('b');
  try {
    await a.t.start();
    await b.t.start();
    const port = b.t.port();
    a.t.addPeer('b', `127.0.0.1:${port}`);
    a.t.send([app(1)]);
    await b.inbox.until(() => b.inbox.messages.length === 1, 'first message');
    await b.t.close();
    // While b is down, sends fail and are reported; a keeps retrying the connection.
    await a.inbox.until(() => {
      a.t.send([app(2)]);
      return a.inbox.unreachable.length > 0;
    }, 'unreachable while down');
    b = node('b', port);
    await b.t.start();
    await b.inbox.until(() => {
      a.t.send([app(3)]);
      return b.inbox.messages.some((m) => m.index === 3);
    }, 'message after restart');
  } finally {
    await a.t.close();
    await b.t.close();
  }
});

test('a malformed frame closes only that connection', async () => {
  const a = node('a');
  const b = node('b');
  try {
    await a.t.start();
    await b.t.start();
    a.t.addPeer('b', `127.0.0.1:${b.t.port()}`);
    const rogue = new WebSocket(`wss://127.0.0.1:${b.t.port()}/raft`, { ca: pki.ca, ...pki.certs.a });
    await new Promise((resolve, reject) => { rogue.once('open', resolve); rogue.once('error', reject); });
    const closed = new Promise<number>((resolve) => rogue.once('close', (code) => resolve(code)));
    rogue.send(new Uint8Array([0xa7, 1, 5, 1, 2, 3]));
    assert.is(await closed, 1007);
    a.t.send([app(7)]);
    await b.inbox.until(() => b.inbox.messages.length === 1, 'message on the good connection');
    assert.is(b.inbox.messages[0].index, 7);
  } finally {
    await a.t.close();
    await b.t.close();
  }
});

test('a peer without a certificate from our CA is refused', async () => {
  const b = node('b');
  try {
    await b.t.start();
    const rogue = new WebSocket(`wss://127.0.0.1:${b.t.port()}/raft`, { ca: pki.ca, ...pki.stranger });
    const outcome = await new Promise<string>((resolve) => {
      rogue.once('open', () => resolve('open'));
      rogue.once('error', () => resolve('error'));
    });
    rogue.terminate();
    assert.is(outcome, 'error');
    const anonymous = new WebSocket(`wss://127.0.0.1:${b.t.port()}/raft`, { ca: pki.ca });
    const outcome2 = await new Promise<string>((resolve) => {
      anonymous.once('open', () => resolve('open'));
      anonymous.once('error', () => resolve('error'));
    });
    anonymous.terminate();
    assert.is(outcome2, 'error');
  } finally {
    await b.t.close();
  }
});

test('authorizePeer ties a connection to the node its certificate names', async () => {
  const cn = (cert: { subject?: { CN?: string | string[] } }) => String(cert.subject?.CN ?? '');
  const b = node('b', 0, { authorizePeer: (cert, from) => cn(cert) === from });
  const a = node('a');
  try {
    await b.t.start();
    await a.t.start();
    a.t.addPeer('b', `127.0.0.1:${b.t.port()}`);
    a.t.send([app(1)]);
    await b.inbox.until(() => b.inbox.messages.length === 1, 'message from a, certified as a');
    // A client holding a's certificate may not speak for c.
    const rogue = new WebSocket(`wss://127.0.0.1:${b.t.port()}/raft`, { ca: pki.ca, ...pki.certs.a });
    await new Promise((resolve, reject) => { rogue.once('open', resolve); rogue.once('error', reject); });
    const closed = new Promise<number>((resolve) => rogue.once('close', (code) => resolve(code)));
    rogue.send(encodeFrame([{ ...app(2), from: 'c' }]));
    assert.is(await closed, 1008);
    assert.is(b.inbox.messages.length, 1);
  } finally {
    await a.t.close();
    await b.t.close();
  }
});

test('a full queue drops messages and reports the peer unreachable', async () => {
  const a = node('a', 0, { maxQueue: 10 });
  try {
    await a.t.start();
    // The peer's address accepts no connections, so messages pile up while connecting.
    a.t.addPeer('b', '127.0.0.1:1');
    a.t.send(Array.from({ length: 25 }, (_, i) => app(i)));
    await a.inbox.until(() => a.inbox.unreachable.length >= 1, 'unreachable');
    assert.ok(a.inbox.unreachable.every((id) => id === 'b'));
  } finally {
    await a.t.close();
  }
});

test.run();
