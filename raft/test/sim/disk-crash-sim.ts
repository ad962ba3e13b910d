/**
 * A seeded simulation of the real driver on real files: `RaftNode` + `DiskStorage` (a
 * directory per node under a temp dir) over a `MemoryNetwork`, on one `ManualClock`. Nodes
 * crash without `stop()`: at the crash instant the node's directory is copied as the kernel
 * would keep it after a power cut (every file as written, the active WAL segment cut back to
 * somewhere between its last fdatasync and its end), and the node restarts from that copy.
 * The dead incarnation is cut off (no ticks, no network) and its storage closed.
 *
 * Checked throughout: a restart opens and starts (no assertion fires on any state a crash can
 * leave), no live node fails, every node applies the same state at each index (a hash chain
 * of the payloads), applied indexes only grow within an incarnation. After the chaos: with
 * the network healed and every node up, a fresh entry commits and every node applies it.
 */
import { copyFileSync, mkdirSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, type Clock } from '../../src/node/clock.ts';
import { RaftNode } from '../../src/node/raft-node.ts';
import type { StateMachine } from '../../src/node/state-machine.ts';
import { MemoryNetwork, type MemoryTransport } from '../../src/transport/memory-transport.ts';
import { emptyConfState, type Entry, type NodeId } from '../../src/types.ts';
import { DiskStorage } from '../../src/wal/disk-storage.ts';
import { Prng } from './prng.ts';

const TICK_MS = 10;

/** Timers of one incarnation; all dropped when it crashes (a dead process ticks no more). */
class IncarnationClock implements Clock {
  dead = false;
  constructor(private readonly base: ManualClock) {}
  now(): number {
    return this.base.now();
  }
  setTimer(ms: number, fn: () => void): () => void {
    if (this.dead) return () => {};
    return this.base.setTimer(ms, () => {
      if (!this.dead) fn();
    });
  }
}

/** The state: a hash chain over (index, payload); checks every apply against the cluster's record. */
class ChainMachine implements StateMachine {
  index = 0;
  hash = 0;
  constructor(private readonly sim: DiskCrashSim, private readonly who: () => string, private readonly alive: () => boolean) {}
  apply(e: Entry): unknown {
    if (!this.alive()) return undefined;
    if (e.index <= this.index) this.sim.violation(`${this.who()} applied index ${e.index} after ${this.index}`);
    let h = this.hash ^ e.index;
    for (const b of e.data) h = Math.imul(h ^ b, 16777619) >>> 0;
    this.index = e.index;
    this.hash = h >>> 0;
    this.sim.record(this.who(), this.index, this.hash);
    return undefined;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ index: this.index, hash: this.hash }));
  }
  restore(data: Uint8Array): void {
    const s = data.length === 0 ? { index: 0, hash: 0 } : (JSON.parse(new TextDecoder().decode(data)) as { index: number; hash: number });
    this.index = s.index;
    this.hash = s.hash;
    if (this.alive() && s.index > 0) this.sim.record(this.who(), s.index, s.hash);
  }
}

interface Incarnation {
  gen: number;
  dir: string;
  clock: IncarnationClock;
  storage: DiskStorage;
  transport: MemoryTransport;
  node: RaftNode;
  alive: boolean;
}

/** What one seed chose and did. */
export interface DiskCrashResult {
  seed: number;
  settings: string;
  crashes: number;
  restarts: number;
  committed: number;
}

export interface DiskCrashOptions {
  /** Virtual ticks of chaos. */
  chaosTicks: number;
  /** Virtual ticks allowed for the cluster to commit a fresh entry everywhere after the heal. */
  livenessTicks: number;
  trace?: (line: string) => void;
}

/** One seed's run; throws with the violations found. */
export class DiskCrashSim {
  readonly rng: Prng;
  readonly clock = new ManualClock();
  readonly net = new MemoryNetwork();
  private readonly ids: NodeId[];
  private readonly nodes = new Map<NodeId, Incarnation | undefined>();
  private readonly nodeRng = new Map<NodeId, Prng>();
  private readonly lastDir = new Map<NodeId, string>();
  private readonly dead: Incarnation[] = [];
  private readonly states = new Map<number, number>();
  private readonly violations: string[] = [];
  private root = '';
  private crashes = 0;
  private restarts = 0;
  private dropRate: number;
  private readonly snapshotEvery: number;
  private readonly snapshotTrailing: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;

  constructor(readonly seed: number, private readonly o: DiskCrashOptions) {
    this.rng = new Prng(seed);
    const n = this.rng.pick([1, 3, 3, 3, 5]);
    this.ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    this.snapshotEvery = this.rng.int(4, 20);
    this.snapshotTrailing = this.rng.int(0, 4);
    this.preVote = this.rng.chance(0.7);
    this.checkQuorum = this.rng.chance(0.7);
    this.dropRate = this.rng.pick([0, 0, 0.05, 0.15]);
    // Streams of their own, so the order in which file operations finish in the thread pool
    // cannot shift one consumer's draws onto another's: the network's, and each node's.
    const netRng = this.rng.fork();
    this.net.filter = () => !netRng.chance(this.dropRate);
    for (const id of this.ids) this.nodeRng.set(id, this.rng.fork());
  }

  settings(): string {
    return `nodes=${this.ids.length} snapshotEvery=${this.snapshotEvery} trailing=${this.snapshotTrailing} preVote=${this.preVote} checkQuorum=${this.checkQuorum} drop=${this.dropRate}`;
  }

  violation(msg: string): void {
    this.trace(`VIOLATION ${msg}`);
    this.violations.push(msg);
  }

  /** A node reached state `hash` at `index`: every node must agree. */
  record(who: string, index: number, hash: number): void {
    const known = this.states.get(index);
    if (known === undefined) this.states.set(index, hash);
    else if (known !== hash) this.violation(`${who} has state ${hash} at ${index}, others ${known}`);
  }

  private trace(line: string): void {
    this.o.trace?.(`[t=${this.clock.now()}] ${line}`);
  }

  async run(): Promise<DiskCrashResult> {
    this.root = await mkdtemp(join(tmpdir(), 'raft-disk-sim-'));
    try {
      for (const id of this.ids) await this.boot(id, join(this.root, `${id}-0`), 0);
      for (let t = 0; t < this.o.chaosTicks && this.violations.length === 0; t++) {
        await this.chaosStep();
        await this.tick();
      }
      if (this.violations.length === 0) await this.checkLiveness();
      return { seed: this.seed, settings: this.settings(), crashes: this.crashes, restarts: this.restarts, committed: Math.max(0, ...this.states.keys()) };
    } finally {
      await this.shutdown();
      await rm(this.root, { recursive: true, force: true });
      if (this.violations.length > 0) {
        throw new Error(`${this.violations.length} violation(s): ${this.violations.slice(0, 5).join('; ')}\nsettings: ${this.settings()}`);
      }
    }
  }

  private async boot(id: NodeId, dir: string, gen: number): Promise<void> {
    this.lastDir.set(id, dir);
    const clock = new IncarnationClock(this.clock);
    const rng = this.nodeRng.get(id)!.fork();
    let inc: Incarnation | undefined;
    const who = () => `${id}#${gen}`;
    const sm = new ChainMachine(this, who, () => inc?.alive ?? true);
    let storage: DiskStorage | undefined;
    let node: RaftNode;
    const transport = this.net.transport(id);
    try {
      storage = await DiskStorage.open(dir, { fsync: false, confState: { ...emptyConfState(), voters: this.ids } });
      node = new RaftNode({
        id, storage, transport, stateMachine: sm, clock, tickMs: TICK_MS, electionTick: 10, heartbeatTick: 2,
        rand: () => rng.next(), preVote: this.preVote, checkQuorum: this.checkQuorum,
        snapshotEvery: this.snapshotEvery, snapshotTrailing: this.snapshotTrailing, requestTimeoutMs: 100 * TICK_MS,
      });
      inc = { gen, dir, clock, storage, transport, node, alive: true };
      node.on((e) => {
        if (e.kind === 'failed' && inc!.alive) this.violation(`${who()} failed: ${String(e.error)}`);
      });
      await node.start();
    } catch (err) {
      this.violation(`${who()} could not restart: ${(err as Error).message}`);
      await storage?.close().catch(() => {});
      this.nodes.set(id, undefined);
      return;
    }
    this.nodes.set(id, inc);
    this.trace(`${who()} started`);
  }

  /** Kills `id` now: no stop(), its directory copied as a power cut would leave it. */
  private crash(id: NodeId): void {
    const inc = this.nodes.get(id)!;
    inc.alive = false;
    inc.clock.dead = true;
    void inc.transport.close();
    const tail = inc.storage.unsyncedTail();
    const keep = this.rng.chance(0.5) ? tail.syncedBytes : this.rng.int(tail.syncedBytes, tail.bytes);
    const next = join(this.root, `${id}-${inc.gen + 1}`);
    copyTree(inc.dir, next, (path) => (path === tail.path ? keep : undefined));
    this.crashes++;
    this.trace(`${id}#${inc.gen} crashed (segment kept ${keep} of ${tail.bytes}, synced ${tail.syncedBytes})`);
    this.nodes.set(id, undefined);
    this.lastDir.set(id, next);
    this.dead.push(inc);
    // The dead incarnation's writes go to its old directory; nothing reads it again.
    void inc.storage.close().catch(() => {});
  }

  private async restart(id: NodeId): Promise<void> {
    const dir = this.lastDir.get(id)!;
    const gen = Number(dir.slice(dir.lastIndexOf('-') + 1));
    this.restarts++;
    await this.boot(id, dir, gen);
  }

  private live(): NodeId[] {
    return this.ids.filter((id) => this.nodes.get(id));
  }

  private down(): NodeId[] {
    return this.ids.filter((id) => !this.nodes.get(id));
  }

  private async chaosStep(): Promise<void> {
    const r = this.rng;
    const live = this.live();
    if (live.length > 0 && r.chance(0.35)) {
      const id = r.pick(live);
      this.nodes.get(id)!.node.propose(new TextEncoder().encode(`p${this.clock.now()}:${r.nextU32()}`)).catch(() => {});
      await this.settle();
    }
    // Crash inside the Ready loop too: right after a proposal or between ticks.
    if (live.length > 0 && r.chance(0.03)) this.crash(r.pick(live));
    const down = this.down();
    if (down.length > 0 && r.chance(0.08)) await this.restart(r.pick(down));
    if (r.chance(0.01)) {
      this.net.isolate(r.pick(this.ids));
      this.trace('partition');
    }
    if (r.chance(0.04)) this.net.heal();
  }

  /** One tick of virtual time, then real time until every live node and storage is idle. */
  private async tick(): Promise<void> {
    this.clock.advance(TICK_MS);
    await this.settle();
  }

  /**
   * Real time until every live node and storage is idle, so the run depends only on the
   * seed: file operations finish in the thread pool at their own pace, and virtual time must
   * not move on before they do.
   */
  private async settle(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (let quiet = 0; quiet < 2; ) {
      await new Promise<void>((res) => setImmediate(res));
      const busy = [...this.nodes.values()].some((inc) => inc && (inc.node['looping'] || inc.node['pending'] > 0 || inc.storage['running']));
      quiet = busy ? 0 : quiet + 1;
      if (busy && Date.now() > deadline) throw new Error('disk-crash-sim: nodes still busy after 10 s of real time');
    }
  }

  private async checkLiveness(): Promise<void> {
    this.net.heal();
    this.dropRate = 0;
    for (const id of this.down()) await this.restart(id);
    if (this.violations.length > 0) return;
    let done = false;
    let proposed: Promise<unknown> | undefined;
    let index = 0;
    for (let t = 0; t < this.o.livenessTicks && !done; t++) {
      await this.tick();
      const leader = this.live().map((id) => this.nodes.get(id)!.node).find((n) => n.isLeader);
      if (!proposed && leader) {
        this.trace(`final proposal on ${leader.id}`);
        proposed = leader.propose(new TextEncoder().encode('final')).then(
          (r) => (index = r.index),
          (err: unknown) => {
            this.trace(`final proposal failed: ${String(err)}`);
            proposed = undefined;
          },
        );
      }
      done = index > 0 && this.live().every((id) => this.nodes.get(id)!.node.appliedIndex >= index);
    }
    if (!done) {
      const st = this.live().map((id) => {
        const s = this.nodes.get(id)!.node.status();
        const r = this.nodes.get(id)!.node['raw'].raft;
        return `${id}: ${s.role} term=${s.term} vote=${r.vote} last=${r.raftLog.lastIndex()}/${r.raftLog.lastTerm()} commit=${s.hardState.commit} applied=${s.applied}/${r.raftLog.applied} promotable=${r.promotable()} leader=${s.leader}`;
      });
      this.violation(`no fresh entry applied everywhere within ${this.o.livenessTicks} ticks after the heal (${st.join('; ')})`);
    }
  }

  private async shutdown(): Promise<void> {
    for (const id of this.ids) {
      const inc = this.nodes.get(id);
      if (!inc) continue;
      inc.alive = false;
      await inc.node.stop().catch(() => {});
      await inc.storage.close().catch(() => {});
    }
    for (const inc of this.dead) await inc.storage.close().catch(() => {});
  }
}

/** Copies `from` to `to` synchronously (an instant's view); `cut(path)` may shorten a file. Skips the lock. */
function copyTree(from: string, to: string, cut: (path: string) => number | undefined): void {
  mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(from)) {
    if (name === 'LOCK') continue;
    const src = join(from, name);
    const dst = join(to, name);
    // Only the thread pool runs during this synchronous copy: it may rename a finished
    // snapshot file (no WAL record names it yet) or delete a file the durable log no longer
    // needs. Either way a file that vanished is one the copy can do without.
    const st = statSync(src, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) {
      copyTree(src, dst, cut);
      continue;
    }
    try {
      copyFileSync(src, dst);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const keep = cut(src);
    if (keep !== undefined) truncateSync(dst, keep);
  }
}

/** Runs one seed. */
export function runDiskCrashSim(seed: number, o: DiskCrashOptions): Promise<DiskCrashResult> {
  return new DiskCrashSim(seed, o).run();
}
