/**
 * `npm run bench -- observe-scrape [--tasks N] [--scrapes S]`: the CPU of one metrics
 * scrape, in this process, without a lab: N processes (default 50; `sleep`, each in a
 * network namespace of its own when run as root, as task containers are) stand for the
 * running tasks of a node, and a client in another process GETs `/metrics` from
 * `serveMetrics` S times in a row (default 300) after a warm-up.
 *   scrape_cpu_ms   CPU time (user + system) of this process per scrape (render and HTTP)
 *   scrape_ms       median wall time of a scrape
 *   scrape_bytes    size of one exposition
 * At one scrape a second, `scrape_cpu_ms / 10` is the CPU % a scrape adds (observe.ts
 * measures that on a real node; this isolates the scrape so a profile can be taken:
 * `node --cpu-prof --import tsx labs/bench/main.ts observe-scrape`). Asserts nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { NodeMetrics } from '../../src/metrics/registry.ts';
import { serveMetrics } from '../../src/metrics/server.ts';
import type { UsageSource } from '../../src/metrics/usage-reader.ts';
import type { Task } from '../../src/api/types/task.ts';
import { median } from './fair.ts';

function argValue(args: string[], name: string, dflt: number): number {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : dflt;
}

/** `n` sleeping processes, in their own netns when we may make one. */
function startSleepers(n: number): ChildProcess[] {
  const own = process.getuid?.() === 0;
  return Array.from({ length: n }, () => spawn(own ? 'unshare' : 'sleep', own ? ['-n', 'sleep', '3600'] : ['3600'], { stdio: 'ignore' }));
}

/** The v1 controllers a task container's cgroup is read from (cgroup-sample.ts). */
const CONTROLLERS = ['memory', 'cpuacct', 'pids'];

/**
 * Moves each process into a cgroup of its own under `/sys/fs/cgroup/C/shoalscrb-PID/` (as
 * a container has: a leaf's memory.stat costs what a container's does, the root's far
 * more); returns the directories to remove. Root on cgroup v1 only; else nothing moves.
 */
function ownCgroups(procs: ChildProcess[]): string[] {
  const made: string[] = [];
  if (process.getuid?.() !== 0) return made;
  try {
    for (const c of CONTROLLERS) {
      const top = `/sys/fs/cgroup/${c}/shoalscrb-${process.pid}`;
      mkdirSync(top);
      made.push(top);
      procs.forEach((p, i) => {
        const dir = `${top}/t${i}`;
        mkdirSync(dir);
        made.push(dir);
        writeFileSync(`${dir}/cgroup.procs`, String(p.pid));
      });
    }
  } catch (err) {
    console.log(`observe-scrape: tasks stay in this process's cgroups (${(err as Error).message})`);
  }
  return made;
}

/** A client in a process of its own: GETs `url` `count` times in a row, prints the wall times (ms) as JSON. */
const SCRAPER = `
const http = require('node:http');
const [url, count] = process.argv.slice(1);
const one = () => new Promise((resolve, reject) => {
  const t0 = process.hrtime.bigint();
  http.get(url, (res) => { let n = 0; res.on('data', (c) => n += c.length); res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes: n })); }).on('error', reject);
});
(async () => { const out = []; for (let i = 0; i < Number(count); i++) out.push(await one()); process.stdout.write(JSON.stringify(out)); })();
`;

/** Runs the scraper against `url`; resolves with its figures once it exited. */
function scrapeFrom(url: string, count: number): Promise<{ ms: number; bytes: number }[]> {
  const child = spawn(process.execPath, ['-e', SCRAPER, url, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`observe-scrape: scraper exited with ${code}`);
    return JSON.parse(out) as { ms: number; bytes: number }[];
  });
}

/** A usage source over `procs`, shaped as the executor's controllers and the agent's tasks. */
function sourceOf(procs: ChildProcess[]): UsageSource {
  const containers = procs.map((p, i) => ({
    cid: `c${String(i).padStart(11, '0')}abcdef0123456789`,
    state: 'running' as const,
    spec: { taskId: `task${i}`, image: 'busybox:latest', labels: {}, resources: { nanoCpus: i % 2 ? 5e8 : 0 } },
    record: { pid: p.pid!, cgroup: `/shoal/c${i}`, createdAt: '2026-01-01T00:00:00Z', startedAt: '2026-01-01T00:00:01Z' },
  }));
  const tasks = procs.map((_, i) => ({
    task: { ID: `task${i}`, ServiceID: 'svc1', NodeID: 'node1', Slot: i + 1, ServiceAnnotations: { Name: 'observed' } } as unknown as Task,
  }));
  return { containers: () => containers as never, tasks: () => tasks };
}

export async function run(args: string[]): Promise<void> {
  const n = argValue(args, '--tasks', 50);
  const scrapes = argValue(args, '--scrapes', 300);
  const procs = startSleepers(n);
  let cgroups: string[] = [];
  try {
    // `unshare -n sleep` execs into sleep: wait until each pid is in its own netns (or is sleep).
    await new Promise((r) => setTimeout(r, 300));
    cgroups = ownCgroups(procs);
    const metrics = new NodeMetrics({ usage: sourceOf(procs) });
    // Served as the daemon serves it; the client is another process, so this process's
    // CPU time is the scrapes' (render and HTTP), not the client's.
    const server = await serveMetrics(metrics, { host: '127.0.0.1', port: 0 });
    try {
      const url = `http://127.0.0.1:${server.address.port}/metrics`;
      await scrapeFrom(url, 20);
      const cpu0 = process.cpuUsage();
      const runs = await scrapeFrom(url, scrapes);
      const cpu = process.cpuUsage(cpu0);
      const figures = {
        bench: 'observe-scrape',
        tasks: n,
        scrapes,
        scrape_cpu_ms: Number(((cpu.user + cpu.system) / 1000 / scrapes).toFixed(2)),
        scrape_user_ms: Number((cpu.user / 1000 / scrapes).toFixed(2)),
        scrape_system_ms: Number((cpu.system / 1000 / scrapes).toFixed(2)),
        scrape_ms: Number(median(runs.map((r) => r.ms))!.toFixed(2)),
        scrape_bytes: runs[runs.length - 1].bytes,
      };
      console.log(`observe-scrape: ${n} tasks, ${scrapes} scrapes over HTTP: ${figures.scrape_cpu_ms} ms CPU each (user ${figures.scrape_user_ms}, system ${figures.scrape_system_ms}), median ${figures.scrape_ms} ms, ${figures.scrape_bytes} bytes`);
      console.log(JSON.stringify(figures));
    } finally {
      await server.close();
    }
  } finally {
    await Promise.all(procs.map((p) => {
      const exited = p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : once(p, 'exit');
      p.kill('SIGKILL');
      return exited;
    }));
    for (const dir of cgroups.reverse()) {
      try {
        rmdirSync(dir);
      } catch (err) {
        console.log(`observe-scrape: cannot remove ${dir}: ${(err as Error).message}`);
      }
    }
  }
}
