// The network-dns bench's report: figures of both sides with min/max, failures kept, and
// target flags that read 'met' only when Docker's figure exists.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dnsReport } from './network-dns.ts';

const round = (p99: number | string, busy: number | string) => ({ dns_p50_ms: 0.04, dns_p99_ms: p99, dns_scale60_p99_ms: busy, uptime_quiet: 'load 1', uptime_busy: 'load 2' });

test('both sides: medians with min and max, a failed round kept, flags compare with Docker', () => {
  const out = dnsReport([round(0.2, 5), round(0.3, 'fail: timeout'), round(0.25, 7)], [round(0.4, 6), round(0.5, 8), round(0.45, 9)]);
  assert.is(out.dns_p99_ms, 0.25);
  assert.is(out.dns_p99_ms_min, 0.2);
  assert.is(out.dns_p99_ms_max, 0.3);
  assert.is(out.dns_scale60_p99_ms, 6);
  assert.equal(out.dns_scale60_p99_ms_failed, ['fail: timeout']);
  assert.is(out.docker_dns_p99_ms, 0.45);
  assert.is(out.target_dns_p99, 'met');
  assert.is(out.target_dns_scale60_p99, 'met');
  assert.equal(out.uptimes, ['quiet: load 1; busy: load 2', 'quiet: load 1; busy: load 2', 'quiet: load 1; busy: load 2']);
  assert.not.ok('uptime_quiet' in out, 'uptimes are listed, not summarised');
});

test('without Docker no target reads met', () => {
  const out = dnsReport([round(0.2, 5), round(0.2, 5), round(0.2, 5)], undefined);
  assert.is(out.target_dns_p99, 'peer did not run');
  assert.is(out.target_dns_scale60_p99, 'peer did not run');
  assert.not.ok('docker_dns_p99_ms' in out);
});

test('slower than Docker reads not met', () => {
  const out = dnsReport([round(0.9, 50), round(0.9, 50), round(0.9, 50)], [round(0.4, 60), round(0.4, 60), round(0.4, 60)]);
  assert.is(out.target_dns_p99, 'not met');
  assert.is(out.target_dns_scale60_p99, 'met');
});

test.run();
