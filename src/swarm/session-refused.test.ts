// A session whose manager refuses connections outright (nothing listens: a killed leader)
// tries again within one base delay, without growing its backoff (`session-backoff.ts`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Session } from './session.ts';
import { freePort } from './test-node.ts';
import type { Logger } from '../common/logger.ts';
import type { NodeTLS } from '../manager/ca/index.ts';

/** No TLS is ever reached: the connection is refused before its handshake. */
const noTls = { clientOptions: () => ({}) } as unknown as NodeTLS;

test('refused connections do not count as failures', async () => {
  const port = await freePort();
  const refusals: string[] = [];
  const logger: Logger = {
    info() {}, warn() {}, error() {},
    debug(msg, fields) {
      if (msg === 'session error' && (fields?.error as NodeJS.ErrnoException)?.code === 'ECONNREFUSED') refusals.push(String(fields?.addr));
    },
    child: () => logger,
  };
  const s = new Session({ tls: noTls, addr: '127.0.0.1:2377', managers: { m: `127.0.0.1:${port}` }, heartbeatMs: 1000, logger, rand: () => 0 });
  try {
    s.start();
    while (refusals.length < 4) await new Promise((r) => setTimeout(r, 10));
  } finally {
    s.close();
  }
  assert.equal(new Set(refusals), new Set([`127.0.0.1:${port}`]));
  assert.is((s as unknown as { failures: number }).failures, 0, 'the backoff did not grow');
});

test.run();
