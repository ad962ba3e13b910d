// The dashboard with client certificates (the daemon's --tlsverify material): HTTPS, a
// client of the CA reads it without a token, a client without a certificate or with one
// of another CA never gets past the handshake.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/store/index.ts';
import { ManualWallClock } from '../../src/store/testing.ts';
import type { Manager } from '../../src/manager/manager.ts';
import { LiveFeed } from '../../src/dashboard/live-feed.ts';
import { startDashboard } from '../../src/dashboard/server.ts';
import { writeTlsFiles } from '../lib/tls-certs.ts';

/** Whether the request failed (a refused handshake), rather than answering. */
async function refused(p: Promise<number>): Promise<boolean> {
  try {
    await p;
    return false;
  } catch {
    return true;
  }
}

function get(url: string, opts: https.RequestOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    https.get(url, opts, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

test('client certificates of the CA read the dashboard; others fail the handshake', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-dash-tls-'));
  const timers = { now: () => Date.now(), setTimer: (ms: number, fn: () => void) => { const t = setTimeout(fn, ms); return () => clearTimeout(t); } };
  const store = new MemoryStore({ clock: new ManualWallClock() });
  const manager = { store, isLeader: true, leaderId: '', reachability: () => 'reachable' } as unknown as Manager;
  const feed = new LiveFeed({ manager: () => manager, nodeId: () => 'n1' }, { clock: timers });
  try {
    const files = await writeTlsFiles(dir, ['127.0.0.1']);
    const d = await startDashboard({
      addr: { ip: '127.0.0.1', port: 0 }, feed, api: (_req, res) => res.end(), logger: { info: () => {} },
      tls: { caCert: files.ca, cert: files.serverCert, key: files.serverKey },
    });
    try {
      assert.match(d.url, /^https:\/\//);
      assert.is(d.token, undefined, 'the certificate is the credential');
      const ca = readFileSync(files.ca);
      const mine = { ca, cert: readFileSync(files.clientCert), key: readFileSync(files.clientKey), agent: false };
      assert.is(await get(`${d.url}api/view`, mine), 200);
      assert.ok(await refused(get(`${d.url}api/view`, { ca, agent: false })), 'no client certificate');
      assert.ok(await refused(get(`${d.url}api/view`, { ca, cert: readFileSync(files.strangerCert), key: readFileSync(files.strangerKey), agent: false })), 'a stranger');
    } finally {
      await d.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
