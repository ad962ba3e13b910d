import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capabilityNumbers, ExecHelpers } from './exec-helper.ts';

// A PID no process has (above the kernel's pid_max ceiling of 2^22).
const NO_PID = 4_194_305;

test('no helper for a container it cannot serve: the exec falls back to runc, the reason is logged once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-exec-helper-'));
  const logs: string[] = [];
  const helpers = new ExecHelpers({ log: (m) => logs.push(m) });
  try {
    const target = { cid: 'c1', pid: NO_PID, socket: join(dir, 'h.sock'), config: join(dir, 'config.json') };
    assert.is(await helpers.get(target), undefined);
    assert.is(await helpers.get(target), undefined, 'not retried for the same init');
    assert.is(logs.length, 1);
    assert.match(logs[0], /exec helper: c1: cannot serve \(exit 3\): .*using runc exec/);
  } finally {
    helpers.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no helper without a python interpreter', async () => {
  const logs: string[] = [];
  const helpers = new ExecHelpers({ python: '/nonexistent/python3', log: (m) => logs.push(m) });
  assert.is(await helpers.get({ cid: 'c2', pid: 1, socket: '/nonexistent/h.sock', config: '/nonexistent/config.json' }), undefined);
  assert.match(logs.join('\n'), /c2: cannot serve/);
  helpers.close();
});

test('capability names become bit numbers; an unknown name means no helper for that exec', () => {
  assert.equal(capabilityNumbers({ bounding: ['CAP_CHOWN', 'CAP_NET_ADMIN'], ambient: [] }), { bounding: [0, 12], ambient: [] });
  assert.is(capabilityNumbers(undefined), undefined);
  assert.is(capabilityNumbers({ bounding: ['CAP_FUTURE'] }), null);
});

test.run();
