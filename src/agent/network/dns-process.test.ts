// DnsProcess against a stand-in child (no netns, no sockets): the nice value it gets, and
// which tables reach it. Raising a nice value needs no privilege, so this runs as any
// user; lowering it (and the autogroup) is in the lab test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nullLogger, type Logger } from '../../common/logger.ts';
import { DnsProcess } from './dns-process.ts';
import type { DnsTable } from '../../../net/dns/index.ts';

const entry = fileURLToPath(new URL('./dns-process.test-child.mjs', import.meta.url));
const table = (vip: string): DnsTable => ({ net1: [{ name: 'web', endpointMode: 'vip', vip, tasks: [] }] });

/** Runs `fn` with a DnsProcess whose child's receipts land in `got` ('table 10.0.0.1', 'bind'), and closes it. */
async function withChild(fn: (dns: DnsProcess, got: string[]) => Promise<void>, nice?: number): Promise<void> {
  const got: string[] = [];
  const logger: Logger = {
    ...nullLogger,
    debug: (msg, f) => { if (msg === 'got') got.push(f?.op === 'table' ? `table ${String(f.vip)}` : String(f?.op)); },
    child: () => logger,
  };
  const dns = new DnsProcess({ logger, upstreams: [], entry, nice });
  try {
    await fn(dns, got);
  } finally {
    dns.close();
  }
}

/** Lets the tables queued in this turn of the event loop go out. */
const nextTurn = () => new Promise((r) => setImmediate(r));

test('the child runs at the nice value given', () => withChild(async (dns) => {
  await dns.bind('t1', 'ns1', ['net1']); // starts the child
  assert.ok(dns.pid, 'a child was started');
  assert.is(getPriority(dns.pid), 7);
}, 7));

test('tables set in one turn of the loop reach the child once, the newest', () => withChild(async (dns, got) => {
  for (let i = 1; i <= 50; i++) dns.setTable(table(`10.0.0.${i}`));
  await nextTurn();
  await dns.bind('t1', 'ns1', ['net1']); // the child answers in order: it has seen the table
  assert.equal(got, ['table 10.0.0.50', 'bind']);
}));

test('an unchanged table is not sent again; a changed one is', () => withChild(async (dns, got) => {
  dns.setTable(table('10.0.0.1'));
  await dns.bind('t1', 'ns1', ['net1']);
  dns.setTable(table('10.0.0.1'));
  await nextTurn();
  dns.setTable(table('10.0.0.2'));
  await nextTurn();
  await dns.bind('t2', 'ns2', ['net1']);
  assert.equal(got, ['table 10.0.0.1', 'bind', 'table 10.0.0.2', 'bind']);
}));

test('a bind sends the table waiting for this turn first', () => withChild(async (dns, got) => {
  dns.setTable(table('10.0.0.3'));
  await dns.bind('t1', 'ns1', ['net1']);
  assert.equal(got, ['table 10.0.0.3', 'bind']);
}));

test('crossed guard limits, a busy nice below the quiet one and a guard interval that is no positive number are refused', () => {
  assert.throws(() => new DnsProcess({ logger: nullLogger, upstreams: [], entry, guardLimits: { demoteAbove: 0.1, promoteBelow: 0.3 } }), /promoteBelow < demoteAbove/);
  assert.throws(() => new DnsProcess({ logger: nullLogger, upstreams: [], entry, nice: -10, busyNice: -15 }), /busyNice -15 is below nice -10/);
  for (const guardIntervalMs of [0, -5, Number.NaN]) {
    assert.throws(() => new DnsProcess({ logger: nullLogger, upstreams: [], entry, guardIntervalMs }), /invalid guardIntervalMs/);
  }
});

test.run();
