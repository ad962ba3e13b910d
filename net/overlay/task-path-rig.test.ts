// The rig's figures (pure): ratios per round to the underlay, medians, stream counts apart.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rigFigures } from './task-path-rig.ts';

test('ratios are the median of per-round ratios to the underlay, with min and max; stream counts apart', () => {
  const f = rigFigures([
    { streams: 1, gbps: { underlay: 10, bridge: 8, macvlan: 9 } },
    { streams: 1, gbps: { underlay: 20, bridge: 15, macvlan: 18 } },
    { streams: 1, gbps: { underlay: 5, bridge: 4.5, macvlan: 4 } },
    { streams: 4, gbps: { underlay: 20, bridge: 12, macvlan: 15 } },
  ]);
  assert.is(f.bridge_ratio, 0.8);
  assert.is(f.bridge_ratio_min, 0.75);
  assert.is(f.bridge_ratio_max, 0.9);
  assert.is(f.macvlan_ratio, 0.9);
  assert.is(f.underlay_gbps, 10);
  assert.is(f.bridge_ratio_4, 0.6);
  assert.is(f.macvlan_ratio_4, 0.75);
  assert.is(f.underlay_gbps_4, 20);
});

test('no rounds, no figures', () => {
  assert.equal(rigFigures([]), {});
});

test.run();
