/**
 * `npm run bench -- engine [--rounds N] [--tasks N] [--only FIGURE,…] [--no-docker]`
 *
 * A node as a Docker engine, Shoal against Docker Engine 20.10 (Debian's docker.io, one
 * dockerd in its own lab host; see docker-swarm-lab.ts), each a one-node swarm running
 * the same service of `--tasks` (default 50) busybox tasks from the lab registry, driven
 * by the same docker CLI binary, end to end (CLI start-up included on both sides):
 *
 * - `exec_ms`: `docker exec TASK true`;
 * - `run_rm_ms`: `docker run --rm IMAGE true` (a standalone container on the default bridge);
 * - `ps_ms`: `docker ps` with the tasks running on the node;
 * - `stats_first_ms`: `docker stats --no-stream TASK` (one document; both daemons take a
 *   second sample one interval after the first, for CPU %);
 * - `cli_ms`: `docker version` (CLI start-up, `/_ping` and `/version`): the floor under
 *   every figure above, to read `exec_ms` against;
 * - `exec_first_ms`: the first exec of the run (one sample, before the rounds; Shoal
 *   starts the container's exec helper there).
 *
 * The load average (`uptime`) at start and end is printed and in the JSON (`load`): the
 * machine may be shared.
 *
 * `--only exec_ms,cli_ms` takes just those figures (more rounds in the same time, for a
 * steadier median on a busy machine). Rounds alternate which side goes first; each figure is the median of the rounds
 * (default 7) with min and max; every figure has a `docker_` twin. A step that fails is
 * recorded as null with its reason. Prints figures; the last line is one JSON object.
 * Asserts nothing about time.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { ApiClient } from '../../src/api/client.ts';
import { Lab } from '../lib/lab.ts';
import { waitFor } from '../lib/swarm-services.ts';
import { DOCKERD, downLabs, LAB_REGISTRY, upDockerLab } from './docker-swarm-lab.ts';
import { flag, median, orderFor } from './fair.ts';

const IMAGE = `${LAB_REGISTRY}/shoal/bb:v1`;
/** The CLI both sides are driven with (the newest on the machine; it negotiates API 1.41 with both). */
const CLI = '/usr/local/bin/docker';
const SLEEPER = ['sh', '-c', 'trap "exit 0" TERM; sleep 3600 & wait'];
const FIGURES = ['exec_ms', 'run_rm_ms', 'ps_ms', 'stats_first_ms', 'cli_ms'] as const;
type Figure = (typeof FIGURES)[number];

/** Runs the CLI against `host`; resolves with the exit code, output and wall time. */
function cli(host: string, args: string[], timeoutMs = 120_000): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(CLI, args, { env: { ...process.env, DOCKER_HOST: host }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = ''; let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d; });
    child.stderr.on('data', (d: Buffer) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out, err, ms: +(performance.now() - t0).toFixed(1) }); });
  });
}

/** One side: a one-host lab whose daemon is Shoal or dockerd. */
class Side {
  readonly host: string;
  readonly api: ApiClient;
  version = '';
  task = '';
  /** Why a figure could not be taken on this side (first failure). */
  readonly failed = new Map<Figure, string>();
  readonly samples = new Map<Figure, number[]>(FIGURES.map((f) => [f, []]));

  constructor(readonly name: 'shoal' | 'docker', readonly lab: Lab, private readonly log: (m: string) => void) {
    this.host = lab.dockerHost('h1');
    this.api = new ApiClient(this.host);
  }

  async setup(tasks: number): Promise<void> {
    await this.api.post('/swarm/init', { ListenAddr: '0.0.0.0:2377', AdvertiseAddr: this.lab.address('h1') }, { timeoutMs: 60_000 });
    const pull = await cli(this.host, ['pull', '-q', IMAGE]);
    if (pull.code !== 0) throw new Error(`bench: ${this.name}: pull failed: ${pull.err}`);
    const create = await cli(this.host, ['service', 'create', '--detach', '--name', 'bench', '--replicas', String(tasks), '--stop-grace-period', '1s', IMAGE, ...SLEEPER]);
    if (create.code !== 0) throw new Error(`bench: ${this.name}: service create failed: ${create.err}`);
    const names = await waitFor(`${this.name}: ${tasks} task containers running`, async () => {
      const ps = await cli(this.host, ['ps', '--filter', 'label=com.docker.swarm.service.name=bench', '--format', '{{.Names}}']);
      const ns = ps.out.split('\n').filter(Boolean);
      return ns.length === tasks && ns;
    }, 300_000, 500);
    this.task = names.sort()[0];
    this.version = (await this.api.get<{ Version: string }>('/version')).Version;
    this.log(`${tasks} tasks running (version ${this.version}); exec target ${this.task}`);
  }

  /** Figures to take (all by default). */
  only?: Set<string>;

  private async measure(f: Figure, args: string[], check: (r: { out: string }) => boolean = () => true): Promise<void> {
    if (this.failed.has(f) || (this.only && !this.only.has(f))) return;
    const r = await cli(this.host, args);
    if (r.code !== 0 || !check(r)) {
      this.failed.set(f, `docker ${args.join(' ')}: exit ${r.code}: ${(r.err || r.out).trim().slice(0, 300)}`);
      this.log(`${f} failed: ${this.failed.get(f)}`);
      return;
    }
    this.samples.get(f)!.push(r.ms);
  }

  async round(r: number): Promise<void> {
    await this.measure('exec_ms', ['exec', this.task, 'true']);
    await this.measure('run_rm_ms', ['run', '--rm', IMAGE, 'true']);
    await this.measure('ps_ms', ['ps'], (x) => x.out.split('\n').filter(Boolean).length >= 2);
    await this.measure('stats_first_ms', ['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', this.task], (x) => x.out.includes(this.task));
    await this.measure('cli_ms', ['version', '--format', '{{.Server.Version}}']);
    const last = (f: Figure) => this.samples.get(f)!.at(-1) ?? (this.only && !this.only.has(f) ? '-' : 'fail');
    this.log(`round ${r}: exec ${last('exec_ms')} ms, run --rm ${last('run_rm_ms')} ms, ps ${last('ps_ms')} ms, stats ${last('stats_first_ms')} ms, cli ${last('cli_ms')} ms (load ${loadavg()[0].toFixed(2)})`);
  }

  /** `exec_ms` etc. with `_min`/`_max` (prefixed `docker_` for the peer); null with the reason when it failed. */
  figures(out: Record<string, unknown>): void {
    const pre = this.name === 'shoal' ? '' : 'docker_';
    for (const f of FIGURES) {
      const xs = this.samples.get(f)!;
      if (this.only && !this.only.has(f)) continue;
      const reason = this.failed.get(f);
      if (reason || !xs.length) {
        out[`${pre}${f}`] = null;
        out[`${pre}${f.replace(/_ms$/, '')}_error`] = reason ?? 'no sample';
        continue;
      }
      out[`${pre}${f}`] = median(xs);
      out[`${pre}${f.replace(/_ms$/, '_min_ms')}`] = Math.min(...xs);
      out[`${pre}${f.replace(/_ms$/, '_max_ms')}`] = Math.max(...xs);
    }
  }
}


export async function run(args: string[]): Promise<void> {
  const opt = (k: string) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1] : undefined; };
  const rounds = Math.max(5, Number(opt('--rounds') ?? 7));
  const tasks = Number(opt('--tasks') ?? 50);
  const withDocker = !args.includes('--no-docker') && existsSync(DOCKERD);
  const out: Record<string, unknown> = { rounds, settings: { tasks, image: 'busybox (lab registry bb:v1)', cli: CLI, order: 'alternating', statistic: 'median with min/max' } };
  const labs: Lab[] = [];
  const load = [+loadavg()[0].toFixed(2)];
  console.log(`load average at start: ${load[0]}`);
  try {
    const shoalLab = await Lab.up({ hosts: 1, prefix: 'shoalbe', replace: true });
    labs.push(shoalLab);
    const sides = [new Side('shoal', shoalLab, (m) => console.log(`shoal: ${m}`))];
    if (withDocker) {
      const dlab = await upDockerLab({ hosts: 1, prefix: 'shoalbd', registry: true });
      labs.push(dlab);
      sides.push(new Side('docker', dlab, (m) => console.log(`docker: ${m}`)));
    } else {
      out.docker = args.includes('--no-docker') ? 'skipped' : `missing: ${DOCKERD} (run bash scripts/setup.sh --bench)`;
    }
    const only = opt('--only');
    for (const s of sides) {
      if (only) s.only = new Set(only.split(','));
      await s.setup(tasks);
    }
    // Warm-up (image and CLI caches, first exec), not counted in the rounds.
    for (const s of sides) {
      const first = await cli(s.host, ['exec', s.task, 'true']);
      out[`${s.name === 'shoal' ? '' : 'docker_'}exec_first_ms`] = first.code === 0 ? first.ms : null;
      await cli(s.host, ['run', '--rm', IMAGE, 'true']);
    }
    for (let r = 0; r < rounds; r++) for (const s of orderFor(r, sides)) await s.round(r);
    for (const s of sides) s.figures(out);
    out.shoal_version = sides[0].version;
    if (sides[1]) {
      out.peer = `Docker Engine ${sides[1].version} (Debian docker.io)`;
      for (const f of ['exec_ms', 'run_rm_ms'] as const) {
        const a = out[f]; const b = out[`docker_${f}`];
        if (typeof a === 'number' && typeof b === 'number') {
          out[`ratio_${f.replace(/_ms$/, '')}`] = +(a / b).toFixed(3);
          out[`target_${f.replace(/_ms$/, '')}`] = flag(a, b, 0.5);
        }
      }
    }
  } finally {
    load.push(+loadavg()[0].toFixed(2));
    await downLabs(labs);
  }
  console.log(`load average at start and end: ${load.join(', ')}`);
  out.load = load;
  console.log(JSON.stringify(out));
}
