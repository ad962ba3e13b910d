// The control API on TCP (src/daemon/http/tcp-host.ts) on loopback, with the shoal
// client (src/api/client.ts): client certificates required under TLS; a TCP host without
// TLS only with the insecure flag, and then a loud warning. No root needed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ApiClient } from '../../src/api/client.ts';
import type { Logger } from '../../src/common/logger.ts';
import { closeServer } from '../../src/daemon/http/unix-server.ts';
import { listenTcp } from '../../src/daemon/http/tcp-host.ts';
import { writeTlsFiles } from '../lib/tls-certs.ts';

function recordingLogger(lines: string[]): Logger {
  const log = (level: string) => (m: string, f?: Record<string, unknown>) => lines.push(`${level} ${m} ${JSON.stringify(f ?? {})}`);
  const l: Logger = { info: log('info'), warn: log('warn'), error: log('error'), debug() {}, child: () => l };
  return l;
}

const ping: http.RequestListener = (_req, res) => res.end('OK');

async function withServer(opts: Parameters<typeof listenTcp>[1], fn: (port: number) => Promise<void>) {
  const server = await listenTcp(ping, opts);
  try {
    await fn((server.address() as { port: number }).port);
  } finally {
    await closeServer(server);
  }
}

test('with --tlsverify only a client certificate the CA signed gets an answer', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-tcp-host-'));
  try {
    const t = await writeTlsFiles(dir, ['127.0.0.1']);
    const lines: string[] = [];
    await withServer({ host: '127.0.0.1', port: 0, tls: { caCert: t.ca, cert: t.serverCert, key: t.serverKey }, logger: recordingLogger(lines) }, async (port) => {
      const host = `tcp://127.0.0.1:${port}`;
      const pem = (p: string) => readFileSync(p);
      const good = new ApiClient(host, { tls: { ca: pem(t.ca), cert: pem(t.clientCert), key: pem(t.clientKey) } });
      const res = await good.request('GET', '/_ping');
      assert.is(res.status, 200);
      assert.is(res.body.toString(), 'OK');
      const stranger = new ApiClient(host, { tls: { ca: pem(t.ca), cert: pem(t.strangerCert), key: pem(t.strangerKey) } });
      await stranger.request('GET', '/_ping').then(() => assert.unreachable('a certificate of another CA was accepted'), () => {});
      // Plain HTTP to a TLS port: the server never answers it as HTTP.
      const plain = new ApiClient(host);
      await plain.request('GET', '/_ping', { timeoutMs: 5000 }).then((r) => assert.is.not(r.status, 200), () => {});
    });
    assert.ok(lines.some((l) => l.startsWith('warn api: tls client refused')), lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without TLS: refused unless insecure, which serves plain HTTP and warns loudly', async () => {
  const lines: string[] = [];
  await listenTcp(ping, { host: '127.0.0.1', port: 0, logger: recordingLogger(lines) }).then(
    () => assert.unreachable('a tcp host without TLS was served'),
    (err: Error) => assert.match(err.message, /needs --tlsverify or --insecure-tcp-host/),
  );
  await withServer({ host: '127.0.0.1', port: 0, insecure: true, logger: recordingLogger(lines) }, async (port) => {
    const res = await new ApiClient(`tcp://127.0.0.1:${port}`).request('GET', '/_ping');
    assert.is(res.status, 200);
  });
  assert.ok(lines.some((l) => /^warn .*WITHOUT TLS OR AUTHENTICATION/.test(l)), lines.join('\n'));
});

test('unreadable certificate files are named in the error', async () => {
  await listenTcp(ping, { host: '127.0.0.1', port: 0, tls: { caCert: '/nonexistent/ca.pem', cert: '/x', key: '/y' }, logger: recordingLogger([]) }).then(
    () => assert.unreachable('served without its certificates'),
    (err: Error) => assert.match(err.message, /cannot read --tlscacert \/nonexistent\/ca\.pem: ENOENT/),
  );
});

test.run();
