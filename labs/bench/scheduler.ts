/**
 * `npm run bench -- scheduler [--nodes N] [--tasks N] [--services N]`: the scheduler
 * alone, on simulated nodes. Places N pending tasks (spread over several services, some
 * with reservations, constraints and a spread preference) on N ready nodes in one call
 * to `schedule()`, and prints the time. Also runs SwarmKit's published cases (1k tasks
 * on 1k nodes: 189 ms; 100k tasks on 1k nodes: 22.6 s) for comparison. The last line
 * is one JSON object with `nodes`, `tasks`, `schedule_ms` for the main case.
 * `--only` skips the comparison cases.
 */
import { performance } from 'node:perf_hooks';
import type { Node } from '../../src/api/types/node.ts';
import type { Task } from '../../src/api/types/task.ts';
import type { TaskSpec } from '../../src/api/types/service.ts';
import { schedule } from '../../src/manager/scheduler/scheduler.ts';

function makeNodes(count: number): Node[] {
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push({
      ID: `node${String(i).padStart(5, '0')}`,
      Version: { Index: 1 },
      CreatedAt: '2026-01-01T00:00:00Z',
      UpdatedAt: '2026-01-01T00:00:00Z',
      Spec: { Labels: { rack: `r${i % 10}`, zone: i % 2 ? 'a' : 'b' }, Role: i < 3 ? 'manager' : 'worker', Availability: 'active' },
      Description: {
        Hostname: `host${i}`,
        Platform: { OS: 'linux', Architecture: 'x86_64' },
        Resources: { NanoCPUs: 64e9, MemoryBytes: 256 * 2 ** 30 },
        Engine: { EngineVersion: '1', Labels: {}, Plugins: [] },
      },
      Status: { State: 'ready', Addr: `10.0.${i >> 8}.${i & 255}` },
    });
  }
  return nodes;
}

function specFor(s: number): TaskSpec {
  const spec: TaskSpec = { ContainerSpec: { Image: 'busybox' } };
  if (s % 3 === 1) spec.Resources = { Reservations: { NanoCPUs: 1e7, MemoryBytes: 4 * 2 ** 20 } };
  if (s % 5 === 2) spec.Placement = { Constraints: ['node.role!=manager', 'node.labels.zone==a'] };
  if (s % 4 === 3) spec.Placement = { ...spec.Placement, Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.rack' } }] };
  return spec;
}

function makeTasks(count: number, services: number): Task[] {
  const tasks: Task[] = [];
  const specs = Array.from({ length: services }, (_, s) => specFor(s));
  for (let i = 0; i < count; i++) {
    const s = i % services;
    tasks.push({
      ID: `task${i}`,
      Version: { Index: 1 },
      CreatedAt: '2026-01-01T00:00:00Z',
      UpdatedAt: '2026-01-01T00:00:00Z',
      Labels: {},
      Spec: specs[s],
      ServiceID: `svc${s}`,
      Slot: Math.floor(i / services) + 1,
      Status: { Timestamp: '2026-01-01T00:00:00Z', State: 'pending', Message: 'pending task scheduling' },
      DesiredState: 'running',
      SpecVersion: { Index: 1 },
    });
  }
  return tasks;
}

function measure(nodes: number, tasks: number, services: number, rounds: number): number {
  const ns = makeNodes(nodes);
  const ts = makeTasks(tasks, services);
  let best = Infinity;
  let placed = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const res = schedule(ts, ns, new Map());
    const ms = performance.now() - t0;
    placed = res.assignments.size;
    best = Math.min(best, ms);
  }
  console.log(`${tasks} tasks of ${services} services on ${nodes} nodes: ${best.toFixed(1)} ms (best of ${rounds}), ${placed} placed`);
  return best;
}

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

export async function run(args: string[]): Promise<void> {
  const nodes = arg(args, 'nodes', 1000);
  const tasks = arg(args, 'tasks', 30000);
  const services = arg(args, 'services', 30);
  if (args.includes('--only')) {
    const ms = measure(nodes, tasks, services, 3);
    console.log(JSON.stringify({ nodes, tasks, services, schedule_ms: Number(ms.toFixed(1)) }));
    return;
  }
  measure(200, 2000, 10, 3); // warm-up
  const small = measure(1000, 1000, 1, 3);
  console.log(`  SwarmKit published: 189 ms → ratio ${(189 / small).toFixed(0)}x`);
  const big = measure(1000, 100000, 100, 3);
  console.log(`  SwarmKit published: 22600 ms → ratio ${(22600 / big).toFixed(0)}x`);
  const main = measure(nodes, tasks, services, 3);
  console.log(JSON.stringify({ nodes, tasks, services, schedule_ms: Number(main.toFixed(1)), k1_on_1k_ms: Number(small.toFixed(1)), k100_on_1k_ms: Number(big.toFixed(1)) }));
}
