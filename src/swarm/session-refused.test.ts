// A session whose manager refuses connections outright (nothing listens: a killed leader)
// tries the next within one base delay, without growing its backoff (`session-backoff.ts`),
// until every manager it knows refused in a row.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Session } from './session.ts';
import { freePort } from './test-node.ts';
import type { Logger } from '../common/logger.ts';
import type { NodeTLS } from '../manager/ca/index.ts';

/** No TLS is ever reached: the connection is refused before its handshake. */
const noTls = { unpooledClientOptions: () => ({}) } as unknown as NodeTLS;

/** A session over managers that all refuse; resolves with the failures counted after `n` refusals. */
async function refusedBy(ports: number[], n: number): Promise<{ addrs: Set<string>; failures: number }> {
  const refusals: string[] = [];
  const logger: Logger = {
    info() {}, warn() {}, error() {},
    debug(msg, fields) {
      if (msg === 'session error' && (fields?.error as NodeJS.ErrnoException)?.code === 'ECONNREFUSED') refusals.push(String(fields?.addr));
    },
    child: () => logger,
  };
  const managers = Object.fromEntries(ports.map((p, i) => [`m${i}`, `127.0.0.1:${p}`]));
  const s = new Session({ tls: noTls, addr: '127.0.0.1:2377', managers, heartbeatMs: 1000, logger, rand: () => 0 });
  try {
    s.start();
    while (refusals.length < n) await new Promise((r) => setTimeout(r, 10));
  } finally {
    s.close();
  }
  return { addrs: new Set(refusals), failures: (s as unknown as { failures: number }).failures };
}

test('refusals do not count as failures until every known manager refused in a row', async () => {
  // Three managers, all down (rand 0): the first two refusals retry at once and count
  // nothing; the third completes the round and backs off, as does each one after it (the
  // whole control plane down: no retry storm). The retry after the fourth is 0.5 s away.
  const r = await refusedBy([await freePort(), await freePort(), await freePort()], 4);
  assert.is(r.addrs.size, 3, 'each manager was tried');
  assert.is(r.failures, 2);
});

test.run();
