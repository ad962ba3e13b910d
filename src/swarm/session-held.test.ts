// A session held by a manager during an election (`leader-wait.ts`) is open, yet no one
// reads it: task reports must wait for a connection a leader has spoken on, or they are
// lost with it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import https from 'node:https';
import { WebSocketServer, type WebSocket } from 'ws';
import { Session } from './session.ts';
import { createRootCA } from '../manager/ca/ca-signer.ts';
import type { NodeTLS } from '../manager/ca/index.ts';
import { nullLogger } from '../common/logger.ts';
import type { SessionFrame } from '../wire/types.ts';

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(ok(), what);
};

test('reports wait while the manager holds the session, and go once a leader answered on it', async () => {
  const ca = await createRootCA({ now: Date.now() });
  const server = https.createServer({ cert: ca.certPem, key: ca.keyPem });
  const wss = new WebSocketServer({ server });
  const frames: SessionFrame[] = [];
  let peer: WebSocket | undefined;
  wss.on('connection', (ws) => {
    peer = ws;
    ws.on('message', (d) => frames.push(JSON.parse(String(d)) as SessionFrame));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const tls = { unpooledClientOptions: () => ({ rejectUnauthorized: false }) } as unknown as NodeTLS;
  const s = new Session({ tls, addr: '127.0.0.1:2377', managers: { m1: `127.0.0.1:${port}` }, heartbeatMs: 60_000, logger: nullLogger, rand: () => 0 });
  const report = [{ taskId: 't1', status: { State: 'running', Timestamp: '', Message: '' } }] as never;
  try {
    s.start();
    await until('the session is open and has beaten once', () => frames.some((f) => f.type === 'heartbeat'));
    // Held: open, unanswered. The old session sent the report into it.
    assert.is(s.sendStatus(report), false);
    peer!.send(JSON.stringify({ type: 'ack', heartbeatMs: 60_000, managers: {} }));
    await until('the report is taken once the ack arrived', () => s.sendStatus(report));
    await until('the report arrived', () => frames.some((f) => f.type === 'status'));
  } finally {
    s.close();
    wss.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test.run();
