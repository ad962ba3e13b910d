// Who may read the dashboard: loopback Host names only without a token; the token, as a
// bearer header or the cookie, on any other address.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorize, cookieValue, isLoopback, TOKEN_COOKIE } from './auth.ts';

test('loopback addresses are told apart', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(a), a);
  for (const a of ['0.0.0.0', '192.168.100.11', '::', '10.0.0.1']) assert.not.ok(isLoopback(a), a);
});

test('without a token only loopback Host names pass (no DNS rebinding)', () => {
  for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'LOCALHOST']) assert.ok(authorize({ host }, undefined).ok, host);
  for (const host of ['evil.example:8080', '192.168.1.5:8080', '', 'localhost.evil.example']) {
    const d = authorize({ host }, undefined);
    assert.equal(d.ok ? 0 : d.status, 403, host);
  }
});

test('with a token a request needs it as bearer or cookie', () => {
  const token = 'abc123';
  assert.ok(authorize({ host: 'x', authorization: 'Bearer abc123' }, token).ok);
  assert.ok(authorize({ host: 'x', cookie: `a=b; ${TOKEN_COOKIE}=abc123` }, token).ok);
  for (const p of [{}, { authorization: 'Bearer abc124' }, { authorization: 'Bearer abc1234' }, { cookie: `${TOKEN_COOKIE}=nope` }, { authorization: 'Basic abc123' }]) {
    const d = authorize({ host: '127.0.0.1', ...p }, token);
    assert.equal(d.ok ? 0 : d.status, 401, JSON.stringify(p));
  }
});

test('cookie values are found by name', () => {
  assert.is(cookieValue('a=1; b=two%20x', 'b'), 'two x');
  assert.is(cookieValue('ab=1', 'b'), undefined);
  assert.is(cookieValue(undefined, 'b'), undefined);
});

test.run();
