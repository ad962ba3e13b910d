import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatPolicyDuration, parsePolicyDuration, updatePolicyOf, UpdatePolicyError } from './update-policy.ts';
import { validateServiceSpec, withServiceDefaults } from './service-spec.ts';

test('no labels: rolling', () => {
  assert.equal(updatePolicyOf(undefined), { strategy: 'rolling' });
  assert.equal(updatePolicyOf({ other: 'x' }), { strategy: 'rolling' });
});

test('canary labels with defaults and every setting', () => {
  assert.equal(updatePolicyOf({ 'com.shoal.update.strategy': 'canary' }), { strategy: 'canary', canary: { replicas: 1, monitorMs: 30_000, auto: 'promote', maxFailureRatio: 0 } });
  assert.equal(updatePolicyOf({
    'com.shoal.update.strategy': 'canary',
    'com.shoal.update.canary.replicas': '3',
    'com.shoal.update.canary.monitor': '1m30s',
    'com.shoal.update.canary.weight': '10',
    'com.shoal.update.canary.auto': 'rollback',
    'com.shoal.update.canary.max-failure-ratio': '0.5',
  }).canary, { replicas: 3, monitorMs: 90_000, weight: 10, auto: 'rollback', maxFailureRatio: 0.5 });
});

test('bad values, unknown keys and canary settings without the canary strategy are refused, naming the label', () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ 'com.shoal.update.strategy': 'linear' }, /com\.shoal\.update\.strategy: must be rolling, canary or blue-green/],
    [{ 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.weight': '101' }, /canary\.weight: must be a percentage/],
    [{ 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.replicas': '0' }, /canary\.replicas/],
    [{ 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.monitor': '10' }, /canary\.monitor: must be a duration/],
    [{ 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.auto': 'maybe' }, /canary\.auto/],
    [{ 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.max-failure-ratio': '2' }, /max-failure-ratio/],
    [{ 'com.shoal.update.canary.weight': '10' }, /needs com\.shoal\.update\.strategy=canary/],
    [{ 'com.shoal.update.mirror': 'on' }, /unknown Shoal update setting/],
  ];
  for (const [labels, re] of bad) assert.throws(() => updatePolicyOf(labels), (e: unknown) => e instanceof UpdatePolicyError && re.test(e.message), JSON.stringify(labels));
});

test('the API validator refuses a bad policy with 400 naming Labels', () => {
  const spec = withServiceDefaults({ Name: 'w', Labels: { 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.weight': 'x' }, TaskTemplate: { ContainerSpec: { Image: 'i' } } });
  assert.throws(() => validateServiceSpec(spec), (e: unknown) => (e as { status?: number }).status === 400 && /Labels: update policy: label com\.shoal\.update\.canary\.weight/.test((e as Error).message));
  validateServiceSpec(withServiceDefaults({ Name: 'w', Labels: { 'com.shoal.update.strategy': 'blue-green' }, TaskTemplate: { ContainerSpec: { Image: 'i' } } }));
});

test('durations parse and format as Go writes them', () => {
  assert.is(parsePolicyDuration('250ms'), 250);
  assert.is(parsePolicyDuration('2.5s'), 2500);
  assert.is(parsePolicyDuration('1h1m'), 3_660_000);
  assert.is(parsePolicyDuration('5'), undefined);
  assert.is(parsePolicyDuration(''), undefined);
  assert.is(formatPolicyDuration(90_000), '1m30s');
  assert.is(formatPolicyDuration(0), '0s');
  assert.is(formatPolicyDuration(1500), '1500ms');
  assert.is(formatPolicyDuration(3_600_000), '1h');
});

test.run();
