// Issue 19 item 2: linearizability across real raft-ts processes (WebSocket transport with
// mutual TLS, fsynced disk WAL) under kill -9, pauses, isolation and one-way cuts, checked
// with the simulation's checker; and proof that the same pipeline catches a broken server.
// Replay a run with `npm run lin -- --seconds 25 --seed 11` (history under /tmp/shoal-raft-lin/).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prng } from '../../src/common/prng.ts';
import { LinCluster } from './cluster.ts';
import { runLinearizability, verdict, Workload } from './run.ts';

const SEED = 11;

test(`real processes under faults, seed ${SEED}: every history is linearizable`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-raft-lin-'));
  try {
    const r = await runLinearizability({ seed: SEED, durationMs: 25_000, clients: 4, keys: 5, dir, log: (l) => console.log(`  ${l}`) });
    console.log(`  ${r.operations} operations (${r.open} open), ${r.faults.length} faults, checked in ${r.checkMs} ms`);
    assert.ok(r.faults.length >= 6, `${r.faults.length} faults`);
    assert.ok(r.completed >= 300, `the workload made progress: ${r.completed} answered`);
    assert.ok(r.decided, 'the checker decided');
    assert.ok(r.ok, `not linearizable (history ${r.historyFile}):\n${r.failure?.join('\n')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a member that reads without the ReadIndex barrier is caught by the checker', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-raft-lin-bug-'));
  const cluster = new LinCluster(dir, 'stale-reads');
  try {
    await cluster.start();
    const leader = await cluster.leader();
    const follower = (leader + 1) % 3;
    const work = new Workload(cluster, prng(1), ['k']);
    assert.ok(await work.run(work.newClientId(), 1, { op: 'put', key: 'k', value: 'a' }, leader), 'first put answered');
    // The follower has applied 'a' once it reports the put's index as applied.
    const leaderApplied = (await cluster.status(leader))!.applied;
    for (let i = 0; i < 200 && ((await cluster.status(follower))?.applied ?? 0) < leaderApplied; i++) await new Promise((r) => setTimeout(r, 25));
    cluster.proxies.isolate(cluster.ids[follower]);
    assert.ok(await work.run(work.newClientId(), 1, { op: 'put', key: 'k', value: 'b' }, leader), 'second put answered by the majority');
    const read = await work.run(work.newClientId(), 1, { op: 'get', key: 'k' }, follower);
    assert.equal(read, { value: 'a' }, 'the isolated follower served its stale local value');
    const v = verdict(work.history.operations());
    assert.is(v.ok, false, 'the checker must refuse the stale read');
    assert.ok(v.failure?.some((l) => l.includes('get(k) -> "a"')), v.failure?.join('\n'));
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
