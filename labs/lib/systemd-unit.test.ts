import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseUnit, restartsAfter, unitValue } from './systemd-unit.ts';

test('keys repeat, an empty value resets, comments and continuations are read as systemd does', () => {
  const u = parseUnit('# c\n[Unit]\nAfter=a.target\nAfter=b.target\n[Service]\nExecStart=/bin/x \\\n  --flag\nEnvironment=A=1\nEnvironment=\n; c\nEnvironment=B=2\n');
  assert.equal(u.get('Unit')!.get('After'), ['a.target', 'b.target']);
  assert.is(unitValue(u, 'Service', 'ExecStart'), '/bin/x    --flag');
  assert.equal(u.get('Service')!.get('Environment'), ['B=2']);
});

test('Restart=on-failure: kill -9 and a failing exit restart; exit 0 and SIGTERM do not', () => {
  assert.ok(restartsAfter('on-failure', { signal: 'SIGKILL' }));
  assert.ok(restartsAfter('on-failure', { code: 1 }));
  assert.not.ok(restartsAfter('on-failure', { code: 0 }));
  assert.not.ok(restartsAfter('on-failure', { signal: 'SIGTERM' }));
  assert.ok(restartsAfter('on-abnormal', { signal: 'SIGKILL' }));
  assert.not.ok(restartsAfter('on-abnormal', { code: 1 }));
  assert.not.ok(restartsAfter('no', { signal: 'SIGKILL' }));
});

test.run();
