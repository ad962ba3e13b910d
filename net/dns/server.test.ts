// The DNS server on 127.0.0.1 with random ports; upstreams are fake servers run here too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import dgram, { type Socket } from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type DecodedPacket } from 'dns-packet';

/** A decoded reply; the typings lack `rcode`. */
type Packet = DecodedPacket & { rcode: string };
import { DnsServer, type DnsClock } from './server.ts';
import type { DnsTable } from './records.ts';

const table: DnsTable = {
  front: [
    { name: 'web', endpointMode: 'vip', vip: '10.0.0.2', tasks: [{ name: 'web.1.a', ip: '10.0.0.5' }, { name: 'web.2.b', ip: '10.0.0.6' }] },
    { name: 'many', endpointMode: 'dnsrr', tasks: Array.from({ length: 60 }, (_, i) => ({ name: `many.${i}.x`, ip: `10.0.0.${i + 10}` })) },
  ],
  back: [{ name: 'db', endpointMode: 'vip', vip: '10.0.1.2', tasks: [{ name: 'db.1.c', ip: '10.0.1.5' }] }],
};

async function bound(): Promise<Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  return s;
}
const portOf = (s: Socket) => s.address().port;

let nextId = 1;
/** Sends one datagram to `port` and resolves with the first reply (fails after 5 s so a bug cannot hang the run). */
async function ask(port: number, name: string | Buffer, type: 'A' | 'AAAA' | 'MX' = 'A'): Promise<Packet> {
  const c = await bound();
  try {
    const id = nextId++;
    const msg = Buffer.isBuffer(name) ? name
      : dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, class: 'IN', name }] });
    return await new Promise<Packet>((ok, fail) => {
      const guard = setTimeout(() => fail(new Error(`no reply for ${String(name)}`)), 5000);
      c.on('message', (m) => { clearTimeout(guard); ok(dnsPacket.decode(m) as Packet); });
      c.send(msg, port, '127.0.0.1');
    });
  } finally { c.close(); }
}
const addrs = (p: Packet) => (p.answers ?? []).map((a) => (a as { data: string }).data);

/** A fake upstream: answers `fake.example` with 192.0.2.7 unless silent; counts what it gets. */
async function upstream(silent = false) {
  const s = await bound();
  const got: string[] = [];
  let notify = () => {};
  s.on('message', (m, r) => {
    const q = dnsPacket.decode(m);
    got.push(q.questions![0].name);
    notify();
    if (!silent) {
      s.send(dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions,
        answers: [{ type: 'A', class: 'IN', name: q.questions![0].name, ttl: 30, data: '192.0.2.7' }] }), r.port, r.address);
    }
  });
  const received = (n: number) => new Promise<void>((ok) => { notify = () => { if (got.length >= n) ok(); }; notify(); });
  return { socket: s, address: `127.0.0.1:${portOf(s)}`, got, received };
}

function manualClock() {
  const timers: { fn: () => void; live: boolean }[] = [];
  const clock: DnsClock = { setTimer(_ms, fn) { const t = { fn, live: true }; timers.push(t); return () => { t.live = false; }; } };
  const live = () => timers.filter((x) => x.live).length;
  const fire = () => { const t = timers.find((x) => x.live); assert.ok(t, 'a timer is pending'); t!.live = false; t!.fn(); };
  return { clock, fire, live };
}

async function withServer(opts: Partial<ConstructorParameters<typeof DnsServer>[0]>, fn: (port: number, srv: DnsServer) => Promise<void>) {
  const sock = await bound();
  const srv = new DnsServer({ table: () => table, rand: () => 0, ...opts });
  srv.serve(sock, { networks: () => ['front'] });
  try { await fn(portOf(sock), srv); } finally { srv.close(); sock.close(); }
}

test('answers A questions for services, tasks and task names', async () => {
  await withServer({}, async (port) => {
    const r = await ask(port, 'web');
    assert.is(r.rcode, 'NOERROR');
    assert.ok(r.flag_aa && r.flag_rd && r.flag_ra);
    assert.equal(addrs(r), ['10.0.0.2']);
    assert.is((r.answers![0] as { ttl: number }).ttl, 600);
    assert.equal(addrs(await ask(port, 'tasks.web')), ['10.0.0.5', '10.0.0.6']);
    assert.equal(addrs(await ask(port, 'web.2.b')), ['10.0.0.6']);
  });
});

test('unknown swarm names are NXDOMAIN; other types of known names are empty', async () => {
  await withServer({}, async (port) => {
    assert.is((await ask(port, 'nope')).rcode, 'NXDOMAIN');
    const six = await ask(port, 'web', 'AAAA');
    assert.is(six.rcode, 'NOERROR');
    assert.equal(addrs(six), []);
  });
});

test('each socket answers for its own networks', async () => {
  const a = await bound(); const b = await bound();
  const srv = new DnsServer({ table: () => table });
  srv.serve(a, { networks: () => ['front'] });
  srv.serve(b, { networks: () => ['back'] });
  try {
    assert.is((await ask(portOf(a), 'db')).rcode, 'NXDOMAIN');
    assert.equal(addrs(await ask(portOf(b), 'db')), ['10.0.1.2']);
    assert.is((await ask(portOf(b), 'web')).rcode, 'NXDOMAIN');
  } finally { srv.close(); a.close(); b.close(); }
});

test('multi-address answers are rotated by the injected random source', async () => {
  await withServer({ rand: () => 0.5 }, async (port) => {
    assert.equal(addrs(await ask(port, 'tasks.web')), ['10.0.0.6', '10.0.0.5']);
  });
});

test('an answer over 512 bytes is cut and flagged truncated', async () => {
  await withServer({}, async (port) => {
    const r = await ask(port, 'many');
    assert.ok(r.flag_tc);
    assert.ok(r.answers!.length > 0 && r.answers!.length < 60);
    assert.equal(addrs(r), table.front[1].tasks.slice(0, r.answers!.length).map((t) => t.ip));
  });
});

test('other names are forwarded to the upstream and its reply relayed', async () => {
  const up = await upstream();
  try {
    await withServer({ upstreams: [up.address] }, async (port) => {
      const r = await ask(port, 'fake.example');
      assert.is(r.rcode, 'NOERROR');
      assert.equal(addrs(r), ['192.0.2.7']);
      assert.equal(up.got, ['fake.example']);
      assert.is((await ask(port, 'web', 'MX')).rcode, 'NOERROR', 'swarm names are never forwarded');
      assert.equal(up.got, ['fake.example']);
    });
  } finally { up.socket.close(); }
});

test('a silent upstream times out and the next one answers', async () => {
  const silent = await upstream(true); const good = await upstream();
  const { clock, fire } = manualClock();
  try {
    await withServer({ upstreams: [silent.address, good.address], clock }, async (port) => {
      const reply = ask(port, 'fake.example');
      await silent.received(1);
      fire();
      assert.equal(addrs(await reply), ['192.0.2.7']);
      assert.equal(good.got, ['fake.example']);
    });
  } finally { silent.socket.close(); good.socket.close(); }
});

test('SERVFAIL when every upstream times out, or there is none', async () => {
  const silent = await upstream(true);
  const { clock, fire } = manualClock();
  try {
    await withServer({ upstreams: [silent.address], clock }, async (port) => {
      const reply = ask(port, 'fake.example');
      await silent.received(1);
      fire();
      assert.is((await reply).rcode, 'SERVFAIL');
    });
    await withServer({}, async (port) => {
      assert.is((await ask(port, 'fake.example')).rcode, 'SERVFAIL');
    });
  } finally { silent.socket.close(); }
});

test('close abandons forwards in flight and cancels their timers', async () => {
  const silent = await upstream(true);
  const { clock, live } = manualClock();
  try {
    await withServer({ upstreams: [silent.address], clock }, async (port, srv) => {
      const c = await bound();
      c.send(dnsPacket.encode({ id: 77, type: 'query', questions: [{ type: 'A', class: 'IN', name: 'fake.example' }] }), port, '127.0.0.1');
      await silent.received(1);
      assert.is(live(), 1);
      srv.close();
      assert.is(live(), 0);
      c.close();
    });
  } finally { silent.socket.close(); }
});

test('a scope that does not forward answers REFUSED for other names, never asking upstream; swarm names still resolve', async () => {
  const up = await upstream();
  const sock = await bound();
  const srv = new DnsServer({ table: () => table, rand: () => 0, upstreams: [up.address] });
  srv.serve(sock, { networks: () => ['front'], forward: false });
  try {
    const r = await ask(portOf(sock), 'fake.example');
    assert.is(r.rcode, 'REFUSED');
    assert.is(((r.flags ?? 0) & dnsPacket.RECURSION_AVAILABLE), 0, 'recursion not available');
    assert.equal(addrs(await ask(portOf(sock), 'web')), ['10.0.0.2']);
    assert.equal(up.got, []);
  } finally { srv.close(); sock.close(); up.socket.close(); }
});

test('forwards in flight are capped: the query past the cap gets SERVFAIL at once, a freed slot is used again', async () => {
  const silent = await upstream(true);
  const { clock, fire, live } = manualClock();
  try {
    await withServer({ upstreams: [silent.address], clock, maxForwards: 2 }, async (port, srv) => {
      const c = await bound();
      try {
        for (const id of [101, 102]) c.send(dnsPacket.encode({ id, type: 'query', questions: [{ type: 'A', class: 'IN', name: `n${id}.example` }] }), port, '127.0.0.1');
        await silent.received(2);
        assert.is(srv.forwarding, 2);
        // The third is answered without waiting for any timer, and never reaches the upstream.
        assert.is((await ask(port, 'third.example')).rcode, 'SERVFAIL');
        assert.is(silent.got.length, 2);
        assert.is(live(), 2, 'no timer was armed for the refused query');
        fire(); // the first forward gives up and frees its socket
        assert.is(srv.forwarding, 1);
        const next = ask(port, 'fourth.example');
        await silent.received(3);
        assert.is(srv.forwarding, 2);
        fire(); fire();
        assert.is((await next).rcode, 'SERVFAIL');
        assert.is(srv.forwarding, 0);
      } finally { c.close(); }
    });
  } finally { silent.socket.close(); }
});

test('maxForwards must be a positive integer', () => {
  assert.throws(() => new DnsServer({ table: () => table, maxForwards: 0 }), /maxForwards/);
});

test('malformed packets and stray responses are dropped; the server keeps answering', async () => {
  const dropped: string[] = [];
  await withServer({ debug: (m) => dropped.push(m) }, async (port) => {
    const c = await bound();
    const response = dnsPacket.encode({ id: 9, type: 'response', questions: [{ type: 'A', class: 'IN', name: 'web' }] });
    for (const junk of [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.alloc(300, 0xff), response]) {
      await new Promise<void>((ok, fail) => c.send(junk, port, '127.0.0.1', (err) => (err ? fail(err) : ok())));
    }
    c.close();
    // Datagrams on loopback arrive in order: the next answer comes after all the junk was seen.
    assert.equal(addrs(await ask(port, 'web')), ['10.0.0.2']);
    assert.is(dropped.length, 4);
  });
});

/** A TCP DNS server on 127.0.0.1 for the `front` network. */
async function withTcp(opts: Partial<ConstructorParameters<typeof DnsServer>[0]>, fn: (port: number) => Promise<void>) {
  const server = net.createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const srv = new DnsServer({ table: () => table, rand: () => 0, ...opts });
  srv.serveTcp(server, { networks: () => ['front'] });
  try { await fn((server.address() as net.AddressInfo).port); } finally { srv.close(); await new Promise((ok) => server.close(ok)); }
}

const frame = (m: Buffer) => { const l = Buffer.alloc(2); l.writeUInt16BE(m.length); return Buffer.concat([l, m]); };
const query = (name: string) => dnsPacket.encode({ id: nextId++, type: 'query', questions: [{ type: 'A', class: 'IN', name }] });

/** Writes `data` on one connection and collects `count` framed replies (or none if the server closes). */
function tcpAsk(port: number, data: Buffer, count: number): Promise<Packet[]> {
  return new Promise((ok, fail) => {
    const c = net.connect(port, '127.0.0.1');
    const out: Packet[] = [];
    let buf = Buffer.alloc(0);
    const guard = setTimeout(() => { c.destroy(); fail(new Error('tcp: no reply')); }, 5000);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Packet);
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === count) { clearTimeout(guard); c.end(); ok(out); }
    });
    c.on('close', () => { clearTimeout(guard); ok(out); });
    c.on('error', fail);
    c.write(data);
  });
}

test('over TCP a long answer is whole, and pipelined queries each get their reply', async () => {
  await withTcp({}, async (port) => {
    const [many, web] = await tcpAsk(port, Buffer.concat([frame(query('many')), frame(query('web'))]), 2);
    assert.not.ok(many.flag_tc);
    assert.is(many.answers!.length, 60);
    assert.equal(addrs(web), ['10.0.0.2']);
  });
});

test('over TCP other names are forwarded; a malformed frame closes only its connection', async () => {
  const up = await upstream();
  try {
    await withTcp({ upstreams: [up.address] }, async (port) => {
      assert.equal(addrs((await tcpAsk(port, frame(query('fake.example')), 1))[0]), ['192.0.2.7']);
      assert.equal(await tcpAsk(port, frame(Buffer.from([1, 2, 3])), 1), []);
      assert.equal(addrs((await tcpAsk(port, frame(query('web')), 1))[0]), ['10.0.0.2']);
    });
  } finally { up.socket.close(); }
});

test.run();
