// Smoke test of the overlay benchmark's latency probe (tcprr.pl) on loopback: the JSON
// shape network-overlay.ts parses, for both modes. Asserts nothing about time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TASK_PATH } from '../../src/agent/network/task-path.ts';
import { LATENCY_KEYS, THROUGHPUT_KEYS, overlaySettings } from './network-overlay.ts';

const TCPRR = fileURLToPath(new URL('./tcprr.pl', import.meta.url));

test('tcprr: request/response and connect runs report n, percentiles and no errors', async () => {
  const srv = spawn('perl', [TCPRR, 'serve', '0', '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let buf = '';
      srv.stdout!.on('data', (d) => {
        buf += d;
        const m = /ready (\d+)/.exec(buf);
        if (m) resolve(Number(m[1]));
      });
      srv.on('exit', (c) => reject(new Error(`tcprr serve exited ${c}`)));
    });
    for (const mode of ['rr', 'connect']) {
      const r = spawnSync('perl', [TCPRR, mode, '127.0.0.1', String(port), '50'], { encoding: 'utf8' });
      assert.is(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout.trim()) as Record<string, number>;
      assert.is(j.n, 50, mode);
      assert.is(j.errors, 0, mode);
      assert.ok(j.min_us > 0 && j.min_us <= j.p50_us && j.p50_us <= j.p90_us, `${mode}: ${r.stdout}`);
    }
  } finally {
    // Wait for the server to be gone: a test that ends while its child still runs leaves it behind.
    const gone = srv.exitCode !== null || srv.signalCode !== null ? Promise.resolve() : new Promise((r) => srv.once('exit', r));
    srv.kill();
    await gone;
  }
});

test('the figures the benchmark promises, and its settings say how it ran', () => {
  for (const k of ['overlay_ratio', 'overlay_ratio_4', 'underlay_mss', 'overlay_mss']) assert.ok(THROUGHPUT_KEYS.includes(k));
  assert.match(String(overlaySettings({ reps: 1, seconds: 5 }).overlay_same), /own MSS/);
  for (const k of ['overlay_rtt_added_us', 'vip_rtt_added_us', 'mesh_rtt_added_us']) assert.ok(LATENCY_KEYS.includes(k));
  assert.match(String(overlaySettings({ reps: 1, seconds: 5, rt: true }).overlay_sched), /SCHED_FIFO/);
  assert.match(String(overlaySettings({ reps: 1, seconds: 5 }).overlay_sched), /normal/);
});

test('the settings name the task path Shoal\'s daemons use: the agent\'s default, a bridge for ingress', () => {
  const s = overlaySettings({ reps: 1, seconds: 5 });
  assert.is(s.overlay_task_path, DEFAULT_TASK_PATH);
  assert.is(s.overlay_task_path_ingress, 'bridge');
});

test.run();
