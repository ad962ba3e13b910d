/**
 * Embedded DNS latency on loopback: `npm run bench -- dns [QUERIES]`.
 * Sequential A queries for a swarm name (answered locally) and for a name forwarded to a
 * fake upstream on 127.0.0.1, against a peer: a bare `dgram` echo server (the floor that
 * Node's UDP round trip sets). Prints p50/p99 and ratios; the last line is one JSON
 * object. Asserts nothing about time.
 */
import dgram, { type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import dnsPacket from 'dns-packet';
import { DnsServer, type DnsTable } from '../../net/dns/index.ts';

async function bound(): Promise<Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  return s;
}

/** Sends `n` queries one after another from one client socket; returns each round trip in ms. */
async function measure(port: number, name: string, n: number): Promise<number[]> {
  const c = await bound();
  const times: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const msg = dnsPacket.encode({ id: i & 0xffff, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', class: 'IN', name }] });
      const t0 = performance.now();
      await new Promise<void>((ok, fail) => {
        const guard = setTimeout(() => fail(new Error(`dns bench: no reply to ${name}`)), 5000);
        c.once('message', () => { clearTimeout(guard); ok(); });
        c.send(msg, port, '127.0.0.1');
      });
      times.push(performance.now() - t0);
    }
  } finally { c.close(); }
  return times;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export async function run(args: string[]): Promise<void> {
  const n = Number(args[0] ?? 5000);
  const table: DnsTable = {
    net1: [{ name: 'web', endpointMode: 'vip', vip: '10.0.0.2', tasks: Array.from({ length: 6 }, (_, i) => ({ name: `web.${i + 1}.x`, ip: `10.0.0.${i + 10}` })) }],
  };
  const echo = await bound();
  echo.on('message', (m, r) => echo.send(m, r.port, r.address));
  const upstream = await bound();
  upstream.on('message', (m, r) => {
    const q = dnsPacket.decode(m);
    upstream.send(dnsPacket.encode({ id: q.id, type: 'response', questions: q.questions,
      answers: [{ type: 'A', class: 'IN', name: q.questions![0].name, ttl: 30, data: '192.0.2.7' }] }), r.port, r.address);
  });
  const sock = await bound();
  const srv = new DnsServer({ table: () => table, upstreams: [`127.0.0.1:${upstream.address().port}`] });
  srv.serve(sock, { networks: () => ['net1'] });
  try {
    const port = sock.address().port;
    await measure(port, 'web', 500); // warm-up
    await measure(echo.address().port, 'web', 500);
    const peer = await measure(echo.address().port, 'web', n);
    const local = await measure(port, 'web', n);
    const tasks = await measure(port, 'tasks.web', n);
    const fwd = await measure(port, 'fake.example', Math.min(n, 2000));
    const row = (label: string, xs: number[]) =>
      console.log(`${label.padEnd(30)} p50 ${pct(xs, 50).toFixed(3)} ms  p99 ${pct(xs, 99).toFixed(3)} ms  (${xs.length} queries)`);
    row('udp echo (peer)', peer);
    row('swarm name (VIP)', local);
    row('tasks.NAME (6 addresses)', tasks);
    row('forwarded to fake upstream', fwd);
    const out = {
      bench: 'dns', queries: n,
      echo_p50_ms: r3(pct(peer, 50)), echo_p99_ms: r3(pct(peer, 99)),
      dns_p50_ms: r3(pct(local, 50)), dns_p99_ms: r3(pct(local, 99)),
      tasks_p50_ms: r3(pct(tasks, 50)), tasks_p99_ms: r3(pct(tasks, 99)),
      forward_p50_ms: r3(pct(fwd, 50)), forward_p99_ms: r3(pct(fwd, 99)),
      dns_to_echo_p50_ratio: r3(pct(local, 50) / pct(peer, 50)),
      note: 'loopback, one process, sequential queries; not yet inside a task netns',
    };
    console.log(`dns p50 is ${out.dns_to_echo_p50_ratio}x a bare UDP echo round trip`);
    console.log(JSON.stringify(out));
  } finally {
    srv.close(); sock.close(); echo.close(); upstream.close();
  }
}
