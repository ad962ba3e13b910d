/**
 * `npm run bench -- scale-control [--nodes 100] [--tasks 10000]`
 *
 * The leader's control plane alone, in this one process: a `MemoryStore` whose proposer
 * encodes and decodes every transaction as the Raft log carries it (no replication, no
 * WAL, no sockets), every leader controller (`LeaderControllers`), N ready nodes, and
 * simulated agents that move each assigned task to preparing then running, 500 reports a
 * transaction (as the dispatcher writes them). One service of `--tasks` replicas, until
 * all run. Figures: this process's CPU (`cpu_ms`, the work itself, which a shared
 * machine's load does not inflate), the wall time, the longest event-loop block
 * (`loop_block_max_ms`, what starves Raft's heartbeats in the real daemon), the longest
 * apply of one entry, and the largest synchronous part of each controller's passes.
 * Complements `scale.ts` (real daemons and sessions), whose durations follow the load.
 * The last line is one JSON object. Asserts nothing about time.
 */
import { loadavg } from 'node:os';
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import { MemoryStore, encodeActions, decodeActions } from '../../src/store/index.ts';
import type { CommitTarget, Proposer, StoreAction } from '../../src/store/index.ts';
import { aCluster, aNode, aService } from '../../src/store/testing.ts';
import { nullLogger } from '../../src/common/logger.ts';
import { LeaderControllers } from '../../src/manager/controllers/index.ts';
import { reportedTask } from '../../src/swarm/assignments.ts';
import { STATUS_BATCH_MAX } from '../../src/swarm/status-batch.ts';
import type { Task } from '../../src/api/types/task.ts';

/** Commits through the log's codec, one macrotask later, and times each apply. */
class CodecProposer implements Proposer {
  applyMaxMs = 0;
  entries = 0;
  constructor(private readonly target: CommitTarget) {}
  async propose(actions: readonly StoreAction[]): Promise<{ index: number }> {
    const bytes = encodeActions(actions);
    await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    const r = this.target.applyCommitted(decodeActions(bytes), this.target.lastIndex + 1);
    this.applyMaxMs = Math.max(this.applyMaxMs, performance.now() - t0);
    this.entries++;
    return r;
  }
}

function arg(args: string[], name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
}

const round = (x: number) => Math.round(x);

/** One run: N nodes, T tasks; resolves with the figures. */
export async function controlPlane(nodes: number, tasks: number): Promise<Record<string, unknown>> {
  let proposer!: CodecProposer;
  const store = new MemoryStore({ proposer: (s) => (proposer = new CodecProposer(s)) });
  await store.update((tx) => void tx.create('cluster', aCluster()));
  for (let i = 0; i < nodes; i += 100) {
    await store.update((tx) => {
      for (let j = i; j < Math.min(nodes, i + 100); j++) tx.create('node', aNode(`n${j}`));
    });
  }
  const leaders = new LeaderControllers({ store, raft: { on: () => () => {} }, isLeader: true }, nullLogger);
  // The synchronous part of each controller's passes (the async rest waits on the log).
  const passMax: Record<string, number> = {};
  for (const c of (leaders as unknown as { controllers: { pass(): Promise<void>; constructor: { name: string } }[] }).controllers) {
    const pass = c.pass.bind(c);
    c.pass = () => {
      const t0 = performance.now();
      const p = pass();
      const name = c.constructor.name.replace(/Controller$/, '');
      passMax[name] = Math.max(passMax[name] ?? 0, round(performance.now() - t0));
      return p;
    };
  }
  const block = monitorEventLoopDelay({ resolution: 5 });
  block.enable();
  const load0 = loadavg()[0];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { value: svc } = await store.update((tx) => tx.create('service', aService('scale', tasks)));
  const ofService = () => store.view((tx) => tx.find('task', { serviceId: svc.ID }));
  let reporting = false;
  const agents = setInterval(() => {
    if (reporting) return;
    reporting = true;
    void (async () => {
      const moving = ofService().filter((t) => t.NodeID && t.DesiredState === 'running' && t.Status.State !== 'running');
      const next = (t: Task): Task['Status'] => ({ ...t.Status, State: t.Status.State === 'preparing' ? 'running' : 'preparing', Timestamp: new Date().toISOString() });
      for (let i = 0; i < moving.length; i += STATUS_BATCH_MAX) {
        const batch = moving.slice(i, i + STATUS_BATCH_MAX);
        await store.update((tx) => {
          for (const t of batch) {
            const n = reportedTask(tx.get('task', t.ID), t.NodeID!, next(t));
            if (n) tx.update('task', n);
          }
        }).catch(() => {}); // a conflict with a controller's write: the next round reports again
      }
    })().finally(() => (reporting = false));
  }, 100);
  try {
    while (ofService().filter((t) => t.Status.State === 'running').length < tasks) await new Promise((r) => setTimeout(r, 50));
  } finally {
    clearInterval(agents);
    block.disable();
    leaders.close();
  }
  const cpu = process.cpuUsage(cpu0);
  const failover = await newLeaderPasses(store, proposer);
  return {
    bench: 'scale-control', nodes, tasks,
    cpu_ms: round((cpu.user + cpu.system) / 1000),
    wall_ms: round(performance.now() - t0),
    loop_block_max_ms: round(block.max / 1e6),
    apply_max_ms: round(proposer.applyMaxMs),
    entries: proposer.entries,
    pass_sync_max_ms: passMax,
    failover,
    load: [Math.round(load0 * 10) / 10, Math.round(loadavg()[0] * 10) / 10],
  };
}

/**
 * What a new leader's controllers cost on a store that already holds every task running
 * (a failover): fresh `LeaderControllers` make their first passes over everything; until
 * the log goes quiet. `cpu_ms` is the work; `loop_block_max_ms` is how long sessions
 * reconnecting to a real new leader could wait behind one pass.
 */
async function newLeaderPasses(store: MemoryStore, proposer: CodecProposer): Promise<Record<string, number>> {
  const block = monitorEventLoopDelay({ resolution: 5 });
  const entries0 = proposer.entries;
  block.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const leaders = new LeaderControllers({ store, raft: { on: () => () => {} }, isLeader: true }, nullLogger);
  // Quiet: no entry for 20 turns of 10 ms.
  for (let last = -1, still = 0; still < 20; ) {
    await new Promise((r) => setTimeout(r, 10));
    if (proposer.entries === last) {
      still++;
    } else {
      last = proposer.entries;
      still = 0;
    }
  }
  leaders.close();
  block.disable();
  const cpu = process.cpuUsage(cpu0);
  return { cpu_ms: round((cpu.user + cpu.system) / 1000), wall_ms: round(performance.now() - t0), loop_block_max_ms: round(block.max / 1e6), entries: proposer.entries - entries0 };
}

export async function run(args: string[]): Promise<void> {
  const nodes = Number(arg(args, 'nodes', '100'));
  const tasks = Number(arg(args, 'tasks', '10000'));
  // A malformed count would run an empty cluster (NaN makes no nodes) and report it as a figure.
  for (const [name, v] of [['nodes', nodes], ['tasks', tasks]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`scale-control: --${name} must be a positive integer, got ${arg(args, name, '')}`);
  }
  const r = await controlPlane(nodes, tasks);
  console.log(`scale-control: ${r.tasks} tasks running on ${r.nodes} nodes: ${r.cpu_ms} ms CPU, ${r.wall_ms} ms wall, longest loop block ${r.loop_block_max_ms} ms (load ${JSON.stringify(r.load)})`);
  const f = r.failover as Record<string, number>;
  console.log(`scale-control: a new leader's first passes: ${f.cpu_ms} ms CPU, ${f.wall_ms} ms wall, longest loop block ${f.loop_block_max_ms} ms, ${f.entries} entries`);
  console.log(JSON.stringify(r));
}
