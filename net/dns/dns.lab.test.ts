// The embedded DNS inside a network namespace (root): a socket bound at 127.0.0.11:53 in
// a netns this test makes is handed to this process, which answers busybox `nslookup`
// run in that netns, and forwards other names to a fake upstream on this host's
// loopback. Everything is removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawnSync } from 'node:child_process';
import dgram, { type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { DnsServer } from './server.ts';
import { bindDnsInNetns } from './netns-socket.ts';
import type { Server } from 'node:net';
import type { DnsTable } from './records.ts';
import { NetnsBindError } from './errors.ts';

const NS = `shoal-dns${process.pid}`;
const t = suite('dns-netns');
const env = {} as { tcp?: Server; sock?: Socket; upstream?: Socket; server?: DnsServer; handoffMs?: number };

const table: DnsTable = {
  front: [{ name: 'web', endpointMode: 'vip', vip: '10.0.0.2', tasks: [{ name: 'web.1.a', ip: '10.0.0.5' }, { name: 'web.2.b', ip: '10.0.0.6' }] }],
  back: [{ name: 'db', endpointMode: 'vip', vip: '10.0.1.2', tasks: [{ name: 'db.1.c', ip: '10.0.1.5' }] }],
};

/** busybox nslookup inside the netns (async: this process must keep answering meanwhile). */
function nslookup(name: string): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    execFile('timeout', ['5', 'ip', 'netns', 'exec', NS, 'busybox', 'nslookup', name, '127.0.0.11'], (err, stdout, stderr) => {
      ok({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

t.before(async () => {
  spawnSync('ip', ['netns', 'add', NS]);
  const up = spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up'], { encoding: 'utf8' });
  if (up.status !== 0) throw new Error(`netns setup: ${up.stderr}`);
  env.upstream = dgram.createSocket('udp4');
  await new Promise<void>((ok) => env.upstream!.bind(0, '127.0.0.1', ok));
  env.upstream.on('message', (m, r) => {
    const q = dnsPacket.decode(m);
    const question = q.questions![0];
    const answers = question.type === 'A' ? [{ type: 'A' as const, class: 'IN' as const, name: question.name, ttl: 30, data: '192.0.2.7' }] : [];
    env.upstream!.send(dnsPacket.encode({ id: q.id, type: 'response', flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers }), r.port, r.address);
  });
  const t0 = performance.now();
  const { udp, tcp } = await bindDnsInNetns(NS, { address: '127.0.0.11', port: 53 });
  env.handoffMs = performance.now() - t0;
  env.sock = udp;
  env.tcp = tcp;
  env.server = new DnsServer({ table: () => table, upstreams: [`127.0.0.1:${env.upstream.address().port}`] });
  env.server.serve(env.sock, { networks: () => ['front'] });
  env.server.serveTcp(env.tcp, { networks: () => ['front'] });
});

t.after(() => {
  env.server?.close();
  env.sock?.close();
  env.tcp?.close();
  env.upstream?.close();
  spawnSync('ip', ['netns', 'del', NS]);
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  if (left.split('\n').some((l) => l.split(' ')[0] === NS)) throw new Error(`clean-up: netns ${NS} left`);
});

t('a socket bound inside the netns is handed to this process', () => {
  console.log(`  handoff ${env.handoffMs!.toFixed(1)} ms`);
  assert.equal(env.sock!.address(), { address: '127.0.0.11', family: 'IPv4', port: 53 });
});

t('busybox nslookup in the netns gets the VIP and the task addresses', async () => {
  const vip = await nslookup('web');
  assert.is(vip.code, 0, vip.out);
  assert.match(vip.out, 'Address: 10.0.0.2');
  const tasks = await nslookup('tasks.web');
  assert.match(tasks.out, '10.0.0.5');
  assert.match(tasks.out, '10.0.0.6');
});

t('names of networks the task is not on, and unknown names, are NXDOMAIN', async () => {
  for (const name of ['db', 'nope']) {
    const r = await nslookup(name);
    assert.match(r.out, 'NXDOMAIN', r.out);
  }
});

t('other names are forwarded to the upstream', async () => {
  const r = await nslookup('fake.example');
  assert.is(r.code, 0, r.out);
  assert.match(r.out, '192.0.2.7');
});

t('a client in the netns gets an answer over TCP', async () => {
  const code = `const net = require('net'); const q = Buffer.from(process.argv[1], 'hex');
    const c = net.connect(53, '127.0.0.11', () => { const l = Buffer.alloc(2); l.writeUInt16BE(q.length); c.write(Buffer.concat([l, q])); });
    let b = Buffer.alloc(0); c.on('data', (d) => { b = Buffer.concat([b, d]); if (b.length >= 2 && b.length >= 2 + b.readUInt16BE(0)) {
      process.stdout.write(b.subarray(2).toString('hex')); c.end(); } });`;
  const q = dnsPacket.encode({ id: 5, type: 'query', questions: [{ type: 'A', class: 'IN', name: 'tasks.web' }] });
  const hex = await new Promise<string>((ok, fail) => execFile('timeout', ['5', 'ip', 'netns', 'exec', NS, process.execPath, '-e', code, q.toString('hex')],
    (err, stdout) => (err ? fail(err) : ok(stdout))));
  const reply = dnsPacket.decode(Buffer.from(hex, 'hex'));
  assert.equal(reply.answers!.map((a) => (a as { data: string }).data).sort(), ['10.0.0.5', '10.0.0.6']);
});

t('one helper hands over both the UDP socket and the TCP listener', async () => {
  const t0 = performance.now();
  const { udp, tcp } = await bindDnsInNetns(NS, { address: '127.0.0.11', port: 5353 });
  console.log(`  handoff of both ${(performance.now() - t0).toFixed(1)} ms`);
  try {
    assert.equal(udp.address(), { address: '127.0.0.11', family: 'IPv4', port: 5353 });
    assert.equal(tcp.address(), { address: '127.0.0.11', family: 'IPv4', port: 5353 });
  } finally {
    udp.close();
    tcp.close();
  }
  try {
    await bindDnsInNetns(NS, { address: '127.0.0.11', port: 53 }); // taken by the sockets above
    assert.unreachable();
  } catch (err) {
    assert.instance(err, NetnsBindError);
    assert.match((err as Error).message, 'udp+tcp');
  }
});

t('binding in a missing namespace fails with a clear error', async () => {
  try {
    await bindDnsInNetns(`${NS}-missing`, { address: '127.0.0.11', port: 53 });
    assert.unreachable();
  } catch (err) {
    assert.instance(err, NetnsBindError);
    assert.match((err as Error).message, `${NS}-missing`);
  }
});

t.run();
