import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkUpdate } from './update-config.ts';

/** `docker update --memory 96m` as the CLI sends it. */
const body = (x: Record<string, unknown>) => ({ BlkioWeight: 0, CpuShares: 0, Memory: 0, NanoCpus: 0, CpuQuota: 0, MemorySwap: 0, PidsLimit: null, RestartPolicy: { Name: '', MaximumRetryCount: 0 }, ...x });

test('memory, CPUs and the PIDs limit change; the rest stays', () => {
  assert.equal(checkUpdate(body({ Memory: 96 << 20 }), { memoryBytes: 64 << 20, pidsLimit: 10 }), { memoryBytes: 96 << 20, pidsLimit: 10 });
  assert.equal(checkUpdate(body({ NanoCpus: 1e9, PidsLimit: -1 }), { pidsLimit: 10 }), { nanoCpus: 1e9 });
});

test('other limits are refused naming the field', () => {
  assert.throws(() => checkUpdate(body({ CpuShares: 512 }), {}), /^CpuShares:/);
  assert.throws(() => checkUpdate(body({ RestartPolicy: { Name: 'always' } }), {}), /RestartPolicy/);
  assert.throws(() => checkUpdate(body({ Memory: 5 }), {}), /Memory: must be/);
});

test.run();
