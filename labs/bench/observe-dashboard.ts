/**
 * The dashboard's part of `npm run bench -- observe`: a 3-host lab whose manager serves
 * `--dashboard-addr`, a service of 6 tasks, Debian's headless Chromium on the page.
 *   dashboard_paint_ms   first contentful paint of the page (Performance API)
 *   dashboard_view_ms    from navigation start to the first cluster view drawn (a mark the page sets)
 *   dashboard_scale_ms   median, from a `service scale` call returning to the grid showing
 *                        the new count (alternating 6 → 12 → 6 …, `rounds` times)
 *   dashboard_scale_max_ms  the slowest of those
 * Figures only; nothing is asserted about time.
 */
import { withLab } from '../lib/lab.ts';
import { client, formSwarm, IMAGE, scale, waitRunning } from '../lib/swarm-services.ts';
import { DASHBOARD_PORT, firstPaintMs, openDashboard, waitGridTasks } from '../lib/dashboard-browser.ts';
import type { ServiceSpec } from '../../src/api/types/service.ts';

/** Figures of this part, keyed as the benchmark's JSON line names them. */
export type DashboardFigures = Record<string, number>;

/** Runs the dashboard measurements on their own lab (prefix `shoaldsb`). */
export async function measureDashboard(opts: { rounds?: number } = {}): Promise<DashboardFigures> {
  const rounds = opts.rounds ?? 6;
  return withLab({ hosts: 3, prefix: 'shoaldsb', daemons: { extraArgs: ['--dashboard-addr', `127.0.0.1:${DASHBOARD_PORT}`] } }, async (lab) => {
    await formSwarm(lab);
    await client(lab, 'h1').post('/services/create', {
      Name: 'dash', Labels: {}, Mode: { Replicated: { Replicas: 6 } },
      TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } },
    } satisfies ServiceSpec);
    await waitRunning(lab, 'dash', 6);
    const b = await openDashboard(lab, 'h1');
    try {
      const { page } = b;
      await waitGridTasks(page, 'dash', 6, { running: true, timeoutMs: 10_000 });
      const paint = await firstPaintMs(page);
      const view = await page.evaluate(`performance.getEntriesByName('shoal:first-view')[0]?.startTime ?? NaN`) as number;
      const times: number[] = [];
      let n = 6;
      for (let i = 0; i < rounds; i++) {
        n = n === 6 ? 12 : 6;
        await scale(lab, 'dash', n);
        const t0 = Date.now();
        await waitGridTasks(page, 'dash', n, { timeoutMs: 30_000 });
        times.push(Date.now() - t0);
        await waitRunning(lab, 'dash', n);
      }
      times.sort((a, b) => a - b);
      const figures = {
        dashboard_paint_ms: Math.round(paint),
        dashboard_view_ms: Math.round(view),
        dashboard_scale_ms: times[Math.floor(times.length / 2)],
        dashboard_scale_max_ms: times[times.length - 1],
      };
      console.log(`observe: dashboard first paint ${figures.dashboard_paint_ms} ms, first view ${figures.dashboard_view_ms} ms; ` +
        `scale shown in the grid after ${times.join(', ')} ms`);
      return figures;
    } finally {
      await b.close();
    }
  });
}

/** `npm run bench -- observe-dashboard [--rounds N]`: this part alone; the last line is its JSON. */
export async function run(args: string[]): Promise<void> {
  const i = args.indexOf('--rounds');
  const figures = await measureDashboard({ rounds: i >= 0 ? Number(args[i + 1]) : undefined });
  console.log(JSON.stringify(figures));
}
