/**
 * RaftNode end to end on real parts: three nodes in this process over WsTransport
 * (mutual TLS on loopback) and DiskStorage in temp dirs, on the real clock. It waits
 * for outcomes (with a generous deadline) and asserts nothing about time.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyConfState } from '../types.ts';
import { makeTestPki } from '../transport/test-certs.ts';
import { WsTransport } from '../transport/ws-transport.ts';
import { DiskStorage } from '../wal/index.ts';
import { RaftNode } from './raft-node.ts';
import { RecordingStateMachine, enc } from './test-cluster.ts';

const IDS = ['a', 'b', 'c'];

async function until(pred: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('three nodes over mutual-TLS WebSockets and disk elect, replicate and survive a leader stop', async () => {
  const pki = makeTestPki(IDS);
  const dir = mkdtempSync(join(tmpdir(), 'raft-node-ws-'));
  const transports = IDS.map((id) => new WsTransport({ id, listen: { host: '127.0.0.1', port: 0 }, tls: { ...pki.certs[id], ca: pki.ca } }));
  const nodes: RaftNode[] = [];
  const storages: DiskStorage[] = [];
  const sms = IDS.map(() => new RecordingStateMachine());
  try {
    // Listen first so every node knows the others' ports before it starts.
    for (const t of transports) await t.start();
    for (let i = 0; i < IDS.length; i++) {
      const storage = await DiskStorage.open(join(dir, IDS[i]), { fsync: false, confState: { ...emptyConfState(), voters: IDS } });
      storages.push(storage);
      const peers = Object.fromEntries(IDS.map((id, j) => [id, `127.0.0.1:${transports[j].port()}`]).filter(([id]) => id !== IDS[i]));
      const t = transports[i];
      // The transport is already listening; the node's start() must not listen again.
      const node = new RaftNode({ id: IDS[i], storage, transport: { ...bind(t), start: async () => {} }, stateMachine: sms[i], peers });
      nodes.push(node);
    }
    await Promise.all(nodes.map((n) => n.start()));
    await until(() => nodes.some((n) => n.isLeader) && nodes.every((n) => n.leaderId !== ''), 'a leader');
    const leader = nodes.find((n) => n.isLeader)!;
    const { result } = await leader.propose(enc('over-ws'));
    assert.match(String(result), /^over-ws@\d+$/);
    await until(() => sms.every((sm) => sm.applied.includes('over-ws')), 'replication');

    const li = nodes.indexOf(leader);
    await leader.stop();
    const rest = nodes.filter((n) => n !== leader);
    await until(() => rest.some((n) => n.isLeader), 'a new leader');
    const l2 = rest.find((n) => n.isLeader)!;
    await l2.propose(enc('after-stop'));
    await until(() => rest.every((n) => sms[nodes.indexOf(n)].applied.includes('after-stop')), 'replication after stop');
    assert.ok(!sms[li].applied.includes('after-stop'));
  } finally {
    for (const n of nodes) await n.stop();
    for (const t of transports) await t.close();
    for (const s of storages) await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The transport's methods bound to it, so they can be spread into a wrapper. */
function bind(t: WsTransport) {
  return {
    setHandler: t.setHandler.bind(t),
    start: t.start.bind(t),
    send: t.send.bind(t),
    addPeer: t.addPeer.bind(t),
    removePeer: t.removePeer.bind(t),
    close: t.close.bind(t),
  };
}

test.run();
