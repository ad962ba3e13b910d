// Weighted backends (canary share, blue-green hold) in the VIP and mesh rulesets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pick } from './nft-text.ts';
import { renderTable } from './ruleset.ts';
import { renderMeshTable } from './mesh.ts';
import { LbSpecError } from './errors.ts';

test('no weights, or equal ones: the plain numgen map', () => {
  const plain = 'numgen random mod 2 map { 0 : 10.0.0.5, 1 : 10.0.0.6 }';
  assert.is(pick(['10.0.0.5', '10.0.0.6']), plain);
  assert.is(pick(['10.0.0.5', '10.0.0.6'], { '10.0.0.5': 3, '10.0.0.6': 3 }), plain);
  assert.is(pick(['10.0.0.5', '10.0.0.6'], { '10.0.0.5': 0, '10.0.0.6': 0 }), plain, 'all zero: equal');
});

test('weights become ranges of numgen mod their sum, reduced by their gcd', () => {
  // 1 canary at 10 % beside 9 others: canary 10·9 = 90, others 90·1 = 90 each → all equal.
  assert.is(pick(['a1', 'a2', 'a3'].map((_, i) => `10.0.0.${i + 1}`), { '10.0.0.1': 20, '10.0.0.2': 40, '10.0.0.3': 40 }),
    'numgen random mod 5 map { 0 : 10.0.0.1, 1-2 : 10.0.0.2, 3-4 : 10.0.0.3 }');
  assert.is(pick(['10.0.0.1', '10.0.0.2'], { '10.0.0.1': 10, '10.0.0.2': 90 }), 'numgen random mod 10 map { 0 : 10.0.0.1, 1-9 : 10.0.0.2 }');
});

test('weight 0 leaves a backend out', () => {
  assert.is(pick(['10.0.0.1', '10.0.0.2', '10.0.0.3'], { '10.0.0.1': 0, '10.0.0.2': 1, '10.0.0.3': 1 }), 'numgen random mod 2 map { 0 : 10.0.0.2, 1 : 10.0.0.3 }');
  assert.is(pick(['10.0.0.1', '10.0.0.2'], { '10.0.0.1': 0 }), '10.0.0.2');
});

test('the VIP and mesh tables carry the weights; bad weights are refused', () => {
  const t = renderTable([{ name: 'web', vip: '10.0.1.2', backends: ['10.0.1.5', '10.0.1.6'], weights: { '10.0.1.5': 1, '10.0.1.6': 9 } }]);
  assert.match(t, 'dnat to numgen random mod 10 map { 0 : 10.0.1.5, 1-9 : 10.0.1.6 }');
  const m = renderMeshTable([{ service: 'web', protocol: 'tcp', published: 8080, target: 80, backends: ['10.0.0.7', '10.0.0.8'], weights: { '10.0.0.7': 0, '10.0.0.8': 1 } }], { ingressSubnet: '10.0.0.0/24' });
  assert.match(m, 'meta l4proto tcp dnat to 10.0.0.8:80');
  assert.throws(() => renderTable([{ name: 'web', vip: '10.0.1.2', backends: ['10.0.1.5'], weights: { '10.0.1.5': -1 } }]), (e: unknown) => e instanceof LbSpecError && /invalid weight -1/.test((e as Error).message));
});

test.run();
