import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgumentError } from '../../api/errors.ts';
import { checkAddressPools, ingressNetworkSpec } from './index.ts';

test('ingress takes 10.0.0.0/24 with the default pool, a carved subnet with a custom one', () => {
  const d = ingressNetworkSpec();
  assert.equal(
    { Name: d.Name, Driver: d.Driver, Ingress: d.Ingress, Attachable: d.Attachable, Scope: d.Scope, Labels: d.Labels, Options: d.Options },
    { Name: 'ingress', Driver: 'overlay', Ingress: true, Attachable: false, Scope: 'swarm', Labels: {}, Options: {} },
  );
  assert.equal(d.IPAM, { Driver: 'default', Config: [{ Subnet: '10.0.0.0/24' }] });
  assert.equal(ingressNetworkSpec(['10.0.0.0/8']).IPAM.Config, [{ Subnet: '10.0.0.0/24' }]);
  assert.equal(ingressNetworkSpec(['172.30.0.0/16']).IPAM.Config, []);
});

test('address pools: bad CIDR, host bits, size out of range are 400', () => {
  checkAddressPools(['10.0.0.0/8'], 24);
  checkAddressPools(['172.30.0.0/16', '10.10.0.0/16'], 26);
  for (const [pool, size] of [[['10.0.0.1/8'], 24], [['nope'], 24], [['10.0.0.0/8'], 31], [['10.0.0.0/16'], 8]] as const) {
    assert.throws(() => checkAddressPools(pool, size), (e: unknown) => e instanceof InvalidArgumentError && e.status === 400 && /invalid default address pool/.test(e.message));
  }
});

test.run();
