import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labHostsFile } from './anchor.ts';
import { checkPrefix, hostIndex, LabNames } from './names.ts';
import { partitionCommands } from './netns.ts';

test('names derive from the prefix, so two labs never share one', () => {
  const a = new LabNames('shoal', '/tmp/shoal-lab');
  const b = new LabNames('shoalt', '/tmp/shoalt-lab');
  assert.is(a.hostNetns('h2'), 'shoal-h2');
  assert.is(b.hostNetns('h2'), 'shoalt-h2');
  assert.is(a.switchNetns, 'shoal-sw');
  assert.is(b.nftTable, 'shoal-lab-shoalt');
  assert.is(b.cgroupName, 'shoalt-lab');
  assert.is(a.socket('h2'), '/tmp/shoal-lab/h2/shoal.sock');
  assert.is(a.hostAddress('h1'), '192.168.100.11');
  assert.is(a.hostAddress('h3'), '192.168.100.13');
  assert.is(a.registryAddress, '192.168.100.1:5000');
});

test('bad prefixes and host names are refused', () => {
  for (const p of ['', 'Shoal', '1x', 'a-b', 'waytoolongprefix']) assert.throws(() => checkPrefix(p), /invalid prefix/);
  for (const h of ['h0', 'x1', 'h', 'h01']) assert.throws(() => hostIndex(h), /invalid host name/);
  assert.is(hostIndex('h12'), 12);
});

test('a partition drops all traffic on eth0, or only that of the given peers', () => {
  const all = partitionCommands('shoal-lab-t');
  assert.match(all, /add rule inet shoal-lab-t pre iifname "eth0" drop/);
  assert.match(all, /add rule inet shoal-lab-t post oifname "eth0" drop/);
  const some = partitionCommands('shoal-lab-t', ['192.168.100.12']);
  assert.match(some, /iifname "eth0" ip saddr \{ 192\.168\.100\.12 \} drop/);
  assert.match(some, /oifname "eth0" ip daddr \{ 192\.168\.100\.12 \} drop/);
  const oneWay = partitionCommands('shoal-lab-t', ['192.168.100.12'], 'in');
  assert.match(oneWay, /iifname "eth0" ip saddr \{ 192\.168\.100\.12 \} drop/);
  assert.not.match(oneWay, /oifname/, 'a one-way partition lets the host send');
});

test('every host resolves every other host by name', () => {
  const hosts = labHostsFile(new LabNames('shoal', '/tmp/x'), ['h1', 'h2']);
  assert.match(hosts, /192\.168\.100\.11\th1\n/);
  assert.match(hosts, /192\.168\.100\.12\th2\n/);
  assert.match(hosts, /192\.168\.100\.1\tregistry/);
});

test.run();
