import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configSpecFromBody, fileWithDefaults, labelsOnlyUpdate, secretSpecFromBody, targetPath } from './secret-spec.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const throwsMsg = (fn: () => unknown, re: RegExp) => {
  try {
    fn();
  } catch (err) {
    assert.match((err as Error).message, re);
    return err as Error;
  }
  assert.unreachable(`expected ${re}`);
};

test('secret names follow swarmkit\'s rule, not the service rule', () => {
  assert.is(secretSpecFromBody({ Name: 'a.b-c_d', Data: b64('x') }).Name, 'a.b-c_d');
  for (const bad of ['', '-a', 'a-', 'a b', 'x'.repeat(65)]) throwsMsg(() => secretSpecFromBody({ Name: bad, Data: b64('x') }), /name/);
});

test('secret data is 1 byte to under 500 KiB; errors never quote it', () => {
  throwsMsg(() => secretSpecFromBody({ Name: 'a', Data: '' }), /larger than 0 and less than 512000 bytes/);
  const err = throwsMsg(() => secretSpecFromBody({ Name: 'a', Data: b64('s3cr3t'.repeat(90_000)) }), /less than 512000/);
  assert.not.ok(err!.message.includes('s3cr3t'));
  throwsMsg(() => secretSpecFromBody({ Name: 'a', Data: 'not base64!' }), /not valid base64/);
  assert.is(configSpecFromBody({ Name: 'a', Data: b64('x'.repeat(600 * 1024)) }).Name, 'a', 'configs may be bigger');
});

test('only the golang template driver is accepted; external drivers are refused', () => {
  assert.equal(secretSpecFromBody({ Name: 'a', Data: b64('x'), Templating: { Name: 'golang' } }).Templating, { Name: 'golang' });
  throwsMsg(() => configSpecFromBody({ Name: 'a', Data: b64('x'), Templating: { Name: 'jinja' } }), /unsupported template driver/);
  const e = throwsMsg(() => secretSpecFromBody({ Name: 'a', Data: b64('x'), Driver: { Name: 'vault' } }), /not supported/);
  assert.is((e as Error & { status: number }).status, 501);
});

test('updates change labels only', () => {
  const cur = { Name: 'a', Labels: {}, Data: b64('x') };
  assert.equal(labelsOnlyUpdate('secret', cur, { Name: 'a', Labels: { k: 'v' } }).Labels, { k: 'v' });
  assert.is(labelsOnlyUpdate('secret', cur, { Name: 'a', Data: b64('x') }).Data, b64('x'), 'same data passes');
  throwsMsg(() => labelsOnlyUpdate('secret', cur, { Name: 'b' }), /only updates to Labels are allowed/);
  throwsMsg(() => labelsOnlyUpdate('secret', cur, { Name: 'a', Data: b64('y') }), /only updates to Labels are allowed/);
});

test('file references get docker\'s defaults and target rules', () => {
  assert.equal(fileWithDefaults('secret', 'S', 'pw', undefined), { Name: 'pw', UID: '0', GID: '0', Mode: 0o444 });
  assert.equal(fileWithDefaults('secret', 'S', 'pw', { Name: 'x', UID: '5', Mode: 0o400 }), { Name: 'x', UID: '5', GID: '0', Mode: 0o400 });
  throwsMsg(() => fileWithDefaults('secret', 'S', 'pw', { Name: '../etc/passwd' }), /\.\./);
  throwsMsg(() => fileWithDefaults('config', 'S', 'pw', { UID: 'root' }), /numeric/);
  assert.is(targetPath('secret', 'pw'), '/run/secrets/pw');
  assert.is(targetPath('config', 'app.conf'), '/app.conf');
  assert.is(targetPath('secret', '/etc/pw'), '/etc/pw');
});

test.run();
