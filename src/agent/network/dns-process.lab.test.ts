// The DNS child process in a real netns: answers from the table it is given, serves
// again after it was killed, and stops serving an unbound task. Root only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { getPriority, release } from 'node:os';
import { nullLogger } from '../../common/logger.ts';
import { DNS_NICE, DNS_SLICE_NS, DnsProcess } from './dns-process.ts';

const NS = `shoal-dnsp-${process.pid}`;
const TABLE = { net1: [{ name: 'web', endpointMode: 'vip' as const, vip: '10.9.0.2', tasks: [{ name: 'web.1.x', ip: '10.9.0.3' }] }] };

function nslookup(name: string): Promise<string> {
  return new Promise((ok) => {
    execFile('timeout', ['5', 'ip', 'netns', 'exec', NS, 'busybox', 'nslookup', '-timeout=1', name, '127.0.0.11'], (_err, out, errOut) => ok(out + errOut));
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
    const slice = () => /se\.slice\s*:\s*(\d+)/.exec(readFileSync(`/proc/${first}/sched`, 'utf8'))?.[1];
    if (kernelAtLeast(6, 12) && slice()) assert.ok(await until(async () => slice() === String(DNS_SLICE_NS), 3000), `slice ${slice()} ns`);
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

test.run();
