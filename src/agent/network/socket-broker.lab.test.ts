// The socket broker (root, real kernel): DNS sockets made inside a netns this test owns by
// the Perl helper and handed to this process, which answers busybox nslookup there; errors
// name the cause; a killed broker is started again; without perl the Node helper is used.
// The netns and the broker (our child, killed by its PID) are removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawnSync } from 'node:child_process';
import { DnsServer, NetnsBindError } from '../../../net/dns/index.ts';
import { nullLogger } from '../../common/logger.ts';
import { SocketBroker } from './socket-broker.ts';

const NS = `shoal-sbk${process.pid}`;
const t = suite('socket-broker');
const brokers: SocketBroker[] = [];
const broker = (opts: Partial<ConstructorParameters<typeof SocketBroker>[0]> = {}) => {
  const b = new SocketBroker({ logger: nullLogger, ...opts });
  brokers.push(b);
  return b;
};

function inNetns(argv: string[]): Promise<{ code: number; out: string }> {
  return new Promise((ok) => execFile('timeout', ['5', 'ip', 'netns', 'exec', NS, ...argv], (err, stdout, stderr) => {
    ok({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
  }));
}

t.before(() => {
  spawnSync('ip', ['netns', 'add', NS]);
  const r = spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`netns setup: ${r.stderr}`);
});

t.after(() => {
  for (const b of brokers) b.close();
  spawnSync('ip', ['netns', 'del', NS]);
  if (spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').some((l) => l.split(' ')[0] === NS)) throw new Error(`clean-up: ${NS} left`);
});

t('the UDP socket and TCP listener are bound inside the netns and answer there', async () => {
  const b = broker();
  const t0 = performance.now();
  const { udp, tcp } = await b.bind(NS, '127.0.0.11', 53);
  const first = performance.now() - t0;
  const srv = new DnsServer({ table: () => ({ n: [{ name: 'web', endpointMode: 'vip', vip: '10.0.0.2', tasks: [] }] }) });
  try {
    const scope = { networks: () => ['n'] };
    srv.serve(udp, scope);
    srv.serveTcp(tcp, scope);
    assert.equal(udp.address(), { address: '127.0.0.11', family: 'IPv4', port: 53 });
    assert.equal(tcp.address(), { address: '127.0.0.11', family: 'IPv4', port: 53 });
    const r = await inNetns(['busybox', 'nslookup', 'web', '127.0.0.11']);
    assert.match(r.out, 'Address: 10.0.0.2', r.out);
    const conn = await inNetns([process.execPath, '-e', "require('net').connect(53, '127.0.0.11', function () { this.end(); })"]);
    assert.is(conn.code, 0, `TCP connect inside the netns: ${conn.out}`);
    const t1 = performance.now();
    const again = await b.bind(NS, '127.0.0.11', 5353);
    console.log(`  first bind (broker start) ${first.toFixed(1)} ms, next ${(performance.now() - t1).toFixed(1)} ms`);
    again.udp.close();
    again.tcp.close();
  } finally {
    srv.close();
    udp.close();
    tcp.close();
  }
});

t('errors name the cause; the broker goes on serving', async () => {
  const b = broker();
  for (const [ns, want] of [[`${NS}-missing`, `${NS}-missing`], ['bad/name', 'invalid netns name']] as const) {
    try { await b.bind(ns, '127.0.0.11', 53); assert.unreachable(); } catch (err) {
      assert.instance(err, NetnsBindError);
      assert.match((err as Error).message, want);
    }
  }
  const held = await b.bind(NS, '127.0.0.11', 53);
  try {
    try { await b.bind(NS, '127.0.0.11', 53); assert.unreachable(); } catch (err) {
      assert.instance(err, NetnsBindError);
      assert.match((err as Error).message, 'udp 127.0.0.11:53');
    }
  } finally {
    held.udp.close();
    held.tcp.close();
  }
  const many = await Promise.all(Array.from({ length: 20 }, (_, i) => b.bind(NS, '127.0.0.11', 6000 + i)));
  assert.equal(many.map((m) => m.tcp.address()).map((a) => (a as { port: number }).port), Array.from({ length: 20 }, (_, i) => 6000 + i));
  for (const m of many) { m.udp.close(); m.tcp.close(); }
});

t('a broker that died is started again', async () => {
  const b = broker();
  const one = await b.bind(NS, '127.0.0.11', 7000);
  one.udp.close();
  one.tcp.close();
  const child = (b as unknown as { child: { pid: number; once: (e: string, f: () => void) => void } }).child;
  const gone = new Promise<void>((ok) => child.once('exit', () => ok()));
  process.kill(child.pid, 'SIGKILL');
  await gone;
  const two = await b.bind(NS, '127.0.0.11', 7001);
  assert.equal(two.udp.address(), { address: '127.0.0.11', family: 'IPv4', port: 7001 });
  two.udp.close();
  two.tcp.close();
});

t('without perl the Node helper makes the sockets', async () => {
  const b = broker({ perl: '/nonexistent/perl' });
  const { udp, tcp } = await b.bind(NS, '127.0.0.11', 7100);
  assert.equal(udp.address(), { address: '127.0.0.11', family: 'IPv4', port: 7100 });
  assert.equal(tcp.address(), { address: '127.0.0.11', family: 'IPv4', port: 7100 });
  udp.close();
  tcp.close();
});

t.run();
