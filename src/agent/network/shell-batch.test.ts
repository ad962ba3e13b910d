import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { ShellBatch, batchScript, killTimedOut, parentPidOf, shellQuote } from './shell-batch.ts';

test('commands asked for in one turn run in one shell, each with its own exit code, output and input', async () => {
  const sizes: number[] = [];
  const sh = new ShellBatch({ onBatch: (n) => sizes.push(n) });
  const [a, b, c] = await Promise.all([
    sh.run(['sh', '-c', 'echo out; echo err >&2; exit 3']),
    sh.run(['cat'], { input: 'line one\nline two\n' }),
    sh.run(['true']),
  ]);
  assert.equal(sizes, [3]);
  assert.equal(a, { code: 3, stdout: 'out\n', stderr: 'err\n' });
  assert.equal(b, { code: 0, stdout: 'line one\nline two\n', stderr: '' });
  assert.equal(c, { code: 0, stdout: '', stderr: '' });
  sh.close();
});

test('a command asked for after a batch started goes in the next one', async () => {
  const sizes: number[] = [];
  const sh = new ShellBatch({ onBatch: (n) => sizes.push(n) });
  const first = await sh.run(['echo', '1']);
  const second = await sh.run(['echo', '2']);
  assert.equal([first.stdout, second.stdout], ['1\n', '2\n']);
  assert.equal(sizes, [1, 1]);
  sh.close();
});

test('batches at once beyond the pool wait for a free shell, and every one finishes', async () => {
  const sh = new ShellBatch();
  const rs: Promise<{ code: number | null; stdout: string }>[] = [];
  // One batch per turn: each `run` after an await lands in a batch of its own.
  for (let i = 0; i < 12; i++) {
    rs.push(sh.run(['sh', '-c', `sleep 0.2; echo ${i}`]));
    await new Promise((r) => setImmediate(r));
  }
  const out = await Promise.all(rs);
  assert.equal(out.map((r) => r.stdout), Array.from({ length: 12 }, (_, i) => `${i}\n`));
  sh.close();
  assert.is((await sh.run(['true'])).code, null, 'closed: refused');
});

test('words with quotes, spaces and shell characters reach the command verbatim', async () => {
  const words = ["it's", 'a b', '$HOME', '`id`', '"q"', '\\n', ';', '*'];
  const r = await new ShellBatch().run(['printf', '%s\\n', ...words]);
  assert.is(r.code, 0);
  assert.equal(r.stdout.split('\n').slice(0, -1), words);
});

test('a command that cannot be run fails alone, with the shell\'s words', async () => {
  const sh = new ShellBatch();
  const [bad, good] = await Promise.all([sh.run(['/nonexistent/shoal-tool', 'x']), sh.run(['echo', 'fine'])]);
  assert.is(bad.code, 127);
  assert.match(bad.stderr, 'shoal-tool');
  assert.equal(good, { code: 0, stdout: 'fine\n', stderr: '' });
});

test('a command past its timeout is killed; the others finish', async () => {
  const sh = new ShellBatch();
  const [slow, quick] = await Promise.all([sh.run(['sleep', '30'], { timeoutMs: 1000 }), sh.run(['echo', 'ok'])]);
  assert.is(slow.code, 137);
  assert.is(quick.stdout, 'ok\n');
});

test('a timed command that ends in time keeps its code and output, and no timeout process runs', async () => {
  const sh = new ShellBatch();
  // The command's parent is its subshell, whose parent is the pooled shell: no `timeout` between.
  const r = await sh.run(['sh', '-c', 'cat /proc/$PPID/comm; echo done; exit 3'], { timeoutMs: 5000 });
  assert.is(r.code, 3);
  assert.is(r.stdout.split('\n')[1], 'done');
  assert.not.match(r.stdout, 'timeout');
  sh.close();
});

test('the parent PID is read after the name, whatever the name holds', () => {
  assert.is(parentPidOf('4242 (a) b (c)) S 17 4242 4242 0 -1 4194560'), 17);
  assert.is(parentPidOf('garbage'), undefined);
});

test('a timed-out command is killed only while its grandparent is the pooled shell', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const gone = new Promise((ok) => child.once('exit', ok));
  try {
    // This process is the sleep's parent; its own parent stands in for the pooled shell.
    killTimedOut(child.pid!, process.ppid + 100_000);
    await new Promise((r) => setTimeout(r, 100));
    assert.is(child.exitCode, null, 'not ours: left alone');
    assert.is(child.signalCode, null);
    killTimedOut(child.pid!, process.ppid);
    await gone;
    assert.is(child.signalCode, 'SIGKILL');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test('a command is answered when it ends, not when the slowest of its batch does', async () => {
  const sizes: number[] = [];
  const sh = new ShellBatch({ onBatch: (n) => sizes.push(n) });
  const order: string[] = [];
  // The slow one ends only once the quick one was answered (or after 5 s, failing the order check).
  const flag = join(mkdtempSync(join(tmpdir(), 'shoal-shb-')), 'go');
  const slow = sh.run(['sh', '-c', `i=0; while [ ! -e "$1" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done; echo slow`, 'sh', flag])
    .then((r) => { order.push('slow'); return r; });
  const quick = sh.run(['sh', '-c', 'echo quick; exit 4']).then((r) => { order.push('quick'); return r; });
  assert.equal(await quick, { code: 4, stdout: 'quick\n', stderr: '' });
  writeFileSync(flag, '');
  assert.equal((await slow).stdout, 'slow\n');
  assert.equal(sizes, [1 + 1]);
  assert.equal(order, ['quick', 'slow']);
  rmSync(dirname(flag), { recursive: true, force: true });
  sh.close();
});

test('an empty command is refused without running anything', async () => {
  const r = await new ShellBatch({ onBatch: () => assert.unreachable('no batch') }).run([]);
  assert.is(r.code, null);
  assert.match(r.stderr, 'empty command');
});

test('the script runs each command in the background with its files, then waits', () => {
  const s = batchScript('/d', [{ argv: ['ip', '-n', 'x', '-batch', '-'], input: 'a' }, { argv: ['nft', '-f', '-'], timeoutMs: 2500 }]);
  assert.is(s, [
    "( 'ip' '-n' 'x' '-batch' '-' <'/d/0.in' >'/d/0.out' 2>'/d/0.err'; rc=$?; echo $rc >'/d/0.rc'; echo \"@@rc 0 $rc\" ) &",
    "( 'nft' '-f' '-' </dev/null >'/d/1.out' 2>'/d/1.err' & p=$!; echo \"@@pid 1 $p\"; wait $p; rc=$?; echo $rc >'/d/1.rc'; echo \"@@rc 1 $rc\" ) &",
    'wait',
    '',
  ].join('\n'));
  assert.is(shellQuote("a'b"), "'a'\\''b'");
});

test.run();
