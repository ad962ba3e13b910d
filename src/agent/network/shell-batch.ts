/**
 * Runs the network agent's many small commands (`ip -batch`, `nsenter … nft -f`, `ip netns
 * add`) through one `sh` per turn of the event loop instead of one spawn each.
 *
 * Why: Node's `spawn` is synchronous up to the child's `exec` (libuv forks, then waits on a
 * pipe until the child has exec'd), so every spawn from the daemon stalls its whole event
 * loop (the API, Raft, the dispatcher) for a fork of a large process and the child's way to
 * `exec`: ≈ 37 ms a spawn on a loaded 2-core lab, ≈ 4 s of an 8 s stack deploy per node
 * (labs/bench/stack-trace.ts). Commands asked for in the same turn (tasks attaching side by
 * side, one view's VIP tables) go as one batch to a long-lived `sh` of a small pool (spawned
 * once), which forks each (cheap: a small process), runs them side by side and waits for
 * them (so it reaps them); the daemon spawns nothing per command.
 *
 *   const sh = new ShellBatch();
 *   const [a, b] = await Promise.all([sh.run(['ip', 'netns', 'add', 'x']), sh.run(['nft', '-f', '-'], { input })]);
 *   sh.close(); // the pooled shells end
 *
 * Each command keeps its own exit code, stdout, stderr and input; one failing never touches
 * another. A command with `timeoutMs` is killed (SIGKILL, exit 137, as `timeout -s KILL`)
 * by the daemon itself: its shell reports the command's PID (`@@pid`), so no `timeout`
 * process is started per command (on a machine where starting a process costs ~10 ms, that
 * was a tenth of a VIP table update).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lineSplitter } from '../../common/lines.ts';

/** The outcome of one command: exit code (null if it could not be run), stdout, stderr. */
export interface ShellResult { code: number | null; stdout: string; stderr: string }

export interface ShellBatchOptions {
  /** The shell. Default `sh`. */
  shell?: string;
  /** Directory for the batch's files (inputs, outputs). Default `os.tmpdir()`. */
  tmpDir?: string;
  /** Called with the number of commands of each batch run (tests, metrics). */
  onBatch?: (size: number) => void;
}

interface Job {
  argv: string[];
  input?: string;
  timeoutMs?: number;
  resolve: (r: ShellResult) => void;
}

/** Quotes one word for `sh` (single quotes; a quote inside as '\''). */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `sh` script of a batch: each command in a subshell of its own, in the background,
 * stdin from its input file (or /dev/null), stdout and stderr to files, its exit code to
 * `N.rc`; then `wait` for all. A command with a timeout runs in the background of its
 * subshell, which says its PID (`@@pid I PID`) for the daemon to kill it when the time is
 * up, and waits for it. Pure: `dir` is where the files are.
 */
export function batchScript(dir: string, jobs: readonly { argv: string[]; input?: string; timeoutMs?: number }[]): string {
  const lines = jobs.map((j, i) => {
    const f = (ext: string) => shellQuote(join(dir, `${i}.${ext}`));
    const cmd = j.argv.map(shellQuote).join(' ');
    const stdin = j.input === undefined ? '/dev/null' : f('in');
    const run = `${cmd} <${stdin} >${f('out')} 2>${f('err')}`;
    // `@@rc I CODE` on the shell's stdout (one short write: whole even among parallel
    // jobs) hands the job back as soon as it ends, not when the batch's slowest does.
    const ran = j.timeoutMs ? `${run} & p=$!; echo "@@pid ${i} $p"; wait $p` : run;
    return `( ${ran}; rc=$?; echo $rc >${f('rc')}; echo "@@rc ${i} $rc" ) &`;
  });
  return `${lines.join('\n')}\nwait\n`;
}

/** The parent PID of `pid` from /proc/PID/stat's text (pure; the name may hold spaces and parentheses). */
export function parentPidOf(statText: string): number | undefined {
  const after = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(after[1]);
  return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
}

/** The parent PID of a live process, or undefined (gone, or not Linux). */
function parentPid(pid: number): number | undefined {
  try {
    return parentPidOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * SIGKILLs a timed-out command `pid` only while it is still what the pooled shell `shellPid`
 * started: its parent (the command's subshell) is that shell's child. After the command
 * ended and was reaped its PID may belong to anyone; the check keeps the kill to our own.
 */
export function killTimedOut(pid: number, shellPid: number | undefined): void {
  const subshell = parentPid(pid);
  if (shellPid === undefined || subshell === undefined || parentPid(subshell) !== shellPid) return;
  try { process.kill(pid, 'SIGKILL'); } catch { /* ended meanwhile */ }
}

/** A long-lived `sh` of the pool: batches go in on its stdin, `@@pid I PID` (timed commands), `@@rc I CODE` and `@@done N` lines come out. */
interface PoolShell {
  child: ChildProcess;
  /** The batch it runs now, if any: `started` with a timed command's PID, `job` as each of its commands ends, `done` when all did. */
  busy?: { id: number; done: (shellErr: string) => void; job: (index: number, code: number) => void; started: (index: number, pid: number) => void };
  stderr: string;
}

/** Shells kept at most; a batch waits for one to be free past that. */
const MAX_SHELLS = 6;

/** Coalesces the commands asked for in one turn of the event loop into one batch for a pooled `sh`. */
export class ShellBatch {
  private pending: Job[] = [];
  private scheduled = false;
  private readonly idle: PoolShell[] = [];
  private readonly all = new Set<PoolShell>();
  private readonly waiting: ((sh: PoolShell) => void)[] = [];
  private nextId = 0;
  private closed = false;

  constructor(private readonly opts: ShellBatchOptions = {}) {}

  /** Runs `argv` (with `input` on its stdin) in the next batch; resolves with its outcome, never rejects. */
  run(argv: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ShellResult> {
    if (argv.length === 0) return Promise.resolve({ code: null, stdout: '', stderr: 'shell-batch: empty command' });
    if (this.closed) return Promise.resolve({ code: null, stdout: '', stderr: 'shell-batch: closed' });
    return new Promise((resolve) => {
      this.pending.push({ argv, input: opts.input, timeoutMs: opts.timeoutMs, resolve });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        const jobs = this.pending;
        this.pending = [];
        void this.runBatch(jobs);
      });
    });
  }

  /** Ends the pooled shells (those running a batch once it is done); later `run`s fail at once. */
  close(): void {
    this.closed = true;
    for (const sh of this.idle.splice(0)) sh.child.stdin!.end();
  }

  private async runBatch(jobs: Job[]): Promise<void> {
    this.opts.onBatch?.(jobs.length);
    let dir: string | undefined;
    const timers = new Map<number, NodeJS.Timeout>();
    try {
      dir = await mkdtemp(join(this.opts.tmpDir ?? tmpdir(), 'shoal-sh-'));
      await Promise.all(jobs.map((j, i) => (j.input === undefined ? undefined : writeFile(join(dir!, `${i}.in`), j.input))));
      const at = dir;
      const read = (i: number, ext: string) => readFile(join(at, `${i}.${ext}`), 'utf8').catch(() => undefined);
      // Each job is read and answered once: when its `@@rc` line comes, else after the batch.
      const reads = new Map<number, Promise<void>>();
      const answer = (i: number, code: number | null, shellErr = '') => {
        if (reads.has(i) || !jobs[i]) return;
        clearTimeout(timers.get(i));
        reads.set(i, Promise.all([read(i, 'out'), read(i, 'err')]).then(([stdout, stderr]) => {
          jobs[i].resolve({ code, stdout: stdout ?? '', stderr: stderr ?? (code === null ? shellErr || 'shell-batch: the shell ended' : '') });
        }));
      };
      // A timed command's clock starts when its shell says it started it.
      const started = (i: number, pid: number, shellPid: number | undefined) => {
        const ms = jobs[i]?.timeoutMs;
        if (ms && !reads.has(i) && !timers.has(i)) timers.set(i, setTimeout(() => killTimedOut(pid, shellPid), ms));
      };
      const shellErr = await this.inShell(batchScript(dir, jobs), (i, code) => answer(i, code), started);
      await Promise.all(jobs.map(async (_, i) => {
        if (reads.has(i)) return;
        const rc = await read(i, 'rc');
        answer(i, rc === undefined || rc.trim() === '' ? null : Number(rc.trim()), shellErr);
      }));
      await Promise.all(reads.values());
    } catch (err) {
      for (const j of jobs) j.resolve({ code: null, stdout: '', stderr: `shell-batch: ${(err as Error).message}` });
    } finally {
      for (const t of timers.values()) clearTimeout(t);
      if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Runs `script` (which waits for its commands) in a free pooled shell; resolves with what that shell said on stderr meanwhile. */
  private async inShell(script: string, job: (index: number, code: number) => void, started: (index: number, pid: number, shellPid: number | undefined) => void): Promise<string> {
    const sh = await this.acquire();
    const id = this.nextId++;
    return new Promise<string>((resolve) => {
      sh.busy = { id, done: resolve, job, started: (i, pid) => started(i, pid, sh.child.pid) };
      sh.stderr = '';
      sh.child.ref();
      sh.child.stdin!.write(`${script}echo @@done ${id}\n`);
    });
  }

  private acquire(): Promise<PoolShell> {
    const free = this.idle.pop();
    if (free) return Promise.resolve(free);
    if (this.all.size < MAX_SHELLS) return Promise.resolve(this.start());
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(sh: PoolShell): void {
    sh.busy = undefined;
    const next = this.waiting.shift();
    if (next) { next(sh); return; }
    if (this.closed) { sh.child.stdin!.end(); return; }
    // An idle shell never keeps the daemon (or a test) alive.
    sh.child.unref();
    this.idle.push(sh);
  }

  private start(): PoolShell {
    // A long-lived shell: the daemon spawns it once, and it forks the commands (a small
    // process, so cheaply), never stalling the daemon's event loop.
    const child = spawn(this.opts.shell ?? 'sh', ['-s'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const sh: PoolShell = { child, stderr: '' };
    this.all.add(sh);
    for (const s of [child.stdin!, child.stdout!, child.stderr!] as unknown as { unref?: () => void }[]) s.unref?.();
    child.stdout!.setEncoding('utf8').on('data', lineSplitter((line) => {
      const rc = /^@@rc (\d+) (\d+)$/.exec(line);
      if (rc) { sh.busy?.job(Number(rc[1]), Number(rc[2])); return; }
      const pid = /^@@pid (\d+) (\d+)$/.exec(line);
      if (pid) { sh.busy?.started(Number(pid[1]), Number(pid[2])); return; }
      const m = /^@@done (\d+)$/.exec(line);
      if (m && sh.busy && Number(m[1]) === sh.busy.id) {
        const done = sh.busy.done;
        const err = sh.stderr;
        this.release(sh);
        done(err);
      }
    }));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (sh.stderr.length < 8192) sh.stderr += d; });
    child.stdin!.on('error', () => { /* the shell is gone: its close reports it */ });
    child.on('error', (e) => { sh.stderr += String(e); });
    child.on('close', () => {
      this.all.delete(sh);
      const i = this.idle.indexOf(sh);
      if (i >= 0) this.idle.splice(i, 1);
      const busy = sh.busy;
      sh.busy = undefined;
      busy?.done(sh.stderr || 'shell-batch: the shell ended');
      // A batch waiting for a shell gets a new one.
      const next = this.waiting.shift();
      if (next) next(this.start());
    });
    return sh;
  }
}
