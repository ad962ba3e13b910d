/**
 * `npm run bench -- scheduler [--nodes N] [--tasks N] [--services N] [--rounds N] [--only]`:
 * the scheduler alone, on simulated nodes. Places N pending tasks (spread over several
 * services, some with reservations, constraints and a spread preference) on N ready
 * nodes in one call to `schedule()`; each figure is the median of `--rounds` (at least 3)
 * with min and max, and the count placed. Also runs the cases SwarmKit published figures
 * for (1k tasks on 1k nodes: 189 ms; 100k tasks on 1k nodes: 22.6 s): those figures are
 * SwarmKit's own, published, not measured here, and the JSON says so. The last line is
 * one JSON object (`schedule_ms` and `placed` for the main case). `--only` skips the
 * comparison cases.
 */
import { performance } from 'node:perf_hooks';
import type { Node } from '../../src/api/types/node.ts';
import type { Task } from '../../src/api/types/task.ts';
import type { TaskSpec } from '../../src/api/types/service.ts';
import { schedule } from '../../src/manager/scheduler/scheduler.ts';
import { type Summary, figureFields, summary } from './fair.ts';

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

/** One case over its rounds: the time of each `schedule()` call, and how many tasks it placed. */
export interface CaseResult {
  nodes: number;
  tasks: number;
  services: number;
  ms: Summary;
  /** Tasks placed by the last round (every round places the same: the input is the same). */
  placed: number;
}

/** Times `rounds` calls of `schedule()` over the same nodes and pending tasks. */
export function measureCase(nodes: number, tasks: number, services: number, rounds: number): CaseResult {
  const ns = makeNodes(nodes);
  const ts = makeTasks(tasks, services);
  const times: number[] = [];
  let placed = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const res = schedule(ts, ns, new Map());
    times.push(performance.now() - t0);
    placed = res.assignments.size;
  }
  const ms = summary(times);
  console.log(`${tasks} tasks of ${services} services on ${nodes} nodes: median ${ms.median} ms (min ${ms.min}, max ${ms.max}, ${rounds} rounds), ${placed} placed`);
  return { nodes, tasks, services, ms, placed };
}

/** SwarmKit's figures, as published by its authors (not measured here: no SwarmKit scheduler runs in this bench). */
export const SWARMKIT_PUBLISHED = { k1_on_1k_ms: 189, k100_on_1k_ms: 22600 };

/** The JSON line: the main case, and the comparison cases beside SwarmKit's published figures. Pure. */
export function schedulerReport(main: CaseResult, cmp?: { k1: CaseResult; k100: CaseResult }): Record<string, unknown> {
  const out: Record<string, unknown> = {
    bench: 'scheduler', nodes: main.nodes, tasks: main.tasks, services: main.services, rounds: main.ms.values.length,
    ...figureFields('schedule_ms', main.ms), placed: main.placed,
  };
  if (cmp) {
    Object.assign(out, figureFields('k1_on_1k_ms', cmp.k1.ms), { k1_on_1k_placed: cmp.k1.placed },
      figureFields('k100_on_1k_ms', cmp.k100.ms), { k100_on_1k_placed: cmp.k100.placed });
    out.swarmkit_k1_on_1k_ms_published = SWARMKIT_PUBLISHED.k1_on_1k_ms;
    out.swarmkit_k100_on_1k_ms_published = SWARMKIT_PUBLISHED.k100_on_1k_ms;
  }
  out.swarmkit_note = 'SwarmKit figures are published by SwarmKit (its scheduler benchmark, other hardware), not measured here; no ratio or target is claimed from them';
  return out;
}

function arg(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

export async function run(args: string[]): Promise<void> {
  const nodes = arg(args, 'nodes', 1000);
  const tasks = arg(args, 'tasks', 30000);
  const services = arg(args, 'services', 30);
  const rounds = Math.max(3, arg(args, 'rounds', 3));
  if (args.includes('--only')) {
    console.log(JSON.stringify(schedulerReport(measureCase(nodes, tasks, services, rounds))));
    return;
  }
  measureCase(200, 2000, 10, 3); // warm-up
  const k1 = measureCase(1000, 1000, 1, rounds);
  console.log(`  SwarmKit published (not measured here): ${SWARMKIT_PUBLISHED.k1_on_1k_ms} ms`);
  const k100 = measureCase(1000, 100000, 100, rounds);
  console.log(`  SwarmKit published (not measured here): ${SWARMKIT_PUBLISHED.k100_on_1k_ms} ms`);
  const main = measureCase(nodes, tasks, services, rounds);
  console.log(JSON.stringify(schedulerReport(main, { k1, k100 })));
}
