// nft-text.ts's address check: `addr` gives the canonical dotted quad, and refuses anything
// else (it goes into `nft -f` input) with an `LbSpecError` whose cause is net/ipam's refusal:
// one IPv4 parser for net/, not a copy beside IPAM's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidAddressError } from '../ipam/errors.ts';
import { LbSpecError } from './errors.ts';
import { addr } from './nft-text.ts';

test('addr gives the canonical address, edges included', () => {
  for (const s of ['0.0.0.0', '255.255.255.255', '10.97.0.12', '10.0.0.2']) assert.is(addr(s, 'VIP'), s);
});

test('addr refuses what is not a plain dotted quad, naming what, caused by IPAM refusing it', () => {
  for (const s of ['256.1.1.1', '1.2.3.999', '01.2.3.4', '1.2.3.00', '1.2.3', '1.2.3.4.5', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4/24',
    '1..3.4', 'a.b.c.d', '', '1.2.3.-4', '+1.2.3.4', '1.2.3.4\n', '１.2.3.4', '0x1.2.3.4', '1e2.2.3.4']) {
    assert.throws(() => addr(s, 'VIP of service "web"'), (e: unknown) => e instanceof LbSpecError
      && e.message === `lb: invalid VIP of service "web": "${s}"` && e.cause instanceof InvalidAddressError, JSON.stringify(s));
  }
});

test.run();
