/**
 * `npm run bench -- executor [--runs N] [--api-rounds N] [--cycles N] [--mem-tasks N] [--no-docker]`
 *
 * Like for like (issue 20), the un-suffixed `start_ms` / `start20_ms` and their `docker_`
 * twins: a task started through each side's API and agent path, assignment → running
 * (executor-api.ts), rounds alternating which side goes first, median of `--api-rounds`
 * (at least 3) with min and max. The bare runtime floor, `runc run -d` alone with each
 * side's binary (`runc_floor_ms`, executor-floor.ts). Memory per task the same way on
 * both sides (every process the system runs for its tasks; executor-floor.ts).
 *
 * Then, not compared with each other (different layers; keys `lib_*` and
 * `docker_container_api_*`): start latency (image present; request → process running: prepare + start, i.e.
 * overlay mount, netns with lo up, bundle, `runc run -d`) p50/p99 for 1 and for 20
 * concurrent tasks; stop latency (shutdown with grace 0: signal → exit observed);
 * and leftovers after N start/stop cycles. In the same run, the same busybox image on a
 * Docker Engine (Debian's docker.io) started here with temp dirs and its own socket:
 * start = POST /containers/create + /start (what `docker run -d` does, without the
 * CLI's own start-up, so Docker is measured at its fastest), stop = POST /stop?t=0.
 * Prints figures; the last line is JSON.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTestImage, writeOciTarball } from '../lib/test-image.ts';
import { ImageService } from '../../src/images/image-service.ts';
import { Executor } from '../../src/agent/exec/executor.ts';
import { cgroupDirs } from '../../src/agent/exec/kernel.ts';
import type { TaskContainerSpec } from '../../src/agent/exec/types.ts';
import { memoryPerTask, runcFloor } from './executor-floor.ts';
import { ApiSide } from './executor-api.ts';
import { type Summary, alternate, figureFields, flag, ratio, summary } from './fair.ts';

const CMD = ['sleep', '3600'];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? +s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)].toFixed(2) : NaN;
}

function arg(args: string[], name: string, def: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
}

async function shoal(base: string, tar: string, opts: { runs: number; cycles: number; memTasks: number; floorBinaries: string[] }) {
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
  const startOneSpec = () => ex.controller(spec());
  const startOne = async () => {
    const c = startOneSpec();
    const t0 = performance.now();
    await c.prepare();
    await c.start();
    return { c, ms: performance.now() - t0 };
  };
  const out = { start: [] as number[], start20: [] as number[], stop: [] as number[], memPerTaskKb: 0, memDetail: {} as Record<string, number>, leftovers: {} as Record<string, number>, leftoverTotal: 0, floor: {} as Record<string, number[]> };
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
    // The bare runtime floor: `runc run -d` of a prepared bundle alone, with each side's binary, alternating.
    out.floor = await runcFloor(ex, startOneSpec(), opts.floorBinaries, opts.runs);
    // Memory with memTasks running, measured as on Docker's side (see memoryPerTask).
    const monitorPid = (await ex.monitor()).pid;
    const running: import('../../src/agent/exec/controller.ts').TaskController[] = [];
    const mem = await memoryPerTask(opts.memTasks, () => [process.pid, monitorPid, ...childrenOf(monitorPid).filter((p) => !running.some((c) => c.inspect().pid === p))], async () => {
      running.push((await startOne()).c);
    }, async () => {
      for (const c of running.splice(0)) { await c.terminate(); await c.remove(); }
    });
    out.memPerTaskKb = mem.perTaskKb;
    out.memDetail = mem.detail;
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
  const out = { start: [] as number[], start20: [] as number[], stop: [] as number[], memPerTaskKb: 0, memDetail: {} as Record<string, number>, runtime: '', version: '' };
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
    const ids: string[] = [];
    const mem = await memoryPerTask(opts.memTasks, dockerPids, async () => { ids.push((await runOne()).id); }, async () => {
      for (const id of ids.splice(0)) await rm(id);
    });
    out.memPerTaskKb = mem.perTaskKb;
    out.memDetail = mem.detail;
    const info = await api(sock, 'GET', '/info');
    out.runtime = String(info.json?.Runtimes?.[info.json?.DefaultRuntime]?.path ?? info.json?.DefaultRuntime ?? 'unknown');
    out.version = String((await api(sock, 'GET', '/version')).json?.Version ?? 'unknown');
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

/** Absolute path of `bin` as PATH resolves it (`bin` itself when it cannot). */
function resolveBin(bin: string): string {
  if (bin.startsWith('/')) return bin;
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : bin;
}

/** What run() measured, for executorReport. */
export interface ExecutorFigures {
  /** Assignment → running through each side's API and agent path (1 task, 20 tasks), by side; docker absent when it did not run. */
  api: { shoal: { start: Summary; start20: Summary }; docker?: { start: Summary; start20: Summary } };
  /** `runc run -d` alone, by side: the binary and its times. */
  floor: { shoal: { binary: string; ms: number[] }; docker?: { binary: string; ms: number[] } };
  /** Shoal's library path (Executor calls in-process), no Docker twin: a different layer. */
  lib: { start: number[]; start20: number[]; stop: number[]; leftovers: number; leftoversDetail: Record<string, number> };
  /** Docker's container API (create + start, stop), no Shoal twin. */
  dockerContainerApi?: { start: number[]; start20: number[]; stop: number[] };
  mem: { shoal: { perTaskKb: number; detail: Record<string, number> }; docker?: { perTaskKb: number; detail: Record<string, number> } };
}

/** The JSON line. Un-suffixed start keys are like for like (API and agent path on both sides). Pure. */
export function executorReport(f: ExecutorFigures, meta: { runs: number; apiRounds: number; cycles: number; memTasks: number; shoalVersion?: string; dockerVersion?: string; dockerNote?: string }): Record<string, unknown> {
  const dk = f.api.docker;
  const floorS = summary(f.floor.shoal.ms);
  const floorD = f.floor.docker ? summary(f.floor.docker.ms) : undefined;
  return {
    bench: 'executor', runs: meta.runs, api_rounds: meta.apiRounds, cycles: meta.cycles, mem_tasks: meta.memTasks,
    order: 'API-path rounds and floor runs alternate which side goes first; the library and container-API parts run Shoal first',
    docker_ran: !!dk, peer: dk ? `Docker ${meta.dockerVersion ?? 'unknown version'} (Debian docker.io)` : 'peer did not run',
    shoal_version: meta.shoalVersion ?? null,
    settings: { image: 'shoal/bb:v1 (busybox)', command: CMD, network: 'none (library, floor); swarm task default (API path)', stop_grace_ms: 0, api_poll_ms: 20 },
    layer: 'start_ms: POST /services/create → task running in GET /tasks (assignment, agent, runtime), both sides; runc_floor_ms: `runc run -d` alone, each side\'s binary',
    ...figureFields('start_ms', f.api.shoal.start), ...figureFields('docker_start_ms', dk?.start),
    ...figureFields('start20_ms', f.api.shoal.start20), ...figureFields('docker_start20_ms', dk?.start20),
    start_ratio: ratio(f.api.shoal.start.median, dk?.start.median ?? null),
    start20_ratio: ratio(f.api.shoal.start20.median, dk?.start20.median ?? null),
    target_start: flag(f.api.shoal.start.median, dk?.start.median ?? null, 1),
    runc_binary: f.floor.shoal.binary, docker_runc_binary: f.floor.docker?.binary ?? null,
    ...figureFields('runc_floor_ms', floorS), ...figureFields('docker_runc_floor_ms', floorD),
    lib_start_p50_ms: pct(f.lib.start, 50), lib_start_p99_ms: pct(f.lib.start, 99),
    lib_start20_p50_ms: pct(f.lib.start20, 50), lib_start20_p99_ms: pct(f.lib.start20, 99),
    lib_stop_p50_ms: pct(f.lib.stop, 50), lib_stop_p99_ms: pct(f.lib.stop, 99),
    lib_note: 'lib_*: Shoal\'s Executor called in-process (prepare + start), no daemon; no Docker twin (a different layer)',
    docker_container_api_start_p50_ms: f.dockerContainerApi ? pct(f.dockerContainerApi.start, 50) : null,
    docker_container_api_start_p99_ms: f.dockerContainerApi ? pct(f.dockerContainerApi.start, 99) : null,
    docker_container_api_start20_p50_ms: f.dockerContainerApi ? pct(f.dockerContainerApi.start20, 50) : null,
    docker_container_api_stop_p50_ms: f.dockerContainerApi ? pct(f.dockerContainerApi.stop, 50) : null,
    mem_per_task_kb: f.mem.shoal.perTaskKb, mem_detail: f.mem.shoal.detail,
    docker_mem_per_task_kb: f.mem.docker?.perTaskKb ?? null, docker_mem_detail: f.mem.docker?.detail ?? null,
    mem_ratio: ratio(f.mem.shoal.perTaskKb, f.mem.docker?.perTaskKb ?? null),
    mem_note: 'RSS growth of every process the system runs for its tasks (Shoal: daemon process, monitor, helpers; Docker: dockerd, containerd, shims), task payload excluded; warm-up at the same scale and 500 ms settle on both, no forced GC',
    leftovers: f.lib.leftovers, leftovers_detail: f.lib.leftoversDetail,
    ...(meta.dockerNote ? { docker_note: meta.dockerNote } : {}),
  };
}

export async function run(args: string[]): Promise<void> {
  const runs = Math.max(3, arg(args, 'runs', 40));
  const apiRounds = Math.max(3, arg(args, 'api-rounds', 5));
  const cycles = arg(args, 'cycles', 1000);
  const memTasks = arg(args, 'mem-tasks', 50);
  const noDocker = args.includes('--no-docker');
  const base = mkdtempSync(join(tmpdir(), 'shoal-bench-exec-'));
  const sides: ApiSide[] = [];
  let dockerNote = noDocker ? 'skipped (--no-docker)' : undefined;
  try {
    // Like for like first: assignment → running through each side's API and agent path.
    sides.push(await ApiSide.up('shoal', 'shoalxa'));
    if (!noDocker) {
      try {
        sides.push(await ApiSide.up('docker', 'shoalxd'));
      } catch (err) {
        dockerNote = `docker did not run: ${(err as Error).message.slice(0, 300)}`;
        console.log(dockerNote);
      }
    }
    const one = await alternate(apiRounds, sides.map((s) => s.name), (n) => sides.find((s) => s.name === n)!.start(1));
    const twenty = await alternate(apiRounds, sides.map((s) => s.name), (n) => sides.find((s) => s.name === n)!.start(20));
    const shoalVersion = await sides[0].version().catch(() => undefined);
    const dockerVersion = sides[1] ? await sides[1].version().catch(() => undefined) : undefined;
    for (const s of sides.splice(0).reverse()) await s.down().catch((e: unknown) => console.error(`bench: lab down: ${String(e)}`));
    console.log(`api path: shoal 1 task ${one.shoal.median} ms, 20 tasks ${twenty.shoal.median} ms${one.docker ? `; docker 1 task ${one.docker.median} ms, 20 tasks ${twenty.docker!.median} ms` : ''}`);

    const layout = join(base, 'layout');
    buildTestImage(layout, { version: 'v1' });
    const tar = join(base, 'bb.tar');
    writeOciTarball(layout, tar);
    const shoalBin = resolveBin('runc');
    const dockerBin = resolveBin('runc'); // docker.io's default runtime `runc` on PATH; checked against GET /info below
    const runDocker = !noDocker && !dockerNote;
    const s = await shoal(base, tar, { runs, cycles, memTasks, floorBinaries: [...new Set([shoalBin, ...(runDocker ? [dockerBin] : [])])] });
    console.log(`shoal lib: start p50 ${pct(s.start, 50)} ms p99 ${pct(s.start, 99)} ms; 20 concurrent p50 ${pct(s.start20, 50)} p99 ${pct(s.start20, 99)} ms; stop p50 ${pct(s.stop, 50)} ms; ${s.memPerTaskKb} KiB/task; leftovers ${JSON.stringify(s.leftovers)}`);
    let dk: Awaited<ReturnType<typeof docker>> | undefined;
    if (runDocker) {
      dk = await docker(base, tar, { runs, memTasks });
      console.log(`docker container API: start p50 ${pct(dk.start, 50)} ms p99 ${pct(dk.start, 99)} ms; stop p50 ${pct(dk.stop, 50)} ms; ${dk.memPerTaskKb} KiB/task; runtime ${dk.runtime}`);
      if (resolveBin(dk.runtime) !== dockerBin) dockerNote = `docker's runtime is ${dk.runtime}; the floor was measured with ${dockerBin}`;
    }
    const f: ExecutorFigures = {
      api: { shoal: { start: one.shoal, start20: twenty.shoal }, ...(one.docker ? { docker: { start: one.docker, start20: twenty.docker! } } : {}) },
      floor: { shoal: { binary: shoalBin, ms: s.floor[shoalBin] }, ...(dk ? { docker: { binary: dockerBin, ms: s.floor[dockerBin] } } : {}) },
      lib: { start: s.start, start20: s.start20, stop: s.stop, leftovers: s.leftoverTotal, leftoversDetail: s.leftovers },
      ...(dk ? { dockerContainerApi: { start: dk.start, start20: dk.start20, stop: dk.stop } } : {}),
      mem: { shoal: { perTaskKb: s.memPerTaskKb, detail: s.memDetail }, ...(dk ? { docker: { perTaskKb: dk.memPerTaskKb, detail: dk.memDetail } } : {}) },
    };
    console.log(JSON.stringify(executorReport(f, { runs, apiRounds, cycles, memTasks, shoalVersion, dockerVersion: dk?.version ?? dockerVersion, dockerNote })));
  } finally {
    for (const s of sides.reverse()) await s.down().catch((e: unknown) => console.error(`bench: lab down: ${String(e)}`));
    rmSync(base, { recursive: true, force: true });
  }
}
