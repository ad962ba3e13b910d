import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EarlyCreate } from './early-create.ts';
import type { ExecutorContext } from './executor.ts';
import type { TaskRecord } from './controller.ts';

test('stop (daemon detach) ends the wait for a netns still not made, and no create follows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'early-create-'));
  try {
    // A plain file where the netns will be bound: not an nsfs mount yet, so the create waits.
    const netnsPath = join(dir, 'ns');
    writeFileSync(netnsPath, '');
    const calls: string[] = [];
    const ctx = {
      monitor: async () => { calls.push('monitor'); throw new Error('unexpected'); },
      runtime: { create: async () => { calls.push('create'); return 1; }, delete: async () => { calls.push('delete'); } },
      paths: { bundle: () => dir },
    } as unknown as ExecutorContext;
    const rec = { netnsPath } as TaskRecord;
    const e = new EarlyCreate({ cid: 'c1', ctx, record: () => rec, persist: () => calls.push('persist'), fifos: () => ({ stdout: '', stderr: '' }) });
    e.begin();
    await e.stop();
    assert.equal(calls, []);
    assert.not.ok(rec.created);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
