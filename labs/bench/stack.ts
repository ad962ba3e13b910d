/**
 * `npm run bench -- stack [--rounds N] [--no-docker]`
 *
 * Compose stacks and service logs, Shoal against Docker Swarm 20.10 (Debian's docker.io,
 * one dockerd per lab host; see docker-swarm-lab.ts) on the same 3-host lab topology (h1
 * the manager, h2 and h3 workers), both labs up side by side, the same image (the lab
 * registry's bb:v1, pulled on every host first) and the same stock docker client driving
 * both:
 *
 * - `stack_deploy_ms`: `docker stack deploy -c FILE` of a stack of 5 services (2 overlay
 *   networks, 1 secret, 1 config, 20 replicas in all, one published port) from the
 *   command's start until all 20 tasks run; the stack is removed (untimed) after each round;
 * - `logs_first_line_ms`: from starting `docker service logs -f` of a 10-task service
 *   (each task logged one line when it started) to the first line on its stdout.
 *
 * Rounds alternate which side goes first; each figure is the median of N rounds (default
 * 3), with `_min`/`_max`. A Docker step that fails is recorded as `fail: …` in its
 * `docker_` figure, never dropped; `target_stack_deploy` reads met only when the peer ran.
 * Prints figures; the last line is one JSON object. Asserts nothing about time.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../src/api/client.ts';
import type { Task } from '../../src/api/types/task.ts';
import { Lab } from '../lib/lab.ts';
import { run as runCmd } from '../lib/procs.ts';
import { waitFor } from '../lib/swarm-services.ts';
import { formBenchSwarm } from './bench-swarm.ts';
import { DOCKERD, downLabs, LAB_REGISTRY, upDockerLab } from './docker-swarm-lab.ts';
import { flag, orderFor, summary } from './fair.ts';

const IMAGE = `${LAB_REGISTRY}/shoal/bb:v1`;
const STEP_TIMEOUT_MS = 240_000;
/** Exits at once on SIGTERM (a shell waiting in `wait` runs its trap immediately). */
const SLEEPER = '["sh", "-c", "trap \'exit 0\' TERM; sleep 3600 & wait"]';
const SETTINGS = {
  services: 5, replicas: 20, networks: 2, secrets: 1, configs: 1, published_ports: 1,
  replicas_per_service: { web: 6, api: 6, worker: 4, cache: 2, db: 2 }, stop_grace_s: 1,
  logs: { tasks: 10, lines_per_task: 1 }, poll_ms: 50, client: 'docker on PATH (same binary for both sides)',
};

const until = <T>(what: string | (() => string), fn: () => Promise<T | false | undefined>) => waitFor(what, fn, STEP_TIMEOUT_MS, 50);

/** The stack file of round `r` (a port of its own, so a round never waits for the last one's port). */
export function compose(r: number): string {
  const svc = (name: string, replicas: number, nets: string[], extra = '') => `
  ${name}:
    image: ${IMAGE}
    command: ${SLEEPER}
    networks: [${nets.join(', ')}]
    stop_grace_period: 1s
    deploy: {replicas: ${replicas}}${extra}`;
  return `version: "3.8"
services:${svc('web', 6, ['front'], `
    ports: ["${8100 + r}:80"]
    configs: [{source: conf, target: /etc/app.conf}]`)}${svc('api', 6, ['front', 'back'], `
    secrets: [pw]`)}${svc('worker', 4, ['back'])}${svc('cache', 2, ['back'])}${svc('db', 2, ['back'], `
    secrets: [pw]`)}
networks:
  front: {}
  back: {}
secrets:
  pw: {file: ./pw.txt}
configs:
  conf: {file: ./app.conf}
`;
}

/** One system's lab, driven by the docker client and h1's Engine API. */
class Side {
  readonly api: ApiClient;
  version = '';

  constructor(readonly name: 'shoal' | 'docker', readonly lab: Lab, readonly dir: string) {
    this.api = new ApiClient(lab.dockerHost('h1'));
  }

  async setup(): Promise<void> {
    await formBenchSwarm(this.lab, until);
    for (const h of ['h1', 'h2', 'h3']) {
      const r = await new ApiClient(this.lab.dockerHost(h)).request('POST', '/images/create', { query: { fromImage: `${LAB_REGISTRY}/shoal/bb`, tag: 'v1' }, timeoutMs: 120_000 });
      if (r.status !== 200 || /"error"/.test(r.body.toString())) throw new Error(`bench: ${this.name}: pull on ${h} failed: ${r.status} ${r.body.toString().slice(-300)}`);
    }
    this.version = (await this.api.get<{ Version: string }>('/version')).Version;
    // The logs service: 10 tasks, each logs one line when it starts, then waits.
    await this.api.post('/services/create', {
      Name: 'logs10', Labels: {}, Mode: { Replicated: { Replicas: 10 } },
      TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'echo started $(hostname); trap "exit 0" TERM; sleep 3600 & wait'], StopGracePeriod: 1e9 } },
    });
    await this.running({ service: ['logs10'] }, 10);
    console.log(`${this.name}: swarm formed, image pulled, logs10 running (version ${this.version})`);
  }

  private async docker(args: string[]): Promise<string> {
    const r = await runCmd('env', [`DOCKER_HOST=${this.lab.dockerHost('h1')}`, 'sh', '-c', `cd "$1" && shift && exec docker "$@"`, 'sh', this.dir, ...args], { timeoutMs: STEP_TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`bench: ${this.name}: docker ${args.join(' ')}: exit ${r.code}: ${r.stderr.slice(-300)}`);
    return r.stdout;
  }

  /** Until exactly `n` tasks matching the filters are wanted and running. */
  private async running(filters: Record<string, string[]>, n: number): Promise<void> {
    let seen = '';
    await until(() => `${this.name}: ${n} running tasks of ${JSON.stringify(filters)} (last: ${seen})`, async () => {
      const ts = await this.api.get<Task[]>('/tasks', { query: { filters: JSON.stringify(filters) } });
      const run = ts.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
      seen = `${run.length} running of ${ts.length}`;
      return run.length === n;
    });
  }

  /** `docker stack deploy` until all 20 tasks run; then removed (untimed). Resolves with ms. */
  async stackDeploy(r: number): Promise<number> {
    const stack = `b${r}`;
    writeFileSync(join(this.dir, `stack${r}.yml`), compose(r));
    const t0 = performance.now();
    await this.docker(['stack', 'deploy', '-c', `stack${r}.yml`, stack]);
    await this.running({ label: [`com.docker.stack.namespace=${stack}`] }, SETTINGS.replicas);
    const ms = +(performance.now() - t0).toFixed(1);
    await this.docker(['stack', 'rm', stack]);
    await until(`${this.name}: stack ${stack} gone`, async () => {
      const q = { query: { filters: JSON.stringify({ label: [`com.docker.stack.namespace=${stack}`] }) } };
      const [ts, nets] = await Promise.all([this.api.get<Task[]>('/tasks', q), this.api.get<unknown[]>('/networks', q)]);
      return ts.every((t) => t.Status.State !== 'running') && nets.length === 0;
    });
    return ms;
  }

  /** `docker service logs -f logs10` until its first stdout line; the client is stopped by its PID. */
  logsFirstLine(): Promise<number> {
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn('docker', ['service', 'logs', '-f', 'logs10'], { env: { ...process.env, DOCKER_HOST: this.lab.dockerHost('h1') }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      let done = false;
      const finish = (f: () => void) => { if (!done) { done = true; clearTimeout(timer); child.kill('SIGTERM'); f(); } };
      const timer = setTimeout(() => finish(() => reject(new Error(`bench: ${this.name}: no log line in 60 s: ${err.slice(-200)}`))), 60_000);
      child.stdout.on('data', (b: Buffer) => { if (b.toString().includes('\n')) finish(() => resolve(+(performance.now() - t0).toFixed(1))); });
      child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
      child.on('close', (code) => finish(() => reject(new Error(`bench: ${this.name}: service logs exited ${code}: ${err.slice(-200)}`))));
    });
  }
}


export async function run(args: string[]): Promise<void> {
  const opt = (k: string) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
  const rounds = Number(opt('--rounds') ?? 3);
  const withDocker = !args.includes('--no-docker') && existsSync(DOCKERD);
  const out: Record<string, unknown> = { rounds, settings: SETTINGS };
  const client = await runCmd('docker', ['version', '--format', '{{.Client.Version}}'], { timeoutMs: 10_000 });
  out.docker_client = client.stdout.trim();
  const dir = mkdtempSync(join(tmpdir(), 'shoalbst-'));
  writeFileSync(join(dir, 'pw.txt'), 'bench-secret');
  writeFileSync(join(dir, 'app.conf'), 'bench=1\n');
  const labs: Lab[] = [];
  const attempt = async <T>(fn: () => Promise<T>): Promise<T | string> => fn().catch((err: unknown) => `fail: ${(err as Error).message.slice(0, 300)}`);
  try {
    const shoalLab = await Lab.up({ hosts: 3, prefix: 'shoalbst', replace: true });
    labs.push(shoalLab);
    const sides: Side[] = [new Side('shoal', shoalLab, dir)];
    let peer: Side | undefined;
    if (withDocker) {
      const dlab = await upDockerLab({ hosts: 3, prefix: 'shoalbstd', registry: true });
      labs.push(dlab);
      peer = new Side('docker', dlab, dir);
    } else {
      out.docker = args.includes('--no-docker') ? 'skipped' : `missing: ${DOCKERD} (run bash scripts/setup.sh --bench)`;
    }
    await sides[0].setup();
    if (peer) {
      const ok = await attempt(() => peer!.setup());
      if (typeof ok === 'string') out.docker = ok;
      else sides.push(peer);
    }
    const figs = new Map<string, { deploy: (number | string)[]; logs: (number | string)[] }>(sides.map((s) => [s.name, { deploy: [], logs: [] }]));
    for (let r = 0; r < rounds; r++) {
      for (const s of orderFor(r, sides)) {
        const f = figs.get(s.name)!;
        const deploy = s.name === 'shoal' ? await s.stackDeploy(r) : await attempt(() => s.stackDeploy(r));
        const logs = s.name === 'shoal' ? await s.logsFirstLine() : await attempt(() => s.logsFirstLine());
        f.deploy.push(deploy);
        f.logs.push(logs);
        console.log(`round ${r}: ${s.name}: stack deploy ${deploy} ms, logs first line ${logs} ms`);
      }
    }
    for (const s of sides) {
      const pre = s.name === 'shoal' ? '' : 'docker_';
      const f = figs.get(s.name)!;
      for (const [key, xs] of [['stack_deploy_ms', f.deploy], ['logs_first_line_ms', f.logs]] as const) {
        const failed = xs.find((x) => typeof x === 'string');
        if (failed !== undefined) { out[`${pre}${key}`] = failed; out[`${pre}${key}_rounds`] = xs; continue; }
        const st = summary(xs as number[]);
        out[`${pre}${key}`] = st.median;
        out[`${pre}${key}_min`] = st.min;
        out[`${pre}${key}_max`] = st.max;
      }
    }
    out.shoal_version = sides[0].version;
    if (peer) out.peer = `Docker Swarm ${peer.version || '?'} (Debian docker.io, dockerd per lab host)`;
    const ratio = (k: string) => (typeof out[k] === 'number' && typeof out[`docker_${k}`] === 'number' ? +((out[k] as number) / (out[`docker_${k}`] as number)).toFixed(3) : undefined);
    const q = ratio('stack_deploy_ms');
    if (q !== undefined) out.ratio_stack_deploy = q;
    const ql = ratio('logs_first_line_ms');
    if (ql !== undefined) out.ratio_logs_first_line = ql;
    const num = (k: string) => (typeof out[k] === 'number' ? (out[k] as number) : null);
    out.target_stack_deploy = flag(num('stack_deploy_ms'), num('docker_stack_deploy_ms'), 0.3);
  } finally {
    await downLabs(labs);
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(out));
}
