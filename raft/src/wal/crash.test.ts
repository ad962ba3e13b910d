/**
 * A writer process killed with SIGKILL at arbitrary moments (after a varying number of
 * acknowledged saves) leaves a WAL that reopens with every acknowledged entry and hard state.
 * The child is killed by its own PID; the temp directory is removed in `finally`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DiskStorage } from './disk-storage.ts';
import { WalLockedError } from './errors.ts';
import { withTempDir } from './test-helpers.ts';

const child = fileURLToPath(new URL('./test-crash-child.ts', import.meta.url));

/**
 * Runs the child until it has acknowledged `acks` saves, calls `whileAlive` (the child still
 * running), kills it, returns the last ack.
 */
function runAndKill(dir: string, acks: number, whileAlive: (pid: number) => Promise<void> = async () => {}): Promise<{ last: number; commit: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = 0;
    let acked = { last: 0, commit: 0 };
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const [, last, commit] = out.slice(0, nl).split(' ');
        out = out.slice(nl + 1);
        acked = { last: Number(last), commit: Number(commit) };
        if (++seen === acks) {
          whileAlive(p.pid!).then(
            () => p.kill('SIGKILL'),
            (err: unknown) => {
              p.kill('SIGKILL');
              reject(err);
            },
          );
        }
      }
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acked);
      else reject(new Error(`child exited with ${code}: ${err}`));
    });
  });
}

test('after SIGKILL at any point, a reopen holds every acknowledged save', () =>
  withTempDir(async (dir) => {
    let prev = 0;
    for (const acks of [5, 137, 1, 250]) {
      const acked = await runAndKill(dir, acks);
      const s = await DiskStorage.open(dir, { fsync: true });
      try {
        assert.ok(acked.last > prev, 'the child made progress');
        assert.ok(s.lastIndex() >= acked.last, `last ${s.lastIndex()} >= acknowledged ${acked.last}`);
        assert.ok(s.initialState().hardState.commit >= acked.commit, 'commit');
        const ents = s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity);
        for (const e of ents) assert.ok(new TextDecoder().decode(e.data).startsWith(`entry-${e.index}-`), `entry ${e.index}`);
        prev = s.lastIndex();
      } finally {
        await s.close();
      }
    }
  }));

test('a directory in use by a live process is refused; once it is killed the lock is stale', () =>
  withTempDir(async (dir) => {
    await runAndKill(dir, 3, async (pid) => {
      const err = await DiskStorage.open(dir, { fsync: false }).then(
        (s) => s.close().then(() => undefined),
        (e: unknown) => e,
      );
      assert.instance(err, WalLockedError);
      assert.is((err as WalLockedError).pid, pid);
    });
    const s = await DiskStorage.open(dir, { fsync: true });
    assert.ok(s.lastIndex() >= 3);
    await s.close();
  }));

test.run();
