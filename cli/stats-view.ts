/**
 * What `shoal service stats` and `shoal node stats` print, from one `GET /shoal/stats`
 * report: pure functions from the report to rows (tables for people, plain objects for
 * `--format json`), and the loop that refreshes a live table in place.
 */
import type { NodeUsage, StatsReport, TaskUsageRate } from '../src/api/types/stats.ts';
import { table } from './format.ts';

/** Binary sizes as `docker stats` prints memory: `12.5MiB`. */
export function binarySize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(2).replace(/\.?0+$/, '')}${units[i]}`;
}

/** Decimal sizes as `docker stats` prints network I/O: `1.2kB`. */
export function decimalSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${i === 0 ? n.toFixed(0) : n.toPrecision(3).replace(/\.?0+$/, '')}${units[i]}`;
}

const pct = (n: number): string => `${n.toFixed(2)}%`;

/** One service's row. */
export interface ServiceStatsRow {
  ID: string; Name: string; Running: number; Desired: number;
  CPUPerc: number; MemUsage: number; NetRx: number; NetTx: number; NetRxRate: number; NetTxRate: number;
}

/** One task's row. */
export interface TaskStatsRow {
  ID: string; Name: string; Service: string; Node: string; CPUPerc: number; MemUsage: number; MemLimit: number; NetRx: number; NetTx: number; Pids: number;
}

/** One node's row. */
export interface NodeStatsRow {
  ID: string; Hostname: string; Tasks: number; CPUs: number; CPUPerc: number; TasksCPUPerc: number;
  MemUsed: number; MemTotal: number; TasksMem: number; NetRx: number; NetTx: number;
}

function allTasks(report: StatsReport): (TaskUsageRate & { hostname: string })[] {
  return report.nodes.flatMap((n) => n.tasks.map((t) => ({ ...t, hostname: n.hostname })));
}

/** Does `ref` name this service (name, ID or ID prefix)? */
function names(ref: string, s: { id: string; name: string }): boolean {
  return s.name === ref || s.id === ref || (ref.length >= 3 && s.id.startsWith(ref));
}

/** Per-service rows (all services, or those `refs` name), sorted by name. */
export function serviceRows(report: StatsReport, refs: string[] = []): ServiceStatsRow[] {
  const tasks = allTasks(report);
  return report.services.filter((s) => !refs.length || refs.some((r) => names(r, s))).map((s) => {
    const mine = tasks.filter((t) => t.serviceId === s.id);
    const sum = (f: (t: TaskUsageRate) => number): number => mine.reduce((a, t) => a + f(t), 0);
    return {
      ID: s.id, Name: s.name, Running: s.running, Desired: s.desired,
      CPUPerc: sum((t) => t.cpuPercent), MemUsage: sum((t) => t.memoryBytes),
      NetRx: sum((t) => t.rxBytes), NetTx: sum((t) => t.txBytes), NetRxRate: sum((t) => t.rxBytesPerSec), NetTxRate: sum((t) => t.txBytesPerSec),
    };
  });
}

/** Per-task rows of the services `refs` name (all when empty), sorted by task name. */
export function taskRows(report: StatsReport, refs: string[] = []): TaskStatsRow[] {
  const wanted = report.services.filter((s) => !refs.length || refs.some((r) => names(r, s))).map((s) => s.id);
  return allTasks(report).filter((t) => wanted.includes(t.serviceId)).map((t) => ({
    ID: t.taskId, Name: t.taskName, Service: t.serviceName, Node: t.hostname, CPUPerc: t.cpuPercent, MemUsage: t.memoryBytes,
    MemLimit: t.memoryLimitBytes, NetRx: t.rxBytes, NetTx: t.txBytes, Pids: t.pids,
  })).sort((a, b) => a.Name.localeCompare(b.Name));
}

/** Per-node rows, sorted by host name. */
export function nodeRows(report: StatsReport): NodeStatsRow[] {
  return report.nodes.map((n: NodeUsage) => ({
    ID: n.nodeId, Hostname: n.hostname, Tasks: n.tasks.length, CPUs: n.cpus, CPUPerc: n.cpuPercent,
    TasksCPUPerc: n.tasks.reduce((a, t) => a + t.cpuPercent, 0), MemUsed: n.memoryUsedBytes, MemTotal: n.memoryTotalBytes,
    TasksMem: n.tasks.reduce((a, t) => a + t.memoryBytes, 0),
    NetRx: n.tasks.reduce((a, t) => a + t.rxBytes, 0), NetTx: n.tasks.reduce((a, t) => a + t.txBytes, 0),
  }));
}

/** The service table, with the task table below when services were named. */
export function serviceTable(report: StatsReport, refs: string[]): string {
  const svc = table(['NAME', 'TASKS', 'CPU %', 'MEM USAGE', 'NET I/O', 'NET RATE'], serviceRows(report, refs).map((r) => [
    r.Name, `${r.Running}/${r.Desired}`, pct(r.CPUPerc), binarySize(r.MemUsage), `${decimalSize(r.NetRx)} / ${decimalSize(r.NetTx)}`,
    `${decimalSize(r.NetRxRate)}/s / ${decimalSize(r.NetTxRate)}/s`,
  ]));
  if (!refs.length) return svc + unreachableLines(report);
  const tasks = table(['TASK', 'NODE', 'CPU %', 'MEM USAGE / LIMIT', 'NET I/O', 'PIDS'], taskRows(report, refs).map((t) => [
    t.Name, t.Node, pct(t.CPUPerc), `${binarySize(t.MemUsage)} / ${binarySize(t.MemLimit)}`, `${decimalSize(t.NetRx)} / ${decimalSize(t.NetTx)}`, String(t.Pids),
  ]));
  return svc + '\n' + tasks + unreachableLines(report);
}

/** The node table. */
export function nodeTable(report: StatsReport): string {
  return table(['HOSTNAME', 'TASKS', 'CPU %', 'TASKS CPU %', 'MEM USAGE / TOTAL', 'TASKS MEM', 'NET I/O'], nodeRows(report).map((n) => [
    n.Hostname, String(n.Tasks), `${pct(n.CPUPerc)} of ${n.CPUs}`, pct(n.TasksCPUPerc), `${binarySize(n.MemUsed)} / ${binarySize(n.MemTotal)}`,
    binarySize(n.TasksMem), `${decimalSize(n.NetRx)} / ${decimalSize(n.NetTx)}`,
  ])) + unreachableLines(report);
}

function unreachableLines(report: StatsReport): string {
  return Object.entries(report.unreachable).map(([id, why]) => `node ${id} not measured: ${why}\n`).join('');
}

/**
 * Prints `render(report)` once (`stream` false) or every `intervalMs` until `signal`
 * aborts, redrawn in place (cursor home, clear to end) as `docker stats` does.
 */
export async function showStats(opts: {
  fetch: () => Promise<StatsReport>; render: (r: StatsReport) => string; stream: boolean; write: (s: string) => void;
  intervalMs?: number; signal?: AbortSignal; clear?: boolean;
}): Promise<void> {
  for (;;) {
    const report = await opts.fetch();
    const text = opts.render(report);
    opts.write(opts.stream && opts.clear !== false ? `\x1b[H\x1b[2J${text}` : text);
    if (!opts.stream || opts.signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, opts.intervalMs ?? 1000);
      opts.signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
    if (opts.signal?.aborted) return;
  }
}
