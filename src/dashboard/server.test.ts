// The dashboard server on loopback over a MemoryStore: the page and its files, a view per
// store change on the SSE stream, read-only (405), foreign Host names refused (403), and
// the log tail handed to the control API with a fixed query.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { MemoryStore } from '../store/index.ts';
import { ManualWallClock, aNode, aService, aTask } from '../store/testing.ts';
import type { Manager } from '../manager/manager.ts';
import { LiveFeed } from './live-feed.ts';
import { startDashboard, type Dashboard } from './server.ts';
import type { ClusterView } from './view.ts';

const realTimers = { now: () => Date.now(), setTimer: (ms: number, fn: () => void) => { const t = setTimeout(fn, ms); return () => clearTimeout(t); } };
const quiet = { info: () => {} };

async function withDashboard(fn: (d: Dashboard, store: MemoryStore, apiCalls: string[]) => Promise<void>, opts: { token?: string } = {}): Promise<void> {
  let seq = 0;
  const store = new MemoryStore({ clock: new ManualWallClock(), rand: (n) => new Uint8Array(n).map(() => ++seq % 256) });
  const manager = { store, isLeader: true, leaderId: 'n1', reachability: () => 'reachable' } as unknown as Manager;
  const feed = new LiveFeed({ manager: () => manager, nodeId: () => 'n1' }, { clock: realTimers, coalesceMs: 5 });
  const apiCalls: string[] = [];
  const api: http.RequestListener = (req, res) => {
    apiCalls.push(req.url ?? '');
    res.end('ok');
  };
  const d = await startDashboard({ addr: { ip: '127.0.0.1', port: 0 }, feed, api, logger: quiet, token: opts.token, requireToken: opts.token !== undefined });
  try {
    await fn(d, store, apiCalls);
  } finally {
    await d.close();
  }
}

function get(url: string, opts: { method?: string; host?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; type: string; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: { ...(opts.host ? { Host: opts.host } : {}), ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads SSE `view` events until `until` accepts one. */
function nextView(url: string, until: (v: ClusterView) => boolean): { seen: Promise<ClusterView>; close: () => void } {
  let req: http.ClientRequest | undefined;
  const seen = new Promise<ClusterView>((resolve, reject) => {
    req = http.get(url, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const m = /^event: view\ndata: (.*)$/m.exec(ev);
          if (m) {
            const v = JSON.parse(m[1]) as ClusterView;
            if (until(v)) resolve(v);
          }
        }
      });
    });
    req.on('error', reject);
  });
  return { seen, close: () => req?.destroy() };
}

test('serves the page and its files, no others', async () => {
  await withDashboard(async (d) => {
    const page = await get(d.url);
    assert.is(page.status, 200);
    assert.match(page.type, /text\/html/);
    assert.match(page.body, /\/static\/app\.js/);
    assert.is((await get(`${d.url}static/app.js`)).status, 200);
    assert.is((await get(`${d.url}static/style.css`)).status, 200);
    assert.is((await get(`${d.url}static/..%2Fserver.ts`)).status, 404);
    assert.is((await get(`${d.url}nope`)).status, 404);
  });
});

test('the page with its files weighs under 200 KB', async () => {
  await withDashboard(async (d) => {
    let total = 0;
    for (const f of ['', 'static/app.js', 'static/style.css']) total += Buffer.byteLength((await get(`${d.url}${f}`)).body);
    assert.ok(total < 200 * 1024, `${total} bytes`);
  });
});

test('with a token: refused without it, opened once with ?token= for a cookie, or read with a bearer header', async () => {
  await withDashboard(async (d) => {
    assert.is(d.token, 's3cret');
    assert.is((await get(d.url)).status, 401);
    assert.is((await get(`${d.url}?token=wrong`)).status, 401);
    const opened = await get(`${d.url}?token=s3cret`);
    assert.is(opened.status, 303);
    assert.is(opened.headers.location, '/');
    const cookie = String(opened.headers['set-cookie']).split(';')[0];
    assert.match(String(opened.headers['set-cookie']), /HttpOnly/);
    assert.is((await get(`${d.url}api/view`, { headers: { Cookie: cookie } })).status, 200);
    assert.is((await get(`${d.url}api/view`, { headers: { Authorization: 'Bearer s3cret' } })).status, 200);
    assert.is((await get(`${d.url}api/view`, { headers: { Authorization: 'Bearer s3creT' } })).status, 401);
  }, { token: 's3cret' });
});

test('is read-only and refuses foreign Host names', async () => {
  await withDashboard(async (d) => {
    assert.is((await get(`${d.url}api/view`, { method: 'POST' })).status, 405);
    assert.is((await get(`${d.url}api/view`, { method: 'DELETE' })).status, 405);
    assert.is((await get(`${d.url}api/view`, { host: 'evil.example:80' })).status, 403);
  });
});

test('the live stream sends a new view after each change', async () => {
  await withDashboard(async (d, store) => {
    const { value: node } = await store.update((tx) => tx.create('node', aNode('h1', 'manager')));
    const { value: svc } = await store.update((tx) => tx.create('service', aService('web', 1)));
    const live = nextView(`${d.url}api/live`, (v) => v.tasks.some((t) => t.serviceName === 'web' && t.state === 'running'));
    try {
      const first = await (await get(`${d.url}api/view`)).body;
      assert.equal((JSON.parse(first) as ClusterView).services.map((s) => s.name), ['web']);
      await store.update((tx) => tx.create('task', { ...aTask(svc.ID, 1, node.ID), Status: { Timestamp: new Date().toISOString(), State: 'running', Message: 'started' } }));
      const v = await live.seen;
      assert.is(v.services[0].running, 1);
      assert.is(v.nodes[0].hostname, 'h1');
    } finally {
      live.close();
    }
  });
});

test('a log tail goes to the control API with a fixed query', async () => {
  await withDashboard(async (d, _store, calls) => {
    const r = await get(`${d.url}api/services/web/logs?tail=5&follow=0&since=x`);
    assert.is(r.status, 200);
    assert.equal(calls, ['/services/web/logs?stdout=1&stderr=1&follow=1&timestamps=1&details=1&tail=5']);
    assert.is((await get(`${d.url}api/services/web/logs?tail=all`)).status, 400, 'a tail the page never asks for is refused');
  });
});

test.run();
