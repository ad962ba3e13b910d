import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withServer } from '../daemon/http/test-server.ts';
import { Router, compareVersions } from './router.ts';
import { ConflictError } from '../api/errors.ts';

async function call(port: number, method: string, path: string, body?: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

test('routes by method and pattern, with and without a version prefix', async () => {
  const router = new Router().get('/things/:id', ({ params, apiVersion }) => ({ id: params.id, apiVersion }));
  await withServer(router, async (port) => {
    assert.equal(JSON.parse((await call(port, 'GET', '/things/abc')).text), { id: 'abc', apiVersion: '1.41' });
    assert.equal(JSON.parse((await call(port, 'GET', '/v1.40/things/x%20y')).text), { id: 'x y', apiVersion: '1.40' });
  });
});

test('unknown path is 404 and wrong method is 405, both as {"message"}', async () => {
  const router = new Router().get('/a', () => ({}));
  await withServer(router, async (port) => {
    const nf = await call(port, 'GET', '/nope');
    assert.is(nf.status, 404);
    assert.match(JSON.parse(nf.text).message, /page not found/);
    const na = await call(port, 'DELETE', '/a');
    assert.is(na.status, 405);
    assert.ok(JSON.parse(na.text).message);
  });
});

test('a stray % in the path is 400 with Docker\'s error shape, not 500', async () => {
  const router = new Router().get('/things/:id', ({ params }) => ({ id: params.id }));
  await withServer(router, async (port) => {
    for (const path of ['/things/a%zz', '/things/%', '/v1.41/things/%E0%A4%A', '/things/a%']) {
      const r = await call(port, 'GET', path);
      assert.is(r.status, 400, path);
      assert.match(JSON.parse(r.text).message, /malformed percent-encoding/, path);
    }
    assert.equal(JSON.parse((await call(port, 'GET', '/things/a%25b')).text), { id: 'a%b' });
  });
});

test('API errors keep their status; other errors become 500', async () => {
  const router = new Router()
    .post('/conflict', () => {
      throw new ConflictError('update out of sequence');
    })
    .get('/boom', () => {
      throw new Error('kaputt');
    });
  await withServer(router, async (port) => {
    const c = await call(port, 'POST', '/conflict');
    assert.is(c.status, 409);
    assert.equal(JSON.parse(c.text), { message: 'update out of sequence' });
    const b = await call(port, 'GET', '/boom');
    assert.is(b.status, 500);
    assert.equal(JSON.parse(b.text), { message: 'kaputt' });
  });
});

test('a malformed JSON body is a 400 that names the problem', async () => {
  const router = new Router().post('/echo', async (ctx) => ({ got: await ctx.body() }));
  await withServer(router, async (port) => {
    const bad = await call(port, 'POST', '/echo', '{"a":');
    assert.is(bad.status, 400);
    assert.match(JSON.parse(bad.text).message, /invalid JSON body/);
    const good = await call(port, 'POST', '/echo', '{"a":1}');
    assert.equal(JSON.parse(good.text), { got: { a: 1 } });
  });
});

test('a client version older than the minimum is refused', async () => {
  const router = new Router().get('/a', () => ({}));
  await withServer(router, async (port) => {
    const r = await call(port, 'GET', '/v1.12/a');
    assert.is(r.status, 400);
    assert.match(JSON.parse(r.text).message, /too old/);
  });
});

test('every response carries the API-Version header', async () => {
  const router = new Router().get('/a', () => ({}));
  await withServer(router, async (port) => {
    assert.is((await call(port, 'GET', '/a')).headers.get('api-version'), '1.41');
  });
});

test('compareVersions orders numerically', () => {
  assert.ok(compareVersions('1.9', '1.41') < 0);
  assert.ok(compareVersions('1.41', '1.41') === 0);
  assert.ok(compareVersions('2.0', '1.41') > 0);
});

test.run();
