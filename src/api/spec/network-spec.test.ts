// NetworkCreateRequest → NetworkSpec: Docker's defaults, and clear refusals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { networkSpecFromRequest } from './network-spec.ts';

test('a bare request gets an overlay, swarm-scoped spec with Docker\'s defaults', () => {
  assert.equal(networkSpecFromRequest({ Name: 'web' }), {
    Name: 'web', Labels: {}, Driver: 'overlay', Options: {}, IPAM: { Driver: 'default', Config: [] },
    Attachable: false, Ingress: false, Internal: false, EnableIPv6: false, Scope: 'swarm',
  });
});

test('IPAM config, options and flags are kept; empty strings are dropped', () => {
  const body = {
    Name: 'db', Driver: 'overlay', Attachable: true, Internal: true, Options: { 'com.docker.network.driver.mtu': '1400' },
    IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/16', Gateway: '10.9.0.1', IPRange: '10.9.1.0/24', AuxiliaryAddresses: {} }], Options: { a: 'b' } },
    Labels: { x: '' },
  };
  const copy = structuredClone(body);
  const s = networkSpecFromRequest(body);
  assert.equal(body, copy, 'the request is not modified');
  assert.equal(s.IPAM, { Driver: 'default', Config: [{ Subnet: '10.9.0.0/16', Gateway: '10.9.0.1', IPRange: '10.9.1.0/24' }], Options: { a: 'b' } });
  assert.is(s.Attachable, true);
  assert.is(s.Internal, true);
  assert.equal(s.Labels, { x: '' });
  assert.equal(networkSpecFromRequest({ Name: 'n', IPAM: { Config: [{ Subnet: '10.1.0.0/24', Gateway: '' }] } }).IPAM.Config, [{ Subnet: '10.1.0.0/24' }]);
});

test('refusals name the field and the reason', () => {
  const cases: [unknown, RegExp][] = [
    [undefined, /body must be a NetworkCreateRequest/],
    [{ Name: 'x', Driver: 'macvlan' }, /network driver "macvlan" is not supported/],
    [{ Name: 'x', Scope: 'local' }, /only swarm is supported/],
    [{ Name: 'x', ConfigOnly: true }, /config-only networks are not supported/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: '10.0.0.0/24' }, { Subnet: '10.1.0.0/24' }] } }, /only one IPv4 subnet/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: '300.0.0.0/24' }] } }, /must be an IPv4 CIDR/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1/24' }] } }, /Gateway "10.0.0.1\/24": must be an IPv4 address/],
    [{ Name: 'x', IPAM: { Config: [{ Subnet: 'fd00::/64' }] } }, /IPv4 CIDR/],
    [{ Name: 'x', Ingress: true, Attachable: true }, /ingress network cannot be attachable/],
    [{ Name: 'x', Options: ['a'] }, /Options: must map names to strings/],
    [{ Name: 'x'.repeat(64) }, /at most 63 characters/],
    [{ Name: 'none' }, /pre-defined network/],
  ];
  for (const [body, re] of cases) assert.throws(() => networkSpecFromRequest(body), re, JSON.stringify(body));
});

test.run();
