import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServiceSpec } from '../../../src/api/types/service.ts';
import { applyStrategyFlags } from './strategy-flags.ts';

const spec = (labels: Record<string, string> = {}): ServiceSpec => ({ Name: 'w', Labels: labels, TaskTemplate: { ContainerSpec: { Image: 'i' } } });

test('--canary-* flags set the labels and imply --strategy canary', () => {
  const s = spec({ keep: 'me' });
  applyStrategyFlags(s, { 'canary-weight': 10, 'canary-monitor': '20s', 'canary-auto': 'rollback' });
  assert.equal(s.Labels, {
    keep: 'me',
    'com.shoal.update.strategy': 'canary',
    'com.shoal.update.canary.weight': '10',
    'com.shoal.update.canary.monitor': '20s',
    'com.shoal.update.canary.auto': 'rollback',
  });
});

test('--strategy blue-green drops canary settings; rolling drops the strategy label', () => {
  const s = spec({ 'com.shoal.update.strategy': 'canary', 'com.shoal.update.canary.weight': '10' });
  applyStrategyFlags(s, { strategy: 'blue-green' });
  assert.equal(s.Labels, { 'com.shoal.update.strategy': 'blue-green' });
  applyStrategyFlags(s, { strategy: 'rolling' });
  assert.equal(s.Labels, {});
});

test('bad values and contradictions are refused before anything is sent', () => {
  assert.throws(() => applyStrategyFlags(spec(), { 'canary-monitor': '10' }), /canary\.monitor: must be a duration/);
  assert.throws(() => applyStrategyFlags(spec(), { strategy: 'blue-green', 'canary-weight': 5 }), /need --strategy canary/);
  const s = spec({ x: '1' });
  applyStrategyFlags(s, {});
  assert.equal(s.Labels, { x: '1' }, 'no flags, no change');
});

test.run();
