/**
 * `npm run bench -- cli [RUNS]`: how fast the built `shoal` answers, beside the stock docker
 * CLI. Runs the installed form, `node dist/shoal.js` (run `npm run build` first), against
 * a daemon it starts on a temp dir:
 *   cli_version_ms      `shoal version` (client and server, as `docker version`)
 *   cli_service_ls_ms   `shoal service ls` on an initialized swarm
 *   daemon_ping_ms      `shoal daemon` spawned to its first 200 on /_ping
 *   docker_version_ms   the stock `docker version` against the same daemon
 * Each is the median of RUNS (default 10) whole-process wall times, with min and max; the
 * CPU time (user + system: `/usr/bin/time` of a finished command, /proc of the daemon at its
 * first ping) is beside it, since
 * a busy machine moves wall times. Asserts nothing. Needs no root (no data plane).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../src/api/client.ts';
import { median } from './fair.ts';
import { cpuTimeMs } from '../lib/procs.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOAL = join(ROOT, 'dist/shoal.js');

interface Figure {
  median: number;
  min: number;
  max: number;
  cpuMedian?: number;
}

function summarize(walls: number[], cpus: number[] = []): Figure {
  const round = (x: number) => Math.round(x * 10) / 10;
  const fig: Figure = { median: round(median(walls) ?? NaN), min: round(Math.min(...walls)), max: round(Math.max(...walls)) };
  if (cpus.length) fig.cpuMedian = round(median(cpus)!);
  return fig;
}

/** Runs `cmd args` once; its wall time (ms) and its CPU time (ms, user + system, from `/usr/bin/time`). */
function timeOnce(cmd: string, args: string[], env: NodeJS.ProcessEnv): { wall: number; cpu?: number; status: number | null; out: string } {
  const useTime = existsSync('/usr/bin/time');
  const argv = useTime ? ['-f', '@cpu %U %S', cmd, ...args] : args;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(useTime ? '/usr/bin/time' : cmd, argv, { env, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /@cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr ?? '');
  return { wall, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined, status: r.status, out: `${r.stdout}${r.stderr}` };
}

function measure(cmd: string, args: string[], runs: number, env: NodeJS.ProcessEnv): Figure {
  timeOnce(cmd, args, env); // warm-up: file cache, V8's compile cache
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = timeOnce(cmd, args, env);
    if (r.status !== 0) throw new Error(`bench cli: ${cmd} ${args.join(' ')} failed (${r.status}): ${r.out.slice(-400)}`);
    walls.push(r.wall);
    if (r.cpu !== undefined) cpus.push(r.cpu);
  }
  return summarize(walls, cpus);
}

interface Daemon {
  host: string;
  stop(): Promise<void>;
}

/** Spawns `shoal daemon` on a fresh dir; resolves once /_ping answers, with the time that took (ms). */
async function startDaemon(): Promise<{ daemon: Daemon; pingMs: number; cpuMs?: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-bench-cli-'));
  const host = `unix://${join(dir, 'shoal.sock')}`;
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [SHOAL, 'daemon', '--data-root', join(dir, 'data'), '--host', host, '--hostname', 'bench', '--listen-addr', `127.0.0.1:${20000 + Math.floor(Math.random() * 20000)}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SHOAL_DATA_PLANE: 'off' },
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const client = new ApiClient(host);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`bench cli: daemon exited with ${child.exitCode}: ${err.slice(-400)}`);
    }
    try {
      const res = await client.request('GET', '/_ping', { timeoutMs: 1000 });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const pingMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return { daemon: { host, stop }, pingMs, cpuMs: cpuTimeMs(child.pid!) };
}

export async function run(args: string[]): Promise<void> {
  const runs = Number(args[0] ?? 10);
  if (!existsSync(SHOAL)) throw new Error('bench cli: dist/shoal.js is missing: run `npm run build` first');
  const env = { ...process.env };
  // Daemon start: a fresh data root each time.
  const pings: number[] = [];
  const pingCpus: number[] = [];
  await (await startDaemon()).daemon.stop(); // warm-up
  for (let i = 0; i < runs; i++) {
    const { daemon, pingMs, cpuMs } = await startDaemon();
    pings.push(pingMs);
    if (cpuMs !== undefined) pingCpus.push(cpuMs);
    await daemon.stop();
  }
  const { daemon } = await startDaemon();
  try {
    const init = timeOnce(process.execPath, [SHOAL, 'swarm', 'init', '-H', daemon.host, '--advertise-addr', '127.0.0.1'], env);
    if (init.status !== 0) throw new Error(`bench cli: swarm init failed: ${init.out}`);
    const figures: Record<string, Figure> = {
      cli_version_ms: measure(process.execPath, [SHOAL, 'version', '-H', daemon.host], runs, env),
      cli_service_ls_ms: measure(process.execPath, [SHOAL, 'service', 'ls', '-H', daemon.host], runs, env),
      daemon_ping_ms: summarize(pings, pingCpus),
    };
    const docker = spawnSync('docker', ['--version'], { encoding: 'utf8' });
    if (docker.status === 0) figures.docker_version_ms = measure('docker', ['-H', daemon.host, 'version'], runs, env);
    for (const [name, f] of Object.entries(figures)) {
      console.log(`${name.padEnd(20)} median ${f.median} ms (min ${f.min}, max ${f.max})${f.cpuMedian !== undefined ? `, cpu median ${f.cpuMedian} ms` : ''}`);
    }
    console.log(JSON.stringify({ bench: 'cli', runs, node: process.version, ...Object.fromEntries(Object.entries(figures).map(([k, f]) => [k, f.median])), detail: figures }));
  } finally {
    await daemon.stop();
  }
}
