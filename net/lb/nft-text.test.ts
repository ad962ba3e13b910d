// nft-text.ts's address check: `quad` takes exactly what `parseAddress` (net/ipam) takes,
// with the same value, without the ip-address library's parse.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAddress } from '../ipam/cidr.ts';
import { LbSpecError } from './errors.ts';
import { addr, quad } from './nft-text.ts';

const theirs = (s: string) => { try { return parseAddress(s); } catch { return undefined; } };

test('quad agrees with parseAddress on edge cases', () => {
  for (const s of ['0.0.0.0', '255.255.255.255', '10.97.0.12', '256.1.1.1', '1.2.3.999', '01.2.3.4', '1.2.3.00', '1.2.3', '1.2.3.4.5',
    ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4/24', '1..3.4', 'a.b.c.d', '', '1.2.3.-4', '+1.2.3.4', '1.2.3.4\n', '１.2.3.4']) {
    assert.is(quad(s), theirs(s), JSON.stringify(s));
  }
});

test('quad agrees with parseAddress on generated strings', () => {
  let seed = 7; // a fixed LCG: a failure replays
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  const octet = () => [String(rnd(300)), `0${rnd(10)}`, String(rnd(256)), '', 'x'][rnd(5)];
  for (let i = 0; i < 5000; i++) {
    const s = Array.from({ length: 3 + rnd(3) }, octet).join('.');
    assert.is(quad(s), theirs(s), s);
  }
});

test('addr gives the canonical address or refuses naming what', () => {
  assert.is(addr('10.0.0.2', 'VIP'), '10.0.0.2');
  assert.throws(() => addr('10.0.0.256', 'VIP of service "web"'), (e: unknown) => e instanceof LbSpecError && /invalid VIP of service "web": "10.0.0.256"/.test((e as Error).message));
});

test.run();
