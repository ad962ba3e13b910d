// The DNS child process in a real netns: answers from the table it is given, serves
// again after it was killed, and stops serving an unbound task. Root only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { getPriority, release } from 'node:os';
import { nullLogger } from '../../common/logger.ts';
import { DNS_BUSY_NICE, DNS_NICE, DNS_SLICE_NS, DnsProcess } from './dns-process.ts';

const NS = `shoal-dnsp-${process.pid}`;
const TABLE = { net1: [{ name: 'web', endpointMode: 'vip' as const, vip: '10.9.0.2', tasks: [{ name: 'web.1.x', ip: '10.9.0.3' }] }] };

/** The slice `pid`'s main thread has, in ns, where the kernel shows one (6.12 and later). */
const sliceOf = (pid: number) => /se\.slice\s*:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/sched`, 'utf8'))?.[1];

function nslookup(name: string, ns = NS): Promise<string> {
  return new Promise((ok) => {
    execFile('timeout', ['5', 'ip', 'netns', 'exec', ns, 'busybox', 'nslookup', '-timeout=1', name, '127.0.0.11'], (_err, out, errOut) => ok(out + errOut));
  });
}

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = release().split('.').map((x) => parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

async function until(fn: () => Promise<boolean>, ms = 8000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await fn()) return true; await new Promise((r) => setTimeout(r, 100)); }
  return fn();
}

test('answers in the task netns, again after the child was killed, and no more once unbound', async () => {
  spawnSync('ip', ['netns', 'add', NS]);
  spawnSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  const dns = new DnsProcess({ logger: nullLogger, upstreams: [] });
  try {
    dns.setTable(TABLE);
    await dns.bind('task1', NS, ['net1']);
    assert.match(await nslookup('web'), 'Address: 10.9.0.2');
    assert.match(await nslookup('tasks.web'), 'Address: 10.9.0.3');
    assert.match(await nslookup('nope'), 'NXDOMAIN');
    // spawnSync blocks this process's event loop (the daemon's, in a store snapshot or a
    // long GC) for as long as the query takes: the child answers on its own.
    const blocked = spawnSync('timeout', ['5', 'ip', 'netns', 'exec', NS, 'busybox', 'nslookup', '-timeout=1', 'web', '127.0.0.11'], { encoding: 'utf8' });
    assert.match(blocked.stdout, 'Address: 10.9.0.2', 'answers while the daemon\'s loop is blocked');
    const first = dns.pid!;
    assert.is(getPriority(first), DNS_NICE, 'the child runs above the daemon\'s priority');
    if (existsSync(`/proc/${first}/autogroup`)) assert.match(readFileSync(`/proc/${first}/autogroup`, 'utf8'), ` nice ${DNS_NICE}`, 'and so does its own scheduler autogroup');
    // A short EEVDF slice where the kernel keeps one per task (6.12 and later).
    if (kernelAtLeast(6, 12) && sliceOf(first)) assert.ok(await until(async () => sliceOf(first) === String(DNS_SLICE_NS), 3000), `slice ${sliceOf(first)} ns`);
    process.kill(first, 'SIGKILL');
    assert.ok(await until(async () => dns.pid !== undefined && dns.pid !== first && (await nslookup('web')).includes('Address: 10.9.0.2')), 'a new child serves the task again');
    assert.is(getPriority(dns.pid!), DNS_NICE, 'a new child too');
    dns.setTable({ net1: [{ ...TABLE.net1[0]!, vip: '10.9.0.9' }] });
    assert.ok(await until(async () => (await nslookup('web')).includes('Address: 10.9.0.9')), 'a new table answers at once');
    dns.unbind('task1');
    assert.ok(await until(async () => !(await nslookup('web')).includes('10.9.0.9')), 'unbound: no answer');
  } finally {
    const pid = dns.pid;
    dns.close();
    if (pid) await until(async () => { try { process.kill(pid, 0); return false; } catch { return true; } }, 3000);
    spawnSync('ip', ['netns', 'del', NS]);
  }
  assert.not.ok(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes(NS), 'netns removed');
});

test('a flooded loop is lowered to the busy nice value given, and raised again once quiet', async () => {
  const ns = `${NS}f`;
  spawnSync('ip', ['netns', 'add', ns]);
  spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const busyNice = DNS_BUSY_NICE + 2;
  const dns = new DnsProcess({ logger: nullLogger, upstreams: [], guardIntervalMs: 200, busyNice });
  let flood: ReturnType<typeof spawn> | undefined;
  try {
    dns.setTable(TABLE);
    await dns.bind('task1', ns, ['net1']);
    const pid = dns.pid!;
    const autogroup = () => (existsSync(`/proc/${pid}/autogroup`) ? readFileSync(`/proc/${pid}/autogroup`, 'utf8') : undefined);
    assert.ok(await until(async () => getPriority(pid) === DNS_NICE, 5000), 'high priority while quiet');
    // Queries sent without waiting for answers keep the loop busy (its answers are dropped at the full client socket).
    const blast = 'use IO::Socket::INET; my $s = IO::Socket::INET->new(Proto => "udp", PeerAddr => "127.0.0.11", PeerPort => 53) or die; '
      + 'my $q = pack("n6", 1, 0x100, 1, 0, 0, 0) . "\\3web\\0" . pack("n2", 1, 1); my $end = time + 20; while (time < $end) { $s->send($q) for 1 .. 200 }';
    flood = spawn('ip', ['netns', 'exec', ns, 'perl', '-e', blast], { stdio: 'ignore' });
    assert.ok(await until(async () => getPriority(pid) === busyNice, 10_000), `busy: lowered (nice ${getPriority(pid)})`);
    if (autogroup()) assert.match(autogroup()!, ` nice ${busyNice}`, 'its autogroup too');
    if (kernelAtLeast(6, 12) && sliceOf(pid)) assert.is(sliceOf(pid), String(DNS_SLICE_NS), 'the short slice stays');
    flood.kill('SIGKILL');
    assert.ok(await until(async () => getPriority(pid) === DNS_NICE, 10_000), 'quiet again: raised');
    if (autogroup()) assert.match(autogroup()!, ` nice ${DNS_NICE}`, 'its autogroup too');
    assert.match(await nslookup('web', ns), 'Address: 10.9.0.2', 'still answers');
  } finally {
    if (flood?.exitCode === null && flood.signalCode === null) flood.kill('SIGKILL');
    dns.close();
    spawnSync('ip', ['netns', 'del', ns]);
  }
  assert.not.ok(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes(ns), 'netns removed');
});

test.run();
