/**
 * `npm run bench -- observe [--tasks N] [--seconds S]`: the cost of watching a cluster.
 *
 * Metrics (issue 18's targets: a scrape of a node with 50 tasks under 50 ms, under 2 %
 * CPU added at a 1 s interval): a one-host lab whose daemon serves `--metrics-addr`,
 * N tasks (default 50) running on it; a client inside the host scrapes `/metrics` once a
 * second for S seconds (default 20) and times each scrape; the daemon's CPU time
 * (/proc/PID/stat) over those S seconds is compared with S seconds without scrapes.
 *   scrape_ms       median scrape duration (request to last byte)
 *   scrape_p95_ms   95th percentile
 *   scrape_cpu_pct  daemon CPU % added by scraping every second (with − without)
 *   scrape_bytes    size of one exposition
 *
 * The dashboard's figures (`dashboard_paint_ms`, `dashboard_scale_ms`) are measured by
 * the dashboard's part of this file; `autoscale_react_ms` (load start to the first task
 * the autoscaler added running; its window is 3 s) by the autoscaler's, with its memory
 * and connection-rate twins `autoscale_memory_react_ms`, `autoscale_rps_react_ms`
 * (observe-autoscale.ts). The last line
 * is one JSON object with every figure measured. `--no-autoscale` and `--no-dashboard`
 * leave those parts out.
 */
import { withLab, type Lab } from '../lib/lab.ts';
import { cpuTimeMs } from '../lib/procs.ts';
import { measureDashboard } from './observe-dashboard.ts';
import { measureAutoscaleTargets } from './observe-autoscale.ts';
import { client, IMAGE, waitRunning } from '../lib/swarm-services.ts';
import type { ServiceSpec } from '../../src/api/types/service.ts';

const METRICS_PORT = 9323;

/** Every figure of this benchmark; each part adds its own keys. */
type Figures = Record<string, number | string | null>;

function argValue(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : dflt;
}

/** utime + stime of a process, seconds. */
function cpuSeconds(pid: number): number {
  const ms = cpuTimeMs(pid);
  if (ms === undefined) throw new Error(`observe: daemon ${pid} is gone`);
  return ms / 1000;
}

/** A scraping client run inside the host (the lab's addresses are reachable only there). */
const SCRAPER = `
const http = require('node:http');
const [url, count, gapMs] = process.argv.slice(1);
const one = () => new Promise((resolve, reject) => {
  const t0 = process.hrtime.bigint();
  http.get(url, (res) => { let n = 0; res.on('data', (c) => n += c.length); res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes: n, status: res.statusCode })); }).on('error', reject);
});
(async () => {
  const out = [];
  for (let i = 0; i < Number(count); i++) {
    const started = Date.now();
    out.push(await one());
    await new Promise((r) => setTimeout(r, Math.max(0, Number(gapMs) - (Date.now() - started))));
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The metrics part: scrape cost on a node running `tasks` tasks. */
async function measureScrapes(lab: Lab, tasks: number, seconds: number): Promise<Figures> {
  const h1 = client(lab, 'h1');
  await h1.post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
  await h1.post('/services/create', {
    Name: 'observed', Labels: {}, Mode: { Replicated: { Replicas: tasks } },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } },
  } satisfies ServiceSpec);
  console.log(`observe: waiting for ${tasks} tasks`);
  await waitRunning(lab, 'observed', tasks, 'h1', 300_000);
  const pid = lab.daemonPid('h1')!;
  const url = `http://${lab.address('h1')}:${METRICS_PORT}/metrics`;
  // Warm up (first scrape compiles the code paths) and let the node settle.
  await lab.exec('h1', [process.execPath, '-e', SCRAPER, url, '3', '200']);
  await new Promise((r) => setTimeout(r, 2000));

  const idle0 = cpuSeconds(pid);
  const idleT0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const idleCpu = (cpuSeconds(pid) - idle0) / ((Date.now() - idleT0) / 1000);

  const busy0 = cpuSeconds(pid);
  const busyT0 = Date.now();
  const r = await lab.exec('h1', [process.execPath, '-e', SCRAPER, url, String(seconds), '1000'], { timeoutMs: (seconds + 30) * 1000 });
  const busyCpu = (cpuSeconds(pid) - busy0) / ((Date.now() - busyT0) / 1000);
  if (r.code !== 0) throw new Error(`observe: scraper failed: ${r.stderr}`);
  const scrapes = JSON.parse(r.stdout) as { ms: number; bytes: number; status: number }[];
  if (scrapes.some((s) => s.status !== 200)) throw new Error('observe: a scrape did not answer 200');
  const ms = scrapes.map((s) => s.ms).sort((a, b) => a - b);
  const figures = {
    tasks,
    scrape_ms: Number(percentile(ms, 50).toFixed(2)),
    scrape_p95_ms: Number(percentile(ms, 95).toFixed(2)),
    scrape_cpu_pct: Number(Math.max(0, (busyCpu - idleCpu) * 100).toFixed(2)),
    daemon_idle_cpu_pct: Number((idleCpu * 100).toFixed(2)),
    scrape_bytes: scrapes[scrapes.length - 1].bytes,
  };
  console.log(`observe: ${scrapes.length} scrapes of ${tasks} tasks: median ${figures.scrape_ms} ms, p95 ${figures.scrape_p95_ms} ms, ` +
    `${figures.scrape_bytes} bytes; daemon CPU ${figures.daemon_idle_cpu_pct} % idle, +${figures.scrape_cpu_pct} % scraped every second`);
  return figures;
}

/**
 * The autoscaler's part: on the same node (the observed service removed first), a
 * service of CPU-capped busy loops with `--min 1 --max 3 --cpu 50 --window 3s
 * --cooldown 3s`; `autoscale_react_ms` runs from its first task running (the load
 * starting) to the first task the autoscaler added running.
 */
async function measureAutoscale(lab: Lab): Promise<Figures> {
  const h1 = client(lab, 'h1');
  await h1.delete('/services/observed');
  const windowMs = 3000;
  const { ID } = await h1.post<{ ID: string }>('/services/create', {
    Name: 'busy', Mode: { Replicated: { Replicas: 1 } },
    Labels: { 'com.shoal.autoscale.min': '1', 'com.shoal.autoscale.max': '3', 'com.shoal.autoscale.cpu': '50', 'com.shoal.autoscale.window': '3s', 'com.shoal.autoscale.cooldown': '3s' },
    TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'while :; do :; done'], StopGracePeriod: 1e9 }, Resources: { Limits: { NanoCPUs: 1e8 } } },
  } satisfies ServiceSpec);
  await waitRunning(lab, 'busy', 1, 'h1', 60_000);
  const t0 = Date.now();
  await waitRunning(lab, 'busy', 2, 'h1', 60_000);
  const react = Date.now() - t0;
  await h1.delete(`/services/${ID}`);
  console.log(`observe: autoscaler added a running task ${react} ms after the load started (window ${windowMs} ms)`);
  return { autoscale_react_ms: react, autoscale_window_ms: windowMs };
}

export async function run(args: string[]): Promise<void> {
  const tasks = argValue(args, '--tasks', 50);
  const seconds = argValue(args, '--seconds', 20);
  const figures: Figures = {};
  await withLab({ hosts: 1, prefix: 'shoalmeb', daemons: { extraArgs: ['--metrics-addr', `0.0.0.0:${METRICS_PORT}`] } }, async (lab) => {
    Object.assign(figures, await measureScrapes(lab, tasks, seconds));
    // `--no-autoscale` skips the autoscaler's parts (to time the metrics alone).
    if (args.includes('--no-autoscale')) return;
    Object.assign(figures, await measureAutoscale(lab));
    Object.assign(figures, await measureAutoscaleTargets(lab));
  });
  // The dashboard's part (observe-dashboard.ts), on its own 3-host lab; `--no-dashboard` skips it.
  if (!args.includes('--no-dashboard')) Object.assign(figures, await measureDashboard());
  console.log(JSON.stringify(figures));
}
