import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { goDurationMs, pruneSelector, untilTime } from './prune-filters.ts';

const NOW = Date.parse('2026-01-02T00:00:00Z');
const f = (o: Record<string, string[]>) => new Map(Object.entries(o));

test('until takes Unix seconds, RFC 3339 and Go durations before now', () => {
  assert.is(untilTime('1700000000', NOW), 1_700_000_000_000);
  assert.is(untilTime('2026-01-01T00:00:00Z', NOW), NOW - 86_400_000);
  assert.is(untilTime('24h', NOW), NOW - 86_400_000);
  assert.is(goDurationMs('1h30m'), 5_400_000);
  assert.is(goDurationMs('1.5s'), 1500);
  assert.is(goDurationMs('10'), undefined);
  assert.throws(() => untilTime('yesterday', NOW), /invalid filter 'until=yesterday'/);
});

test('labels, label!, until and dangling select what a prune removes', () => {
  const s = pruneSelector(f({ label: ['tier=web', 'keep'], 'label!': ['pinned'], until: ['1h'] }), NOW, ['label', 'label!', 'until']);
  const old = NOW - 2 * 3_600_000;
  assert.ok(s.matches(old, { tier: 'web', keep: '' }));
  assert.not.ok(s.matches(NOW - 1000, { tier: 'web', keep: '' }), 'too recent');
  assert.not.ok(s.matches(old, { tier: 'db', keep: '' }));
  assert.not.ok(s.matches(old, { tier: 'web', keep: '', pinned: 'yes' }));
  assert.not.ok(s.matches(old, null));
  assert.ok(pruneSelector(f({}), NOW, ['dangling']).danglingOnly);
  assert.not.ok(pruneSelector(f({ dangling: ['false'] }), NOW, ['dangling']).danglingOnly);
});

test('an unknown filter is refused by name', () => {
  assert.throws(() => pruneSelector(f({ reference: ['x'] }), NOW, ['label']), /invalid filter 'reference'/);
  assert.throws(() => pruneSelector(f({ dangling: ['maybe'] }), NOW, ['dangling']), /dangling=maybe/);
});

test.run();
