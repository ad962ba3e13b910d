// DnsServer.stats(): the counts the node's metrics read (queries by outcome, forward latency).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import dgram, { type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { DnsServer, DNS_LATENCY_BUCKETS_MS } from './server.ts';

async function bound(): Promise<Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  return s;
}

async function ask(port: number, name: string): Promise<void> {
  const c = await bound();
  try {
    await new Promise<void>((ok, fail) => {
      const guard = setTimeout(() => fail(new Error(`no reply for ${name}`)), 5000);
      c.on('message', () => { clearTimeout(guard); ok(); });
      c.send(dnsPacket.encode({ id: 7, type: 'query', questions: [{ type: 'A', class: 'IN', name }] }), port, '127.0.0.1');
    });
  } finally { c.close(); }
}

test('stats count answers, unknown names, refusals and forwards with their latency', async () => {
  const up = await bound();
  up.on('message', (m, r) => {
    const q = dnsPacket.decode(m);
    up.send(dnsPacket.encode({ id: q.id, type: 'response', questions: q.questions, answers: [{ type: 'A', class: 'IN', name: q.questions![0].name, ttl: 30, data: '192.0.2.7' }] }), r.port, r.address);
  });
  const server = new DnsServer({ table: () => ({ front: [{ name: 'web', endpointMode: 'vip', vip: '10.0.0.2', tasks: [] }] }), upstreams: [`127.0.0.1:${up.address().port}`] });
  const open = await bound();
  const closed = await bound();
  server.serve(open, { networks: () => ['front'] });
  server.serve(closed, { networks: () => ['front'], forward: false });
  try {
    await ask(open.address().port, 'web');
    await ask(open.address().port, 'nope');
    await ask(open.address().port, 'fake.example');
    await ask(closed.address().port, 'fake.example');
    const s = server.stats();
    assert.equal(s.queries, { answer: 1, nxdomain: 1, refused: 1, forward: 1, malformed: 0 });
    assert.is(s.forwarded.count, 1);
    assert.is(s.forwarded.buckets.length, DNS_LATENCY_BUCKETS_MS.length);
    assert.is(s.forwarded.buckets[s.forwarded.buckets.length - 1], 1, 'the last bucket holds every fast answer');
    assert.ok(s.forwarded.sumMs >= 0);
  } finally {
    server.close();
    for (const s of [up, open, closed]) s.close();
  }
});

test('a forward no upstream answers counts as a failure, not as an answered forward', async () => {
  const silent = await bound(); // takes queries, never answers
  const server = new DnsServer({ table: () => ({}), upstreams: [`127.0.0.1:${silent.address().port}`], timeoutMs: 20 });
  const open = await bound();
  server.serve(open, { networks: () => [] });
  try {
    await ask(open.address().port, 'fake.example'); // answered SERVFAIL once the upstream timed out
    const s = server.stats();
    assert.is(s.queries.forward, 1);
    assert.is(s.forwarded.servfail, 1);
    assert.is(s.forwarded.count, 0, 'the latency histogram holds answered forwards only');
    assert.equal(s.forwarded.buckets, DNS_LATENCY_BUCKETS_MS.map(() => 0));
  } finally {
    server.close();
    for (const s of [silent, open]) s.close();
  }
});

test.run();
