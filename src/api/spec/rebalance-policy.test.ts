import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkRebalanceLabel, rebalanceEnabled, withRebalanceFlag } from './rebalance-policy.ts';
import { validateServiceSpec } from './service-spec.ts';
import { checkSwarmBody } from './swarm-spec.ts';

test('rebalancing is on unless the label says false', () => {
  assert.ok(rebalanceEnabled(undefined));
  assert.ok(rebalanceEnabled({ 'com.shoal.rebalance': 'true' }));
  assert.not.ok(rebalanceEnabled({ 'com.shoal.rebalance': 'false' }));
  assert.is(checkRebalanceLabel({ 'com.shoal.rebalance': 'no' }), 'label com.shoal.rebalance must be true or false (got "no")');
  assert.throws(() => withRebalanceFlag({}, 'off'), /--rebalance "off"/);
});

test('a service or swarm spec with a bad rebalance label is refused', () => {
  const spec = { Name: 'web', Labels: { 'com.shoal.rebalance': 'maybe' }, TaskTemplate: { ContainerSpec: { Image: 'x' } } };
  assert.throws(() => validateServiceSpec(spec as never), /Labels: label com.shoal.rebalance must be true or false/);
  validateServiceSpec({ ...spec, Labels: { 'com.shoal.rebalance': 'false' } } as never);
  assert.throws(() => checkSwarmBody('SwarmSpec', { Labels: { 'com.shoal.rebalance': '0' } }), /Labels: label com.shoal.rebalance/);
  checkSwarmBody('SwarmSpec', { Labels: { 'com.shoal.rebalance': 'false' } });
});

test.run();
