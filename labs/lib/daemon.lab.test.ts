// startDaemon's failures say what happened: an exit (with its code or signal) is not a
// /_ping timeout (the daemon ran and was killed by us), and the output quoted is this
// daemon's own, not an earlier daemon's lines from the same appended log. Placeholder
// daemons (sh, sleep) run through the real nsenter path; the "host" is our own namespaces
// (the anchor PID is this process), so no lab is built. Needs root for nsenter.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DaemonStartError, describeStartFailure, startDaemon } from './daemon.ts';
import { LabNames } from './names.ts';
import { isAlive, readPid } from './procs.ts';

/** A host dir with an earlier daemon's lines in its log; removed by the callback's caller. */
function withHost(fn: (names: LabNames, dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const base = mkdtempSync('/tmp/shoaldst-');
    const names = new LabNames('shoaldst', base);
    mkdirSync(names.hostDir('h1'), { recursive: true });
    writeFileSync(join(names.hostDir('h1'), 'daemon.log'), 'an earlier daemon said this\n');
    try {
      await fn(names, names.hostDir('h1'));
    } finally {
      // Any placeholder still running is ours: kill it by its recorded PID.
      const pid = readPid(join(names.hostDir('h1'), 'daemon.pid'));
      if (pid && isAlive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(base, { recursive: true, force: true });
    }
  };
}

async function failure(p: Promise<unknown>): Promise<DaemonStartError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, DaemonStartError);
    return err as DaemonStartError;
  }
  throw new Error('expected a DaemonStartError');
}

test('an exit names its code and quotes only this daemon\'s output', withHost(async (names) => {
  const err = await failure(startDaemon(names, 'h1', process.pid, { command: () => ['sh', '-c', 'echo cannot bind >&2; exit 3'] }));
  assert.equal(err.failure, { reason: 'exit', code: 3, signal: null });
  assert.match(err.message, /daemon of h1 exited before answering \/_ping \(code 3\)/);
  assert.match(err.message, /cannot bind/);
  assert.not.match(err.message, /earlier daemon/);
}));

test('death by a signal names the signal', withHost(async (names) => {
  const err = await failure(startDaemon(names, 'h1', process.pid, { command: () => ['sh', '-c', 'kill -9 $$'] }));
  assert.equal(err.failure, { reason: 'exit', code: null, signal: 'SIGKILL' });
  assert.match(err.message, /\(signal SIGKILL\)/);
  assert.match(err.message, /\(no output\)/);
}));

test('a daemon that runs but never answers is a timeout, not an exit, and is killed', withHost(async (names, dir) => {
  const err = await failure(startDaemon(names, 'h1', process.pid, { readyTimeoutMs: 300, command: () => ['sh', '-c', 'echo restoring; exec sleep 60'] }));
  assert.is(err.failure.reason, 'timeout');
  assert.match(err.message, /did not answer \/_ping within 300 ms \(still running, killed; [\d.]+ s cpu used\)/);
  assert.match(err.message, /restoring/);
  assert.not.match(err.message, /exited/);
  const pid = readPid(join(dir, 'daemon.pid'));
  assert.ok(pid && !isAlive(pid), 'the placeholder was killed');
}));

test('the message keeps the last lines only', () => {
  const out = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
  const msg = describeStartFailure('h2', { reason: 'timeout', timeoutMs: 30000 }, out);
  assert.match(msg, /cpu time unknown/);
  assert.match(msg, /line 39$/);
  assert.not.match(msg, /line 24\n/);
  assert.match(msg, /line 25\n/);
});

test.run();
