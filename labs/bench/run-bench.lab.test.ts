// `npm run bench` turns SIGINT/SIGTERM into an orderly abort (run-bench.ts): a bench-like
// child (fixtures/abort-bench.ts: three network namespaces and a child process) signalled
// mid-way removes them in its finally and exits 128 + the signal's number; one that
// ignores the abort still cleans up when its work ends. Needs root (ip netns).
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isAlive, stopPid } from '../lib/procs.ts';

const FIXTURE = new URL('./fixtures/abort-bench.ts', import.meta.url).pathname;

const netnsWith = (tag: string) =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${tag}-`));

/** Starts the fixture, waits for READY, signals it, and resolves with what happened; cleans up after it whatever the outcome. */
async function signalled(tag: string, mode: 'abortable' | 'ignore', sig: NodeJS.Signals) {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, tag, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let sleeper: number | undefined;
  try {
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    child.stderr!.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /READY (\d+)/.exec(out);
        if (m) {
          sleeper = Number(m[1]);
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`fixture ended before READY: ${out}`)));
    });
    assert.is(netnsWith(tag).length, 3, 'the bench made its namespaces');
    assert.ok(isAlive(sleeper), 'the bench runs its child');
    child.kill(sig);
    const end = await exited;
    return { ...end, out, leftNetns: netnsWith(tag), sleeperAlive: isAlive(sleeper) };
  } finally {
    if (child.pid) await stopPid(child.pid, 0);
    if (sleeper) await stopPid(sleeper, 0);
    for (const n of netnsWith(tag)) spawnSync('ip', ['netns', 'del', n]);
  }
}

test('SIGTERM mid-way: the bench\'s finally runs (namespaces and child gone), exit 143', async () => {
  const r = await signalled(`dptab${process.pid}`, 'abortable', 'SIGTERM');
  assert.equal([r.code, r.signal], [143, null], r.out);
  assert.equal(r.leftNetns, []);
  assert.is(r.sleeperAlive, false);
  assert.match(r.out, /bench: SIGTERM: aborting/);
  assert.match(r.out, /CLEANED/);
  assert.not.match(r.out, /BenchAbortedError/, 'the abort is not reported as a crash');
});

test('SIGINT to a bench that ignores the abort: it ends its work, cleans up, exit 130', async () => {
  const r = await signalled(`dptac${process.pid}`, 'ignore', 'SIGINT');
  assert.equal([r.code, r.signal], [130, null], r.out);
  assert.equal(r.leftNetns, []);
  assert.is(r.sleeperAlive, false);
  assert.match(r.out, /CLEANED/);
});

test.run();
