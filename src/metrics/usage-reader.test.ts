import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFiles, UsageReader, type UsageTarget } from './usage-reader.ts';

const openFds = () => readdirSync('/proc/self/fd').length;

test('OpenFiles reads a file again through the same descriptor, whole, and closes what it is told', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-openfiles-'));
  const files = new OpenFiles();
  try {
    const a = join(dir, 'a');
    const big = join(dir, 'big');
    writeFileSync(a, 'one\n');
    writeFileSync(big, 'x'.repeat(100_000));
    const before = openFds();
    assert.is(files.read(a), 'one\n');
    writeFileSync(a, 'two, longer\n'); // same inode: the kept descriptor sees the new text
    assert.is(files.read(a), 'two, longer\n');
    assert.is(files.read(big)?.length, 100_000, 'a file larger than the buffer is read whole');
    assert.is(files.read(join(dir, 'missing')), undefined);
    assert.is(openFds(), before + 2);
    files.retain((p) => p === a);
    assert.is(openFds(), before + 1);
    files.close();
    assert.is(openFds(), before);
  } finally {
    files.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UsageReader reads a running process and closes its cgroup files once it is no longer a target', async () => {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const reader = new UsageReader({ connections: false });
  try {
    await once(child, 'spawn');
    const target: UsageTarget = {
      pid: child.pid!,
      id: { taskId: 't1', taskName: 'web.1.t1', serviceId: 's1', serviceName: 'web', nodeId: 'n1', containerId: 'c1', cgroup: '/x', image: 'busybox', cpuLimitNanos: 0 },
    };
    const before = openFds();
    const [first] = reader.read([target]);
    assert.is(first?.taskName, 'web.1.t1');
    assert.ok(first.memoryUsageBytes > 0, 'memory read from the cgroup');
    const held = openFds();
    assert.ok(held > before, 'cgroup files are kept open between readings');
    assert.is(reader.read([target]).length, 1);
    assert.is(openFds(), held, 'a second reading opens nothing more');
    assert.equal(reader.read([]), []);
    assert.is(openFds(), before, 'a task no longer read has its files closed');
  } finally {
    reader.close();
    child.kill('SIGKILL');
  }
});

test.run();
