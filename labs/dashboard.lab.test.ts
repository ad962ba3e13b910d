// The web dashboard in a real browser on a 3-host lab (root; issue 18, items 4 and 5):
// Debian's headless Chromium, driven by playwright-core, opens h1's dashboard
// (`--dashboard-addr 127.0.0.1:8088`, h1's own loopback) and checks the nodes and services
// it shows; a service's log tail opens from the keyboard; a scale shows in the grid
// within 1 s of the scale call returning, without a reload; a rolling update shows its
// progress; a failed task shows; a killed host goes down and its tasks move.
// Screenshots land in labs/test/out/dashboard/ for a person to look at.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Service, ServiceSpec } from '../src/api/types/service.ts';
import { withLab } from './lib/lab.ts';
import { REPO_ROOT } from './lib/daemon.ts';
import { client, formSwarm, IMAGE, scale, waitRunning } from './lib/swarm-services.ts';
import { chipsExpr, DASHBOARD_PORT, firstPaintMs, openDashboard, waitGridTasks } from './lib/dashboard-browser.ts';

const OUT = join(REPO_ROOT, 'labs', 'test', 'out', 'dashboard');
const IMAGE_V2 = IMAGE.replace(/:v1$/, ':v2');
const SCRIPT = 'i=0; while true; do echo "web line $i on $(hostname)"; i=$((i+1)); sleep 0.5; done';
/** The target: a scale shows in the grid within this long of the scale call returning. */
const SCALE_DEADLINE_MS = 1000;

function spec(name: string, mode: ServiceSpec['Mode'], command: string[]): ServiceSpec {
  return { Name: name, Labels: {}, Mode: mode, TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: command, StopGracePeriod: 1e9 } } };
}

test('dashboard shows the cluster and follows a scale and a host loss live', async () => {
  // Only this run's pictures: none left over from an earlier one.
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  let browserPid = 0;
  await withLab({ hosts: 3, prefix: 'shoaldsh', daemons: { extraArgs: ['--dashboard-addr', `127.0.0.1:${DASHBOARD_PORT}`] } }, async (lab) => {
    await formSwarm(lab);
    const h1 = client(lab, 'h1');
    await h1.post('/services/create', spec('web', { Replicated: { Replicas: 3 } }, ['sh', '-c', SCRIPT]));
    await h1.post('/services/create', spec('cache', { Global: {} }, ['sleep', '3600']));
    await waitRunning(lab, 'web', 3);
    await waitRunning(lab, 'cache', 3);

    const b = await openDashboard(lab, 'h1');
    browserPid = b.pid;
    try {
      const { page } = b;
      const json = async <T>(expr: string): Promise<T> => page.evaluate(expr) as Promise<T>;

      // Nodes and services as the store has them.
      await page.waitForSelector('#nodes tbody tr[data-node-host="h3"][data-state="ready"]', { timeout: 10_000 });
      await waitGridTasks(page, 'web', 3, { running: true, timeoutMs: 10_000 });
      const nodes = await json<string[][]>(`[...document.querySelectorAll('#nodes tbody tr')].map((r) => [r.dataset.nodeHost, r.dataset.state, r.children[1].textContent])`);
      assert.equal(nodes.map((n) => n[0]), ['h1', 'h2', 'h3']);
      assert.ok(nodes.every((n) => n[1] === 'ready'), JSON.stringify(nodes));
      assert.match(nodes[0][2], /manager ★ leader/);
      assert.equal(nodes.slice(1).map((n) => n[2]), ['worker', 'worker']);
      const services = await json<string[][]>(`[...document.querySelectorAll('#services tbody tr')].map((r) => [...r.children].slice(0, 4).map((c) => c.textContent))`);
      assert.equal(services, [['cache', 'global', '3/3', IMAGE], ['web', 'replicated', '3/3', IMAGE]]);
      assert.is(await json<number>(`${chipsExpr('cache', true)}.length`), 3);
      const paintMs = await firstPaintMs(page);
      assert.ok(paintMs > 0, `first contentful paint measured: ${paintMs}`);
      await page.screenshot({ path: join(OUT, '01-cluster.png'), fullPage: true, animations: 'disabled' });

      // The log tail, opened from the keyboard: arrows to the web row, Enter.
      await page.focus('#services tbody tr[data-service="cache"]');
      await page.keyboard.press('ArrowDown');
      assert.is(await json<string>('document.activeElement.dataset.service'), 'web');
      await page.keyboard.press('Enter');
      await page.waitForFunction(`/\\d\\d:\\d\\d:\\d\\d web\\.\\d \\| web line \\d+ on /.test(document.querySelector('#logs').textContent)`, undefined, { timeout: 15_000 });
      assert.is(await json<string>(`document.querySelector('#services tbody tr[data-service="web"]').getAttribute('aria-current')`), 'true');
      await page.screenshot({ path: join(OUT, '02-logs.png'), fullPage: true, animations: 'disabled' });

      // A scale shows without a reload, within the deadline from the scale call returning.
      await page.evaluate('window.__sameDocument = true');
      await scale(lab, 'web', 6);
      const t0 = Date.now();
      await waitGridTasks(page, 'web', 6, { timeoutMs: SCALE_DEADLINE_MS });
      const scaleMs = Date.now() - t0;
      assert.is(await json<boolean>('window.__sameDocument === true'), true, 'no reload');
      await waitGridTasks(page, 'web', 6, { running: true, timeoutMs: 60_000 });
      await page.waitForSelector('#services tbody tr[data-service="web"] td.replicas[data-running="6"]', { timeout: 10_000 });
      // CPU and memory sparklines from the cluster's usage report (a point every 2 s).
      await page.waitForSelector('#services tbody tr[data-service="web"] svg.spark', { timeout: 15_000 });
      await page.waitForSelector('#nodes tbody tr[data-node-host="h2"] svg.spark', { timeout: 5_000 });
      await page.screenshot({ path: join(OUT, '03-scaled.png'), fullPage: true, animations: 'disabled' });

      // A rolling update shows its progress (UpdateStatus and tasks of the new spec), then completes.
      const web = await h1.get<Service>('/services/web');
      await h1.post(`/services/${web.ID}/update`, {
        ...web.Spec, TaskTemplate: { ...web.Spec.TaskTemplate, ContainerSpec: { ...web.Spec.TaskTemplate.ContainerSpec, Image: IMAGE_V2 } },
        UpdateConfig: { Parallelism: 2, Delay: 1e9, Order: 'stop-first' },
      } satisfies ServiceSpec, { query: { version: web.Version.Index } });
      await page.waitForSelector('#services tbody tr[data-service="web"] td.upd-updating', { timeout: 10_000 });
      await page.screenshot({ path: join(OUT, '04-updating.png'), fullPage: true, animations: 'disabled' });
      await page.waitForSelector('#services tbody tr[data-service="web"] td.upd-completed', { timeout: 120_000 });
      assert.match(await json<string>(`document.querySelector('#services tbody tr[data-service="web"] td.upd-completed').textContent`), /completed 6\/6/);
      assert.match(await json<string>(`document.querySelector('#services tbody tr[data-service="web"] td.image').textContent`), /bb:v2$/);
      await waitGridTasks(page, 'web', 6, { running: true, timeoutMs: 30_000 });

      // A task that fails shows as failed in the grid (red, with its error), beside its replacement.
      const { ID: crashId } = await h1.post<{ ID: string }>('/services/create', spec('crash', { Replicated: { Replicas: 1 } }, ['sh', '-c', 'sleep 1; exit 3']));
      await page.waitForSelector('#grid li.task[data-service="crash"][data-state="failed"]', { timeout: 30_000 });
      assert.match(await json<string>(`document.querySelector('#grid li.task[data-service="crash"][data-state="failed"]').getAttribute('aria-label')`), /crash\.1 failed: .*exit/i);
      await page.screenshot({ path: join(OUT, '05-failed.png'), fullPage: true, animations: 'disabled' });
      await h1.delete(`/services/${crashId}`);
      await page.waitForFunction(`!document.querySelector('#services tbody tr[data-service="crash"]')`, undefined, { timeout: 10_000 });

      // Host loss: h3 goes down and its web tasks move to h1 and h2.
      await lab.killDaemon('h3');
      await page.waitForSelector('#grid .col[data-node-host="h3"][data-state="down"]', { timeout: 90_000 });
      await page.waitForSelector('#nodes tbody tr[data-node-host="h3"][data-state="down"]', { timeout: 5_000 });
      await waitGridTasks(page, 'web', 6, { running: true, notOn: 'h3', timeoutMs: 90_000 });
      assert.is(await json<boolean>('window.__sameDocument === true'), true, 'still no reload');
      await page.screenshot({ path: join(OUT, '06-host-down.png'), fullPage: true, animations: 'disabled' });

      // A phone: one column, nothing wider than the screen but the tables' own scrollers.
      await page.setViewportSize({ width: 390, height: 844 });
      assert.ok(await json<number>('document.documentElement.scrollWidth') <= 390, 'no sideways scrolling of the page');
      await page.screenshot({ path: join(OUT, '07-phone.png'), fullPage: true, animations: 'disabled' });
      console.log(JSON.stringify({ dashboard_paint_ms: Math.round(paintMs), dashboard_scale_ms: scaleMs, screenshots: OUT }));
    } catch (err) {
      // What the page showed when it went wrong, for the person reading the failure.
      await b.page.screenshot({ path: join(OUT, '99-failure.png'), fullPage: true, animations: 'disabled' }).catch(() => {});
      const text = await b.page.evaluate('document.body.innerText').catch(() => '');
      throw new Error(`${(err as Error).message}\n--- page text ---\n${String(text).slice(0, 3000)}`);
    } finally {
      await b.close();
    }
  });
  assert.ok(browserPid > 0);
  assert.throws(() => process.kill(browserPid, 0), /ESRCH/, 'the browser is gone');
});

test.run();
