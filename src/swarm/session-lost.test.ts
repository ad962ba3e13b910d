// A session that loses its leader (the manager killed) tries another manager next, and
// soon: never the dead one first, whatever its round-robin cursor says after a redirect,
// and without the half-delay floor of a failed attempt (`session-backoff.ts`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import https from 'node:https';
import { WebSocketServer } from 'ws';
import { Session } from './session.ts';
import { createRootCA } from '../manager/ca/ca-signer.ts';
import type { NodeTLS } from '../manager/ca/index.ts';
import { nullLogger, type Logger } from '../common/logger.ts';
import type { SessionFrame } from '../wire/types.ts';

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), what);
};

/** A manager on loopback; each heartbeat is answered with what `answer(addr)` gives (a redirect closes). `kill` stops it and drops its sessions. */
async function manager(connections: string[], answer: (self: string) => SessionFrame) {
  const ca = await createRootCA({ now: Date.now() });
  const server = https.createServer({ cert: ca.certPem, key: ca.keyPem });
  const wss = new WebSocketServer({ server });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as { port: number }).port}`;
  wss.on('connection', (ws) => {
    connections.push(addr);
    ws.on('message', (d) => {
      if ((JSON.parse(String(d)) as SessionFrame).type !== 'heartbeat') return;
      const f = answer(addr);
      ws.send(JSON.stringify(f));
      // As the dispatcher does: a redirect ends the connection.
      if (f.type === 'redirect') ws.close(1000, 'not the leader');
    });
  });
  const kill = async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => server.close(r));
  };
  return { addr, kill };
}

/**
 * Three managers on loopback, sorted by address as the session's list is: the first
 * redirects to the second (the leader), which leaves a session's cursor pointing at the
 * leader; the others answer heartbeats. Connections are logged by address.
 */
async function threeManagers() {
  const connections: string[] = [];
  let order: string[] = [];
  const ack: SessionFrame = { type: 'ack', heartbeatMs: 60_000, managers: {} };
  const answer = (self: string): SessionFrame => (self === order[0] ? { type: 'redirect', leader: order[1], managers: {} } as SessionFrame : ack);
  const ms = await Promise.all([0, 1, 2].map(() => manager(connections, answer)));
  ms.sort((a, b) => (a.addr < b.addr ? -1 : 1));
  order = ms.map((m) => m.addr);
  return { ms, order, connections, managers: { a: order[0], b: order[1], c: order[2] } };
}

/** A NodeTLS stand-in: the test servers' certificates are not checked. */
const tls = { unpooledClientOptions: () => ({ rejectUnauthorized: false }) } as unknown as NodeTLS;

test('a lost leader is not tried again first, and the next manager is asked at once', async () => {
  const refused: string[] = [];
  const retries: { addr: string; delayMs: number }[] = [];
  const logger: Logger = {
    info() {}, warn() {}, error() {},
    debug(msg, fields) {
      if (msg === 'session error' && (fields?.error as NodeJS.ErrnoException)?.code === 'ECONNREFUSED') refused.push(String(fields?.addr));
      if (msg === 'session retry') retries.push({ addr: String(fields?.addr), delayMs: Number(fields?.delayMs) });
    },
    child: () => logger,
  };
  const { ms, order, connections, managers } = await threeManagers();
  const leader = ms[1];
  const acks: { addr: string }[] = [];
  // rand 0: every random delay is zero, so any wait left is a fixed floor.
  const s = new Session({
    tls, addr: '127.0.0.1:2377', managers, heartbeatMs: 60_000, logger, rand: () => 0,
    onAck: (_rtt, addr) => acks.push({ addr }),
  });
  try {
    s.start();
    await until('the leader answered', () => acks.some((a) => a.addr === order[1]));
    assert.equal(connections, [order[0], order[1]], 'redirected from the first to the leader');
    await leader.kill();
    await until('another manager answered', () => acks.some((a) => a.addr !== order[1]));
    assert.equal(connections.slice(2), [order[2]], 'the next connection went to the third manager');
    assert.equal(refused, [], 'the dead leader was not asked again');
    // The draw is 0: a lost session retries at once (a failed attempt would wait at least
    // half a base delay, 250 ms here).
    assert.equal(retries.find((r) => r.addr === order[1]), { addr: order[1], delayMs: 0 });
  } finally {
    s.close();
    await Promise.all(ms.filter((m) => m !== leader).map((m) => m.kill()));
  }
});

test('a renewed certificate reconnects to the same manager, not elsewhere first', async () => {
  const { ms, order, connections, managers } = await threeManagers();
  const acks: string[] = [];
  const s = new Session({
    tls, addr: '127.0.0.1:2377', managers, heartbeatMs: 60_000, logger: nullLogger, rand: () => 0,
    onAck: (_rtt, addr) => acks.push(addr),
  });
  try {
    s.start();
    await until('the leader answered', () => acks.length === 1);
    s.setTLS(tls);
    await until('the leader answered again', () => acks.length === 2);
    assert.equal(connections, [order[0], order[1], order[1]], 'straight back to the leader');
    assert.equal(acks, [order[1], order[1]]);
  } finally {
    s.close();
    await Promise.all(ms.map((m) => m.kill()));
  }
});

test.run();
