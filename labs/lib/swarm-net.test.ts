// Parsing the output of the busybox tools the network lab tests run inside tasks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { httpLoop, parseHttpLoop, parseNslookup, parseTcpExt, tally, taskNetns } from './swarm-net.ts';

test('nslookup: the answers in order, not the server line', () => {
  const out = 'Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\nName:\ttasks.web\nAddress: 10.0.1.5\nName:\ttasks.web\nAddress: 10.0.1.3\n\n';
  assert.equal(parseNslookup(out), ['10.0.1.5', '10.0.1.3']);
  assert.equal(parseNslookup("Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\n** server can't find nope: NXDOMAIN\n"), []);
});

test('the HTTP loop: one entry per request, empty for a failed one', () => {
  assert.equal(parseHttpLoop('=abc\n=\n=def\nnoise\n'), ['abc', '', 'def']);
  assert.match(httpLoop('10.0.0.2', 80, 3)[2], /seq 3.*nc -w 2 10\.0\.0\.2 80/);
  assert.equal([...tally(['a', 'b', 'a', ''])], [['a', 2], ['b', 1], ['', 1]]);
});

test('a task netns is named after the first 12 characters of its ID', () => {
  assert.is(taskNetns('abcdefghijklmnopqrstuvwxy'), 't-abcdefghijkl');
});

test('/proc/net/netstat: the TcpExt counters by name, not the IpExt ones', () => {
  const text = 'TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 1192 1193\nIpExt: InNoRoutes ListenOverflows\nIpExt: 7 8\n';
  assert.equal(parseTcpExt(text), { SyncookiesSent: 0, ListenOverflows: 1192, ListenDrops: 1193 });
  assert.equal(parseTcpExt('IpExt: InNoRoutes\nIpExt: 7\n'), {});
});

test.run();
