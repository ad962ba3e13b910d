import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runtimeRefusal } from './runtime.ts';
import { decodeWaitStatus, signalNumber } from './monitor.ts';

test('crun is refused on a hybrid host whose v2 hierarchy lists controllers; runc never', () => {
  assert.match(runtimeRefusal('crun', 'hugetlb\n') ?? '', /hybrid cgroup/);
  assert.is(runtimeRefusal('/usr/bin/crun', ''), undefined);
  assert.is(runtimeRefusal('crun', undefined), undefined);
  assert.is(runtimeRefusal('runc', 'hugetlb'), undefined);
});

test('wait statuses decode to exit codes, and signals to 128+N with a name', () => {
  assert.equal(decodeWaitStatus(3 << 8), { exitCode: 3 });
  assert.equal(decodeWaitStatus(9), { exitCode: 137, signal: 'SIGKILL' });
  assert.equal(decodeWaitStatus(15), { exitCode: 143, signal: 'SIGTERM' });
  assert.is(signalNumber('TERM'), 15);
  assert.is(signalNumber('SIGKILL'), 9);
  assert.is(signalNumber('10'), 10);
  assert.throws(() => signalNumber('SIGNOPE'));
});

test.run();
