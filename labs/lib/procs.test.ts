import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childrenOf } from './procs.ts';

test('childrenOf lists a child of ours while it runs, and not once it is reaped', async () => {
  // A command name with ") 1 " in it (the kernel names it after the file run): the
  // parent field is found after the last ')', not the first.
  const dir = mkdtempSync(join(tmpdir(), 'procs-test-'));
  symlinkSync('/bin/sleep', join(dir, 'a) 1 b'));
  const child = spawn(join(dir, 'a) 1 b'), ['60'], { stdio: 'ignore' });
  try {
    assert.ok(child.pid);
    assert.ok(childrenOf().includes(child.pid!), 'listed as ours');
    assert.not.ok(childrenOf(1).includes(child.pid!), 'not init\'s');
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
  assert.not.ok(childrenOf().includes(child.pid!), 'gone once reaped');
});

test.run();
