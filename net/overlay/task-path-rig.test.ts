// The rig's figures (pure): ratios per round to the underlay, medians, stream counts apart.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { busyShares, cpuTimes, rigFigures } from './task-path-rig.ts';

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

test('what a path cost: busy share per CPU, bytes per packet and CPU µs per packet, medians over rounds', () => {
  const cost = (busy0: number, packets: number) => ({ busy: [busy0, 0.5], txPackets: packets, txBytes: packets * 45_000, seconds: 10 });
  const f = rigFigures([
    { streams: 4, gbps: { underlay: 20, bridge: 12, macvlan: 15 }, cost: { underlay: cost(0.9, 900_000), macvlan: cost(1, 500_000) } },
    { streams: 4, gbps: { underlay: 20, bridge: 12, macvlan: 15 }, cost: { underlay: cost(0.95, 1_000_000), macvlan: cost(1, 625_000) } },
    { streams: 4, gbps: { underlay: 20, bridge: 12, macvlan: 15 }, cost: { underlay: cost(1, 950_000), macvlan: cost(0.9, 600_000) } },
  ]);
  assert.is(f.underlay_bytes_per_packet_4, 45_000);
  assert.is(f.underlay_cpu0_busy_4, 0.95);
  assert.is(f.underlay_cpu1_busy_4, 0.5);
  // 0.95 × 10 s over 950,000 packets = 10 µs; the median of 10, 9.5 and 10.5.
  assert.is(f.underlay_cpu0_us_per_packet_4, 10);
  // 20, 16 and 15 µs: 16.
  assert.is(f.macvlan_cpu0_us_per_packet_4, 16);
  assert.is(f.bridge_cpu0_busy_4, undefined, 'a path without costs has no cost figures');
});

test('busy share per CPU between two readings of /proc/stat; idle and iowait are not busy', () => {
  const a = cpuTimes('cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 100 0 50 800 50 0 0 0 0 0\ncpu1 10 0 10 970 10 0 0 0 0 0\nintr 5\n');
  const b = cpuTimes('cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 300 0 150 800 50 20 30 0 0 0\ncpu1 20 0 20 1150 20 0 0 0 10 0\nintr 9\n');
  assert.equal(a.map((c) => c.busy), [150, 20]);
  // cpu0: 350 more busy of 350 more in all; cpu1: 20 of 210 (iowait and idle not busy; guest not counted twice).
  assert.equal(busyShares(a, b), [1, 0.095]);
});

test('no rounds, no figures', () => {
  assert.equal(rigFigures([]), {});
});

test.run();
