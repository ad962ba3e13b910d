/**
 * The embedded DNS in a child process of the daemon (`dns-worker-main.ts`): the daemon
 * sends it the node's DNS table and which task netns to serve; the child binds the sockets
 * there (through the socket broker) and answers on its own event loop. A child that dies
 * is started again after a short delay and given the table and every binding again; until
 * then tasks' queries go unanswered (their resolvers retry).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { DnsStats, DnsTable } from '../../../net/dns/index.ts';
import type { Logger } from '../../common/logger.ts';
import type { DnsBindOptions, TaskDns } from './task-dns.ts';
import { busyFraction, DNS_GUARD_LIMITS, nextPriority, type CpuSample, type DnsGuardLimits, type DnsPriority } from './dns-guard.ts';
import { setSlice, threadCpuNs } from './dns-sched.ts';

const ENTRY = fileURLToPath(new URL('./dns-worker.mjs', import.meta.url));
/** A bind the child does not answer in this long fails (it takes ≈ 1 ms normally). */
const BIND_TIMEOUT_MS = 10_000;
/** Wait before starting a child that died. */
const RESTART_MS = 500;
/**
 * The child's nice value while quiet, by default: far above the daemon's (0), so a
 * query's wake-up does not queue behind the daemon, runc and the task processes. The
 * child is woken on the CPU its client ran on (the scheduler keeps a waker and the woken
 * together) and, at nice -5, still waited 0.1–0.9 ms there behind other runnable threads
 * under load (perf sched): a nice value weighs a share, and a loop that answers query after
 * query had used more than a -5 share. Measured (a DnsProcess in a netns, the Perl client
 * SCHED_FIFO, 2000 back-to-back queries, 10 rounds alternating, load 23–26), p50/p99:
 * nice -5 0.032/0.894 ms, nice -20 0.042/0.161 ms; SCHED_FIFO instead 0.063/0.228 ms (a
 * real-time thread is woken on its own CPU, not its client's: an IPI per query). Paced at
 * 1 ms: p99 5.29 ms at -5, 1.14 ms at -20. GC was not the tail (a scavenge of ≈0.3 ms
 * every few thousand queries).
 */
export const DNS_NICE = -20;
/** The child loop's nice value while busy (see `dns-guard.ts`), by default. */
export const DNS_BUSY_NICE = -5;
/** The EEVDF slice the child asks for, in ns (the kernel's floor is 0.1 ms). */
export const DNS_SLICE_NS = 100_000;
/** How often the priority guard samples the child loop's CPU time, in ms. */
const GUARD_INTERVAL_MS = 1000;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Daemon → child. */
export type DnsRequest =
  | { op: 'table'; table: DnsTable }
  | { op: 'bind'; id: number; taskId: string; netns: string; networks: string[]; forward: boolean }
  | { op: 'unbind'; taskId: string };

/** Child → daemon. */
export type DnsReply =
  | { op: 'ready' }
  | { op: 'bound'; id: number; error?: string }
  | { op: 'log'; level: LogLevel; msg: string; fields: Record<string, unknown> }
  | { op: 'stats'; stats: DnsStats };

interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class DnsProcess implements TaskDns {
  private child?: ChildProcess;
  private table: DnsTable = {};
  /** Task → what it is bound to, to bind again in a new child. */
  private readonly bindings = new Map<string, { netns: string; networks: string[]; forward: boolean }>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private restartTimer?: NodeJS.Timeout;
  private closed = false;
  /** The child's latest counts (it sends them every few seconds); a new child starts from zero. */
  private lastStats?: DnsStats;
  /** A table waits to go out at the end of this turn of the event loop (the newest wins). */
  private tableQueued = false;
  /** JSON of the table the running child has: an equal one is not sent again. */
  private sentTable?: string;
  /** The nice value or the short slice was refused once: later children (restarts) skip that step, logged once. */
  private noNice = false;
  private noShortSlice = false;
  /** The running child loop's priority (see {@link guard}). */
  private priority: DnsPriority = 'high';
  private guardTimer?: NodeJS.Timeout;

  constructor(private readonly opts: {
    logger: Logger;
    upstreams: string[];
    /** The child's entry module (tests); default dns-worker.mjs. */
    entry?: string;
    /** The child's nice value (−20…19) while quiet; default {@link DNS_NICE}. Lowering it needs root or CAP_SYS_NICE; without, the child keeps the daemon's. */
    nice?: number;
    /** The child loop's nice value while busy (`dns-guard.ts`); default {@link DNS_BUSY_NICE}, never below `nice`. */
    busyNice?: number;
    /** When the guard lowers and raises the loop; default {@link DNS_GUARD_LIMITS}. */
    guardLimits?: DnsGuardLimits;
    /** How often the guard samples the loop's CPU time, in ms. Default 1000. */
    guardIntervalMs?: number;
  }) {
    // Refused now rather than in a timer later.
    if (opts.guardLimits) nextPriority('low', 0, opts.guardLimits);
    const ms = opts.guardIntervalMs;
    if (ms !== undefined && !(Number.isFinite(ms) && ms > 0)) throw new Error(`dns: invalid guardIntervalMs ${ms} (want a positive number of ms)`);
    // A busy value under the quiet one would raise a flooding loop's priority, not lower it.
    if (opts.busyNice !== undefined && opts.busyNice < (opts.nice ?? DNS_NICE)) throw new Error(`dns: busyNice ${opts.busyNice} is below nice ${opts.nice ?? DNS_NICE} (the busy value must not be the higher priority)`);
  }

  stats(): DnsStats | undefined {
    return this.lastStats;
  }

  bind(taskId: string, netns: string, networks: readonly string[], opts: DnsBindOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the DNS process is closed'));
    if (this.restartTimer) return Promise.reject(new Error('the DNS process is starting again after it exited'));
    this.bindings.set(taskId, { netns, networks: [...networks], forward: opts.forward !== false });
    return this.request(taskId);
  }

  unbind(taskId: string): void {
    if (!this.bindings.delete(taskId)) return;
    this.post({ op: 'unbind', taskId });
  }

  /**
   * The newest table goes to the child once per turn of the event loop, and only when it
   * differs from the one the child has: while tasks start, the daemon applies a view per
   * task change and most leave the names as they were, and every table sent is parsed on
   * the loop that answers the queries. A bind sends a waiting table first.
   */
  setTable(table: DnsTable): void {
    this.table = table;
    if (this.tableQueued) return;
    this.tableQueued = true;
    setImmediate(() => this.flushTable());
  }

  private flushTable(): void {
    if (!this.tableQueued || this.closed) return;
    this.tableQueued = false;
    const json = JSON.stringify(this.table);
    if (json === this.sentTable && this.child?.connected) return;
    if (this.post({ op: 'table', table: this.table })) this.sentTable = json;
  }

  /** Ends the child (ours, by its PID); its sockets close with it. */
  close(): void {
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.guardTimer);
    for (const [id, p] of this.pending) this.settle(id, new Error('the DNS process is closed'), p);
    const c = this.child;
    this.child = undefined;
    if (c?.pid && c.exitCode === null && c.signalCode === null) {
      try { c.disconnect(); } catch { /* already */ }
      try { process.kill(c.pid, 'SIGTERM'); } catch { /* gone */ }
    }
  }

  /** The child's PID (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private request(taskId: string): Promise<void> {
    const b = this.bindings.get(taskId)!;
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, new Error(`DNS for task ${taskId}: no answer from the DNS process`)), BIND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.flushTable();
      this.post({ op: 'bind', id, taskId, netns: b.netns, networks: b.networks, forward: b.forward });
    });
  }

  private settle(id: number, err?: Error, p = this.pending.get(id)): void {
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve();
  }

  /** Sends `m` to the child (started if need be); false when it could not go now. */
  private post(m: DnsRequest): boolean {
    const child = this.start();
    if (!child?.connected) return false; // a new child gets the table and every binding when it starts
    child.send(m, (err) => {
      if (err) this.opts.logger.debug('dns process: send failed', { error: err });
    });
    return true;
  }

  /** Starts the child unless it runs; `resync`: give it the table and every binding (a restart). */
  private start(resync = false): ChildProcess | undefined {
    if (this.child || this.closed || this.restartTimer) return this.child;
    const child = fork(this.opts.entry ?? ENTRY, [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, SHOAL_DNS_UPSTREAMS: JSON.stringify(this.opts.upstreams) },
      serialization: 'json',
      // A session of its own, so a scheduler autogroup of its own (see `prioritize`); it
      // still exits with the daemon, when the IPC channel closes.
      detached: true,
    });
    this.child = child;
    this.sentTable = undefined;
    this.prioritize(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    child.on('message', (m: DnsReply) => this.onReply(m));
    child.on('error', (err) => this.opts.logger.warn('dns process: error', { error: err }));
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      clearInterval(this.guardTimer);
      if (this.closed) return;
      this.opts.logger.error('dns process exited; starting it again', { code, signal, stderr: stderr.trim().slice(-500) });
      for (const [id, p] of this.pending) this.settle(id, new Error(`the DNS process exited (${signal ?? code})`), p);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        this.start(true); // a new child serves the table and every task bound so far
      }, RESTART_MS);
    });
    // `send` queues on the channel until the child is up.
    if (resync) {
      child.send({ op: 'table', table: this.table } satisfies DnsRequest);
      this.sentTable = JSON.stringify(this.table);
      for (const [taskId, b] of this.bindings) child.send({ op: 'bind', id: 0, taskId, netns: b.netns, networks: b.networks, forward: b.forward } satisfies DnsRequest);
    }
    return child;
  }

  /**
   * Gives the child its nice value, twice over, asks for a short slice, and starts the
   * guard. Linux keeps a nice value per thread: `setpriority` sets the child's main
   * thread (the event loop that answers; threads it starts later inherit it), which ranks
   * it against the processes of its own session. With `kernel.sched_autogroup_enabled`
   * (the default of most distributions) the scheduler first shares the CPUs between
   * sessions, each session's autogroup weighted by the nice in `/proc/PID/autogroup`: the
   * child has a session of its own (`detached`), and that autogroup gets the same nice, so
   * a query's wake-up also goes ahead of runc, the task processes and other sessions.
   * Best effort: without root the child keeps the default, logged once.
   */
  private prioritize(child: ChildProcess): void {
    const pid = child.pid;
    if (!pid || this.noNice) return;
    const nice = this.opts.nice ?? DNS_NICE;
    this.priority = 'high';
    if (!this.renice(pid, nice)) return;
    if (!this.noShortSlice) {
      setSlice(pid, nice, DNS_SLICE_NS).catch((error: unknown) => {
        if (this.child !== child || this.noShortSlice) return; // exited meanwhile: not a refusal
        this.noShortSlice = true;
        this.opts.logger.debug('dns process: no short slice', { error });
      });
    }
    // The guard starts when the child says it is ready (onReply): loading its modules
    // takes a CPU for a moment and is not a flood.
  }

  /** Sets `pid`'s main thread and its autogroup to `nice`; false (logged once) when refused. */
  private renice(pid: number, nice: number): boolean {
    try {
      setPriority(pid, nice);
      if (existsSync(`/proc/${pid}/autogroup`)) writeFileSync(`/proc/${pid}/autogroup`, String(nice));
      return true;
    } catch (error) {
      if (this.child?.pid !== pid) return false; // exited meanwhile
      this.noNice = true;
      clearInterval(this.guardTimer);
      this.opts.logger.info('dns process: runs at the default priority', { nice, error });
      return false;
    }
  }

  /**
   * Samples the child loop's CPU time and moves it between the quiet and the busy nice
   * value (`dns-guard.ts`): at nice -20 a flooding task would get nearly a whole CPU from
   * the rest of the node; at the busy value it gets what it got before.
   */
  private guard(child: ChildProcess): void {
    clearInterval(this.guardTimer);
    const pid = child.pid!;
    const nice = this.opts.nice ?? DNS_NICE;
    // The default busy value is clamped to a quiet value given above it (no root: nice 0).
    const busyNice = Math.max(nice, this.opts.busyNice ?? DNS_BUSY_NICE);
    if (busyNice === nice) return; // nothing to move between: no sampling
    const sample = (): CpuSample | undefined => {
      const cpuNs = threadCpuNs(pid);
      return cpuNs === undefined ? undefined : { cpuNs, atNs: Number(process.hrtime.bigint()) };
    };
    let prev = sample();
    this.guardTimer = setInterval(() => {
      const now = sample();
      if (this.child !== child || !now || !prev) { prev = now; return; }
      const busy = busyFraction(prev, now);
      prev = now;
      const next = nextPriority(this.priority, busy, this.opts.guardLimits ?? DNS_GUARD_LIMITS);
      if (next === this.priority) return;
      this.priority = next;
      this.opts.logger.info(next === 'low' ? 'dns process: busy; lower priority until quiet' : 'dns process: quiet; high priority again', { busy: Math.round(busy * 100) / 100 });
      this.renice(pid, next === 'high' ? nice : busyNice);
    }, this.opts.guardIntervalMs ?? GUARD_INTERVAL_MS);
    this.guardTimer.unref();
  }

  private onReply(m: DnsReply): void {
    if (m?.op === 'ready') {
      if (this.child?.pid && !this.noNice) this.guard(this.child);
    } else if (m?.op === 'bound') {
      if (m.id === 0) {
        if (m.error) this.opts.logger.warn('dns process: could not serve a task again', { error: m.error });
        return;
      }
      this.settle(m.id, m.error ? new Error(m.error) : undefined);
    } else if (m?.op === 'stats') {
      this.lastStats = m.stats;
    } else if (m?.op === 'log') {
      const level = ['debug', 'info', 'warn', 'error'].includes(m.level) ? m.level : 'info';
      this.opts.logger[level](m.msg, m.fields);
    }
  }
}
