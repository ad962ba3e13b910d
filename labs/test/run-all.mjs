#!/usr/bin/env node
// Runs every uvu test file, each in its own Node process (through tsx), and
// prints the totals as the project's closing line: `N passed, N failed[, N skipped]`.
//
// Files named `*.test.ts` are unit tests: pure logic or loopback only, run two at a time.
// Files named `*.lab.test.ts` need root (namespaces, containers, nftables) and run after
// the unit tests, SHOAL_LAB_JOBS at a time (default 2: every lab lives in namespaces,
// cgroups and a switch of its own prefix, so two never share a resource; 1 runs them one
// by one); without root they are reported as skipped files. A lab file whose header has
// the line `// run-all: alone` runs after the others, with no other file beside it: its
// tests promise something under a load they make themselves (no request lost during an
// update), and on a 2-core machine a neighbour's container starts would decide it
// instead (see labs/updates-health.lab.test.ts).
//
// Each file runs in a process group of its own, with `uvu-hooks.mjs` preloaded (so an
// error in a `before`/`after` hook is printed and fails the file). A file that times out
// has its whole group killed, and the labs it names (`prefix: 'x'`, `PREFIX = 'x'`) are
// taken down. A file that leaves processes behind in its group fails.
//
// Usage: node labs/test/run-all.mjs [--unit] [--lab] [FILTER...]
//   FILTER: substrings of test file paths to run (all when none are given).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const onlyUnit = args.includes('--unit');
const onlyLab = args.includes('--lab');
const filters = args.filter((a) => !a.startsWith('--'));
const isRoot = process.getuid?.() === 0;
const SEARCH_DIRS = ['raft', 'src', 'net', 'cli', 'labs'];
const FILE_TIMEOUT_MS = Number(process.env.SHOAL_TEST_FILE_TIMEOUT_MS ?? 600_000);
const LAB_JOBS = Math.max(1, Number(process.env.SHOAL_LAB_JOBS ?? 2) || 1);

function findTests(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const all = SEARCH_DIRS.flatMap((d) => findTests(join(root, d), [])).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const labFiles = all.filter((f) => f.endsWith('.lab.test.ts'));
/** True when the file asks to run with no other lab file beside it (`// run-all: alone` in its header). */
const runsAlone = (file) => /^\/\/ run-all: alone\b/m.test(readFileSync(join(root, file), 'utf8').slice(0, 4096));
const unitFiles = all.filter((f) => !f.endsWith('.lab.test.ts'));

// uvu prints its summary with ANSI colours; strip them before reading the numbers.
const ANSI = /\x1b\[[0-9;]*m/g;
function parseSummary(text) {
  const plain = text.replace(ANSI, '');
  const num = (label) => {
    const m = plain.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : undefined;
  };
  return { total: num('Total'), passed: num('Passed'), skipped: num('Skipped') };
}

/** Signals every process of the group `pgid`; false when none is left. */
function signalGroup(pgid, sig) {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while a live (not zombie) process is in group `pgid`. A zombie is not left behind:
 * it has exited and waits for its parent to reap it (unless only its main thread exited:
 * see groupMembers). tsx's esbuild service (started when a file's imports miss tsx's
 * cache) exits when the test process does, is reparented to PID 1, and stays a zombie
 * until PID 1 reaps it, which on a loaded machine took over the 2 s allowed: "left
 * processes in its process group" for a file that starts nothing
 * (labs/bench/network-dns.test.ts, whose import graph is large and often edited).
 */
const groupAlive = (pgid) => signalGroup(pgid, 0) && groupMembers(pgid).some((m) => !m.zombie);

/** The processes still in group `pgid`: `text` "PID (ppid P, state S) command line", and whether it is a zombie with no thread left (from /proc). */
function groupMembers(pgid) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) !== pgid) continue;
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      // A zombie leader whose other threads still run (it called pthread_exit) is alive.
      const zombie = f[0] === 'Z' && readdirSync(`/proc/${name}/task`).length <= 1;
      out.push({ zombie, text: `${name} (ppid ${f[1]}, state ${f[0]}) ${cmd.slice(0, 200) || stat.slice(stat.indexOf('('), stat.lastIndexOf(')') + 1)}` });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function waitGroupGone(pgid, ms) {
  const deadline = Date.now() + ms;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !groupAlive(pgid);
}

/** The lab prefixes a test file uses (`prefix: 'shoalsv'`, `PREFIX = 'shoalnf'`). */
function labPrefixes(source) {
  const out = new Set();
  for (const m of source.matchAll(/\bprefix:\s*'([a-z0-9]{1,10})'|\bPREFIX\s*=\s*'([a-z0-9]{1,10})'/g)) out.add(m[1] ?? m[2]);
  return [...out];
}

/** Takes down the labs a timed-out file may have left: namespaces, daemons, containers (labs/lib/teardown.ts). */
function sweepLabs(file) {
  let source = '';
  try {
    source = readFileSync(join(root, file), 'utf8');
  } catch {
    return '';
  }
  let log = '';
  for (const prefix of labPrefixes(source)) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'labs/lab-cli.ts', '--prefix', prefix, 'down'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    log += `[run-all] swept lab "${prefix}": ${r.status === 0 ? 'down' : `down failed (${r.status ?? r.signal}): ${(r.stderr || '').trim()}`}\n`;
  }
  return log;
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    // detached: the file leads a process group of its own, so everything it started that
    // did not make its own session can be found and ended with it.
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './labs/test/uvu-hooks.mjs', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const pgid = child.pid;
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      timedOut = true;
      output += `\n[run-all] ${file}: timed out after ${FILE_TIMEOUT_MS} ms, sending SIGTERM to its process group\n`;
      signalGroup(pgid, 'SIGTERM');
      setTimeout(() => signalGroup(pgid, 'SIGKILL'), 10_000).unref();
    }, FILE_TIMEOUT_MS);
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      let leftBehind = false;
      if (!(await waitGroupGone(pgid, timedOut ? 10_000 : 2_000))) {
        leftBehind = !timedOut;
        // Name them: a flake that says only "left processes" cannot be chased.
        if (leftBehind) output += `\n[run-all] ${file}: left processes in its process group after it exited; killed them:\n${groupMembers(pgid).map((m) => `[run-all]   ${m.text}`).join('\n')}\n`;
        signalGroup(pgid, 'SIGKILL');
        await waitGroupGone(pgid, 5_000);
      }
      if (timedOut) output += sweepLabs(file);
      const s = parseSummary(output);
      let result;
      if (timedOut || leftBehind) {
        result = { passed: s.passed ?? 0, failed: Math.max(1, (s.total ?? 0) - (s.passed ?? 0) - (s.skipped ?? 0)), skipped: s.skipped ?? 0 };
      } else if (s.total === undefined) {
        // The file crashed before uvu could report: count it as one failed test.
        result = { passed: 0, failed: 1, skipped: 0 };
      } else {
        const failed = s.total - s.passed - s.skipped;
        // A file that reported no failure but still exited non-zero (for example an
        // error thrown after the suite ran, or a failed clean-up) counts one failure.
        result = { passed: s.passed, failed: failed > 0 ? failed : code !== 0 ? 1 : 0, skipped: s.skipped };
      }
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const mark = result.failed ? 'FAIL' : 'ok  ';
      process.stdout.write(`${mark} ${file} (${result.passed} passed, ${result.failed} failed, ${secs}s)\n`);
      if (result.failed || process.env.SHOAL_TEST_VERBOSE) {
        process.stdout.write(output.split('\n').map((l) => `     | ${l}`).join('\n') + '\n');
        if (signal) process.stdout.write(`     | (killed by ${signal})\n`);
      }
      resolve(result);
    });
  });
}

async function runPool(files, width) {
  const results = [];
  let next = 0;
  async function worker() {
    while (next < files.length) results.push(await runFile(files[next++]));
  }
  await Promise.all(Array.from({ length: Math.min(width, files.length) }, worker));
  return results;
}

// Type-check and lint count as one test each when the whole suite runs.
function runCheck(name, args) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`${code === 0 ? 'ok  ' : 'FAIL'} ${name} (${secs}s)\n`);
      if (code !== 0) process.stdout.write(output.split('\n').map((l) => `     | ${l}`).join('\n') + '\n');
      resolve({ passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 });
    });
  });
}

const results = [];
if (filters.length === 0 && !onlyLab) {
  results.push(await runCheck('typecheck (tsc)', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']));
  results.push(await runCheck('lint (eslint)', ['node_modules/eslint/bin/eslint.js', '.']));
}
if (!onlyLab) results.push(...(await runPool(unitFiles, 2)));
let skippedLabFiles = 0;
if (!onlyUnit) {
  if (isRoot) {
    const alone = new Set(labFiles.filter(runsAlone));
    results.push(...(await runPool(labFiles.filter((f) => !alone.has(f)), LAB_JOBS)));
    results.push(...(await runPool([...alone], 1)));
  }
  else {
    skippedLabFiles = labFiles.length;
    if (labFiles.length) console.log(`skip ${labFiles.length} lab test files: they need root`);
  }
}

const sum = (k) => results.reduce((n, r) => n + r[k], 0);
const passed = sum('passed');
const failed = sum('failed');
const skipped = sum('skipped') + skippedLabFiles;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
