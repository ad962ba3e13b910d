// Headless Chromium (Debian's, driven by playwright-core) looking at a lab host's
// dashboard. The dashboard listens on the host's own loopback, so the browser runs inside
// the host's namespaces: playwright starts a small wrapper that nsenters the host and
// execs Chromium (same PID, so the PID we kill at the end is the browser's). Shared by
// the dashboard lab test and the `observe` benchmark.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import type { Lab } from './lab.ts';

/** Debian's Chromium binary (its /usr/bin/chromium shell wrapper forks; this one is exec'd). */
export const CHROMIUM = '/usr/lib/chromium/chromium';

/** The port lab daemons serve the dashboard on (`--dashboard-addr 127.0.0.1:PORT`, each host's own loopback). */
export const DASHBOARD_PORT = 8088;

/** A browser looking at one host's dashboard. */
export interface DashboardBrowser {
  page: Page;
  browser: Browser;
  /** The Chromium browser process. */
  pid: number;
  url: string;
  /** Closes the browser; kills its PID if it is still there, and waits until it is gone. */
  close(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts Chromium inside `host` and opens `http://127.0.0.1:PORT/` there. Headless, with
 * `--no-sandbox` (we are root). The page is loaded when this resolves; the caller waits
 * for what it needs to see.
 */
export async function openDashboard(lab: Lab, host: string, opts: { port?: number; viewport?: { width: number; height: number } } = {}): Promise<DashboardBrowser> {
  const wrapper = join(lab.baseDir, `chromium-${host}.sh`);
  const enter = lab.enterCommand(host).map((a) => `'${a}'`).join(' ');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${enter} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  let server: BrowserServer | undefined;
  let browser: Browser | undefined;
  let pid = 0;
  const close = async () => {
    await browser?.close().catch(() => {});
    await server?.close().catch(() => {});
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    // Until it is reaped (a killed child stays a zombie for a moment).
    for (let i = 0; pid && alive(pid) && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
  };
  try {
    server = await chromium.launchServer({
      executablePath: wrapper,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
      timeout: 60_000,
    });
    pid = server.process().pid ?? 0;
    browser = await chromium.connect(server.wsEndpoint());
    // bypassCSP: the test's own page-side checks are strings, which the page's CSP (no eval) would refuse.
    const page = await browser.newPage({ viewport: opts.viewport ?? { width: 1280, height: 860 }, bypassCSP: true });
    const url = `http://127.0.0.1:${opts.port ?? DASHBOARD_PORT}/`;
    await page.goto(url, { waitUntil: 'load' });
    return { page, browser, pid, url, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// Page-side code is given as strings: the project's TypeScript has no DOM types.

/** First contentful paint of the page's last navigation, ms (Performance API). */
export function firstPaintMs(page: Page): Promise<number> {
  return page.evaluate(`(() => {
    const e = performance.getEntriesByName('first-contentful-paint')[0] ?? performance.getEntriesByType('paint')[0];
    return e ? e.startTime : NaN;
  })()`);
}

/** Page expression: the grid's chips of `service` wanted running (optionally only running ones). */
export function chipsExpr(service: string, running = false): string {
  return `[...document.querySelectorAll(${JSON.stringify(`#grid .col li.task[data-service="${service}"][data-desired="running"]${running ? '[data-state="running"]' : ''}`)})]`;
}

/** Waits until the grid shows `n` tasks of `service` wanted running (any state, or `running` only), none on host `notOn`. */
export async function waitGridTasks(page: Page, service: string, n: number, opts: { running?: boolean; timeoutMs: number; notOn?: string }): Promise<void> {
  const notOn = JSON.stringify(opts.notOn ?? null);
  await page.waitForFunction(`(() => {
    const chips = ${chipsExpr(service, opts.running)};
    if (${notOn} && chips.some((c) => c.closest('.col')?.dataset.nodeHost === ${notOn})) return false;
    return chips.length === ${n};
  })()`, undefined, { timeout: opts.timeoutMs, polling: 'raf' });
}
