import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { NodeMetrics } from './registry.ts';
import { serveMetrics } from './server.ts';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    }).on('error', reject).end();
  });
}

test('the listener serves /metrics in text format and nothing else', async () => {
  const metrics = new NodeMetrics({ usage: { containers: () => [], tasks: () => [] } });
  const server = await serveMetrics(metrics, { host: '127.0.0.1', port: 0 });
  try {
    const { port } = server.address;
    const ok = await get(port, '/metrics');
    assert.is(ok.status, 200);
    assert.match(ok.type, /^text\/plain; version=0\.0\.4/);
    assert.match(ok.body, /# TYPE shoal_process_cpu_seconds_total counter/);
    assert.is((await get(port, '/')).status, 404);
    assert.is((await get(port, '/metrics', 'POST')).status, 405);
  } finally {
    await server.close();
  }
});

test('a taken address is refused with the address in the message', async () => {
  const metrics = new NodeMetrics({ usage: { containers: () => [], tasks: () => [] }, processMetrics: false });
  const first = await serveMetrics(metrics, { host: '127.0.0.1', port: 0 });
  try {
    await serveMetrics(metrics, { host: '127.0.0.1', port: first.address.port });
    assert.unreachable('second listener started');
  } catch (err) {
    assert.match((err as Error).message, new RegExp(`metrics: cannot listen on 127\\.0\\.0\\.1:${first.address.port}: EADDRINUSE`));
  } finally {
    await first.close();
  }
});

test.run();
