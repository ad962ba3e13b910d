/**
 * `npm run bench -- executor [--runs N] [--cycles N] [--mem-tasks N] [--no-docker]`
 *
 * Start latency (image present; request → process running: prepare + start, i.e.
 * overlay mount, netns with lo up, bundle, `runc run -d`) p50/p99 for 1 and for 20
 * concurrent tasks; stop latency (shutdown with grace 0: signal → exit observed);
 * memory per task (daemon RSS growth + monitor RSS growth, 50 tasks running); and
 * leftovers after N start/stop cycles. In the same run, the same busybox image on a
 * Docker Engine (Debian's docker.io) started here with temp dirs and its own socket:
 * start = POST /containers/create + /start (what `docker run -d` does, without the
 * CLI's own start-up, so Docker is measured at its fastest), stop = POST /stop?t=0.
 * Docker memory = dockerd + containerd + shims. Prints figures; the last line is JSON.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import { buildTestImage, writeOciTarball } from '../lib/test-image.ts';
import { ImageService } from '../../src/images/image-service.ts';
import { Executor } from '../../src/agent/exec/executor.ts';
import { cgroupDirs } from '../../src/agent/exec/kernel.ts';
import type { TaskContainerSpec } from '../../src/agent/exec/types.ts';

const CMD = ['sleep', '3600'];

/** A full GC before reading RSS, so heap slack does not pass for per-task memory. */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)].toFixed(2) : NaN;
}

function rssKb(pid: number | 'self'): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

async function shoal(base: string, tar: string, opts: { runs: number; cycles: number; memTasks: number }) {
  const name = `bench${process.pid}`;
  const dataRoot = join(base, 'shoal-data');
  const stateDir = join(base, 'shoal-run');
  const images = new ImageService({ root: join(dataRoot, 'images') });
  await images.load(tar);
  const ex = new Executor({ name, dataRoot, stateDir, images });
  images.inUse = (id) => ex.imageInUse(id);
  await ex.restore();
  let seq = 0;
  const spec = (): TaskContainerSpec => ({ taskId: `${name}-${seq++}`, image: 'shoal/bb:v1', command: CMD });
  const startOne = async () => {
    const c = ex.controller(spec());
    const t0 = performance.now();
    await c.prepare();
    await c.start();
    return { c, ms: performance.now() - t0 };
  };
  const out = { start: [] as number[], start20: [] as number[], stop: [] as number[], memPerTaskKb: 0, memDetail: {} as Record<string, number>, leftovers: {} as Record<string, number>, leftoverTotal: 0 };
  try {
    for (let i = 0; i < 5; i++) { const { c } = await startOne(); await c.terminate(); await c.remove(); } // warm-up
    for (let i = 0; i < opts.runs; i++) {
      const { c, ms } = await startOne();
      out.start.push(ms);
      const t0 = performance.now();
      await c.shutdown({ graceMs: 0 });
      out.stop.push(performance.now() - t0);
      await c.remove();
    }
    for (let r = 0; r < Math.max(1, Math.round(opts.runs / 20)); r++) {
      const batch = await Promise.all(Array.from({ length: 20 }, startOne));
      out.start20.push(...batch.map((b) => b.ms));
      await Promise.all(batch.map(async (b) => { await b.c.terminate(); await b.c.remove(); }));
    }
    // Memory with memTasks running.
    const monitorPid = (await ex.monitor()).pid;
    const settle = async () => { for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 200)); } };
    // Warm-up at the same scale, so code compiled and heap shaped on first use is not counted.
    const warm: import('../../src/agent/exec/controller.ts').TaskController[] = [];
    for (let i = 0; i < opts.memTasks; i++) warm.push((await startOne()).c);
    for (const c of warm) { await c.terminate(); await c.remove(); }
    await settle();
    const before = rssKb('self') + rssKb(monitorPid);
    const heapBefore = process.memoryUsage();
    const running: import("../../src/agent/exec/controller.ts").TaskController[] = [];
    for (let i = 0; i < opts.memTasks; i++) running.push((await startOne()).c);
    await settle();
    const heapAfter = process.memoryUsage();
    const helpers = childrenOf(monitorPid).filter((p) => !running.some((c) => c.inspect().pid === p));
    const after = rssKb('self') + rssKb(monitorPid) + helpers.reduce((n, p) => n + rssKb(p), 0);
    // RSS is noisy (the heap grows and shrinks in big steps); the retained JS heap and
    // external memory after a full GC are exact. Report the larger of the two per task.
    const rssPerTask = (after - before) / opts.memTasks;
    const heapPerTask = (heapAfter.heapUsed + heapAfter.external - heapBefore.heapUsed - heapBefore.external) / 1024 / opts.memTasks;
    out.memPerTaskKb = +Math.max(rssPerTask, heapPerTask, 0).toFixed(1);
    out.memDetail = { rss_growth_per_task_kb: +rssPerTask.toFixed(1), heap_growth_per_task_kb: +heapPerTask.toFixed(1), helper_processes: helpers.length };
    for (const c of running) { await c.terminate(); await c.remove(); }
    // Cycles, 4 at a time.
    let done = 0;
    const worker = async () => {
      while (done < opts.cycles) { done++; const { c } = await startOne(); await c.shutdown({ graceMs: 0 }); await c.remove(); }
    };
    const t0 = performance.now();
    await Promise.all([worker(), worker(), worker(), worker()]);
    console.log(`shoal: ${opts.cycles} start/stop cycles in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.split(' ')[1]?.startsWith(base)).length;
    const cgroups = cgroupDirs(`/shoal-${name}`).reduce((n, d) => n + readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).length, 0);
    const netns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.includes(name)).length : 0;
    const containers = (await ex.runtime.list()).length;
    const processes = childrenOf(monitorPid).length;
    const taskDirs = readdirSync(ex.paths.tasksDir).length + readdirSync(ex.paths.containersDir).length;
    out.leftovers = { mounts, cgroups, netns, containers, processes, taskDirs };
    out.leftoverTotal = mounts + cgroups + netns + containers + processes + taskDirs;
  } finally {
    await ex.destroy();
  }
  return out;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

function api(sock: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath: sock, method, path, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
      let s = '';
      res.setEncoding('utf8').on('data', (d) => (s += d)).on('end', () => {
        let json: any = s;
        try { json = s ? JSON.parse(s) : undefined; } catch { /* text */ }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function docker(base: string, tar: string, opts: { runs: number; memTasks: number }) {
  const root = join(base, 'docker');
  const dataRoot = join(root, 'data');
  const execRoot = join(root, 'exec');
  const sock = join(root, 'docker.sock');
  mkdirSync(dataRoot, { recursive: true });
  mkdirSync(execRoot, { recursive: true });
  const cgParent = `shoal-bench-docker-${process.pid}`;
  // dockerd and containerd make these whatever --exec-root says; remove them after if we made them.
  const hostDirs = ['/run/docker', '/run/containerd'].filter((p) => !existsSync(p));
  const d = spawn('dockerd', [
    '--data-root', dataRoot, '--exec-root', execRoot, '-H', `unix://${sock}`, '--pidfile', join(root, 'dockerd.pid'),
    '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--storage-driver=overlay2',
    '--cgroup-parent', cgParent, '--log-level', 'error', '--userland-proxy=false',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let derr = '';
  d.stderr!.on('data', (x) => (derr += x));
  const out = { start: [] as number[], start20: [] as number[], stop: [] as number[], memPerTaskKb: 0 };
  try {
    for (let i = 0; i < 300; i++) {
      if (existsSync(sock) && (await api(sock, 'GET', '/_ping').catch(() => ({ status: 0 }))).status === 200) break;
      if (d.exitCode !== null) throw new Error(`dockerd exited: ${derr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const load = spawnSync('/usr/bin/docker', ['-H', `unix://${sock}`, 'load', '-i', tar], { encoding: 'utf8' });
    if (load.status !== 0) throw new Error(`docker load: ${load.stderr}`);
    const create = async () => {
      const r = await api(sock, 'POST', '/containers/create', { Image: 'shoal/bb:v1', Cmd: CMD, HostConfig: { NetworkMode: 'none' } });
      if (r.status !== 201) throw new Error(`docker create: ${JSON.stringify(r.json)}`);
      return r.json.Id as string;
    };
    const runOne = async () => {
      const t0 = performance.now();
      const id = await create();
      const s = await api(sock, 'POST', `/containers/${id}/start`);
      if (s.status !== 204) throw new Error(`docker start: ${JSON.stringify(s.json)}`);
      return { id, ms: performance.now() - t0 };
    };
    const rm = (id: string) => api(sock, 'DELETE', `/containers/${id}?force=1`);
    for (let i = 0; i < 3; i++) { const { id } = await runOne(); await rm(id); }
    for (let i = 0; i < opts.runs; i++) {
      const { id, ms } = await runOne();
      out.start.push(ms);
      const t0 = performance.now();
      await api(sock, 'POST', `/containers/${id}/stop?t=0`);
      out.stop.push(performance.now() - t0);
      await rm(id);
    }
    for (let r = 0; r < Math.max(1, Math.round(opts.runs / 20)); r++) {
      const batch = await Promise.all(Array.from({ length: 20 }, runOne));
      out.start20.push(...batch.map((b) => b.ms));
      await Promise.all(batch.map((b) => rm(b.id)));
    }
    const dockerPids = () => {
      const pids: number[] = [];
      for (const p of readdirSync('/proc')) {
        if (!/^\d+$/.test(p)) continue;
        try {
          const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
          if ((cmd.startsWith('dockerd') || cmd.includes('containerd')) && cmd.includes(root)) pids.push(Number(p));
        } catch { /* gone */ }
      }
      return pids;
    };
    await new Promise((r) => setTimeout(r, 300));
    const before = dockerPids().reduce((n, p) => n + rssKb(p), 0);
    const ids: string[] = [];
    for (let i = 0; i < opts.memTasks; i++) ids.push((await runOne()).id);
    await new Promise((r) => setTimeout(r, 500));
    const after = dockerPids().reduce((n, p) => n + rssKb(p), 0);
    out.memPerTaskKb = Math.round((after - before) / opts.memTasks);
    for (const id of ids) await rm(id);
  } finally {
    // Stop dockerd (it stops its containerd); then anything of ours left, by PID.
    if (d.exitCode === null) {
      d.kill('SIGTERM');
      await Promise.race([new Promise((r) => d.once('exit', r)), new Promise((r) => setTimeout(r, 15_000))]);
      if (d.exitCode === null) d.kill('SIGKILL');
    }
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try { if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(root)) process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
    }
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(root)).reverse();
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    for (const dir of cgroupDirs(`/${cgParent}`)) spawnSync('find', [dir, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';']);
    rmSync(root, { recursive: true, force: true });
    for (const dir of hostDirs) if (existsSync(dir)) spawnSync('find', [dir, '-depth', '-type', 'd', '-empty', '-delete']);
  }
  return out;
}

export async function run(args: string[]): Promise<void> {
  const runs = arg(args, 'runs', 40);
  const cycles = arg(args, 'cycles', 1000);
  const memTasks = arg(args, 'mem-tasks', 50);
  const base = mkdtempSync(join(tmpdir(), 'shoal-bench-exec-'));
  try {
    const layout = join(base, 'layout');
    buildTestImage(layout, { version: 'v1' });
    const tar = join(base, 'bb.tar');
    writeOciTarball(layout, tar);
    const s = await shoal(base, tar, { runs, cycles, memTasks });
    console.log(`shoal:  start p50 ${pct(s.start, 50)} ms p99 ${pct(s.start, 99)} ms; 20 concurrent p50 ${pct(s.start20, 50)} p99 ${pct(s.start20, 99)} ms; stop p50 ${pct(s.stop, 50)} ms; ${s.memPerTaskKb} KiB/task; leftovers ${JSON.stringify(s.leftovers)}`);
    let dk: Awaited<ReturnType<typeof docker>> | undefined;
    if (!args.includes('--no-docker')) {
      dk = await docker(base, tar, { runs, memTasks });
      console.log(`docker: start p50 ${pct(dk.start, 50)} ms p99 ${pct(dk.start, 99)} ms; 20 concurrent p50 ${pct(dk.start20, 50)} p99 ${pct(dk.start20, 99)} ms; stop p50 ${pct(dk.stop, 50)} ms; ${dk.memPerTaskKb} KiB/task`);
    }
    const r = (a: number, b: number | undefined) => (b ? +(a / b).toPrecision(3) : null);
    console.log(JSON.stringify({
      bench: 'executor', runtime: 'runc', runs, cycles, mem_tasks: memTasks,
      start_p50_ms: pct(s.start, 50), start_p99_ms: pct(s.start, 99),
      start20_p50_ms: pct(s.start20, 50), start20_p99_ms: pct(s.start20, 99),
      stop_p50_ms: pct(s.stop, 50), stop_p99_ms: pct(s.stop, 99),
      docker_start_p50_ms: dk ? pct(dk.start, 50) : null, docker_start_p99_ms: dk ? pct(dk.start, 99) : null,
      docker_start20_p50_ms: dk ? pct(dk.start20, 50) : null, docker_start20_p99_ms: dk ? pct(dk.start20, 99) : null,
      docker_stop_p50_ms: dk ? pct(dk.stop, 50) : null,
      mem_per_task_kb: s.memPerTaskKb, mem_detail: s.memDetail, docker_mem_per_task_kb: dk?.memPerTaskKb ?? null,
      leftovers: s.leftoverTotal, leftovers_detail: s.leftovers,
      start_ratio: r(pct(s.start, 50), dk && pct(dk.start, 50)), start20_ratio: r(pct(s.start20, 50), dk && pct(dk.start20, 50)),
      stop_ratio: r(pct(s.stop, 50), dk && pct(dk.stop, 50)), mem_ratio: r(s.memPerTaskKb, dk?.memPerTaskKb),
    }));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
