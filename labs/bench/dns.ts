/**
 * Embedded DNS latency on loopback: `npm run bench -- dns [QUERIES] [ROUNDS]`.
 * Sequential A queries for a swarm name (answered locally) and for a name forwarded to a
 * fake upstream on 127.0.0.1, against a peer: a bare `dgram` echo server (the floor that
 * Node's UDP round trip sets). At least 3 rounds in alternating order; p50/p99 are
 * medians of the rounds with min and max. Prints p50/p99 and ratios; the last line is
 * one JSON object. Asserts nothing about time.
 */
import dgram, { type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import dnsPacket from 'dns-packet';
import { DnsServer, type DnsTable } from '../../net/dns/index.ts';
import { figureFields, orderFor, ratio, summary } from './fair.ts';

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

/**
 * Runs the bench: `rounds` rounds (at least 3), each measuring the echo floor and the
 * three kinds of query, the echo and the server alternating which goes first; every
 * percentile is the median of the rounds' with min and max beside it. Resolves with the
 * JSON object (and prints a row per kind).
 */
export async function dnsBench(n: number, rounds = 3): Promise<Record<string, unknown>> {
  rounds = Math.max(3, rounds);
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
    await measure(port, 'web', Math.min(n, 500)); // warm-up, both alike
    await measure(echo.address().port, 'web', Math.min(n, 500));
    const kinds = {
      echo: () => measure(echo.address().port, 'web', n),
      dns: () => measure(port, 'web', n),
      tasks: () => measure(port, 'tasks.web', n),
      forward: () => measure(port, 'fake.example', Math.min(n, 2000)),
    };
    const per: Record<string, { p50: number[]; p99: number[] }> = {};
    for (let r = 0; r < rounds; r++) {
      for (const k of orderFor(r, Object.keys(kinds) as (keyof typeof kinds)[])) {
        const xs = await kinds[k]();
        per[k] ??= { p50: [], p99: [] };
        per[k].p50.push(pct(xs, 50));
        per[k].p99.push(pct(xs, 99));
      }
    }
    const out: Record<string, unknown> = { bench: 'dns', queries: n, rounds, order: 'rounds alternate the order of the echo floor and the server' };
    for (const [k, v] of Object.entries(per)) {
      Object.assign(out, figureFields(`${k}_p50_ms`, summary(v.p50)), figureFields(`${k}_p99_ms`, summary(v.p99)));
      console.log(`${k.padEnd(8)} p50 ${out[`${k}_p50_ms`]} ms  p99 ${out[`${k}_p99_ms`]} ms  (median of ${rounds} rounds of ${k === 'forward' ? Math.min(n, 2000) : n} queries)`);
    }
    out.dns_to_echo_p50_ratio = ratio(out.dns_p50_ms as number, out.echo_p50_ms as number);
    out.note = 'loopback, one process, sequential queries; the peer is a bare UDP echo (the floor), not Docker; not inside a task netns';
    return out;
  } finally {
    srv.close(); sock.close(); echo.close(); upstream.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const out = await dnsBench(Number(args[0] ?? 5000), Number(args[1] ?? 3));
  console.log(`dns p50 is ${out.dns_to_echo_p50_ratio}x a bare UDP echo round trip`);
  console.log(JSON.stringify(out));
}
