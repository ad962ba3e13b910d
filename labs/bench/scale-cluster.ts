/**
 * The processes of the scale bench (`scale.ts`): three real manager daemons as plain
 * processes on loopback (distinct 2377-style ports and data roots, `SHOAL_DATA_PLANE=off`
 * so nothing touches the machine's network namespace, all drained so tasks go to the
 * simulated nodes only) and the processes of simulated nodes (`labs/scale/sim-process.ts`).
 * Every process is started through `sh -c 'ulimit -n …; exec …'` so a thousand sessions
 * never run out of descriptors, and is killed by its own PID in `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../src/api/client.ts';
import type { Node } from '../../src/api/types/node.ts';
import type { Swarm } from '../../src/api/types/swarm.ts';
import { freePort } from '../../src/swarm/test-node.ts';
import { REPO_ROOT, SHOAL_BIN } from '../lib/daemon.ts';
import { isAlive, sleep } from '../lib/procs.ts';
import type { Asked, SimReply, SimRequest } from '../scale/sim-process.ts';

/** Descriptors each process may hold: a session is one, a leader holds one per node and then some. */
export const NOFILE = 65536;

/** `argv` run under a raised descriptor limit (the hard limit when 65536 is above it). */
function withNofile(argv: string[]): [string, string[]] {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return ['sh', ['-c', `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${quoted}`]];
}

/** One manager daemon. */
export interface ManagerProc {
  name: string;
  /** Its 2377 address (127.0.0.1:PORT). */
  addr: string;
  api: ApiClient;
  child: ChildProcess;
  pid: number;
  nodeId: string;
  /** Its Prometheus endpoint (127.0.0.1:PORT, `--metrics-addr`). */
  metricsAddr: string;
}

/** One process of simulated nodes and its IPC. */
export class SimProc {
  /** Open questions by id: a reply answers the question whose id it carries, and no other. */
  private readonly waiters = new Map<number, { type: SimReply['type']; resolve: (r: SimReply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  /** Replies dropped because their question had already timed out (or never was asked). */
  stale = 0;
  readonly pid: number;

  constructor(readonly child: ChildProcess) {
    this.pid = child.pid!;
    child.on('message', (m: Asked<SimReply>) => {
      const w = this.waiters.get(m.id);
      if (!w) {
        this.stale++;
        return;
      }
      this.waiters.delete(m.id);
      if (m.type === 'error') w.reject(new Error(`scale: simulated nodes: ${m.message}`));
      else if (m.type !== w.type) w.reject(new Error(`scale: simulated nodes (pid ${this.pid}) answered ${w.type} with ${m.type}`));
      else w.resolve(m);
    });
    child.on('exit', () => {
      for (const w of this.waiters.values()) w.reject(new Error('scale: a process of simulated nodes exited'));
      this.waiters.clear();
    });
  }

  /**
   * Sends `req` under a new id and resolves with the reply carrying that id, of type
   * `type`; rejects after `timeoutMs` (default 60 s) so that a process that stopped
   * answering fails its round instead of hanging the bench. A reply that comes after its
   * question timed out is dropped and counted in `stale`, never taken for a later answer.
   */
  ask<T extends SimReply['type']>(req: SimRequest, type: T, timeoutMs = 60_000): Promise<Extract<SimReply, { type: T }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new Error(`scale: simulated nodes (pid ${this.pid}) did not answer ${req.type} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiters.set(id, {
        type,
        resolve: (r) => { clearTimeout(timer); resolve(r as Extract<SimReply, { type: T }>); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.child.send({ ...req, id } satisfies Asked<SimRequest>);
    });
  }
}

/** The bench's processes; `close()` kills each by PID and removes the data roots. */
export class ScaleCluster {
  readonly managers: ManagerProc[] = [];
  readonly sims: SimProc[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'shoal-scale-'));

  /** Starts `count` manager daemons (`nodeArgs` go to node itself, e.g. --cpu-prof), forms the swarm (the first inits, the others join with the manager token) and drains them. */
  async startManagers(count = 3, nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<void> {
    for (let i = 1; i <= count; i++) this.managers.push(await this.startDaemon(`m${i}`, nodeArgs, env));
    const [first, ...rest] = this.managers;
    await first.api.post('/swarm/init', { ListenAddr: first.addr, AdvertiseAddr: first.addr }, { timeoutMs: 60_000 });
    const sw = await first.api.get<Swarm>('/swarm');
    for (const m of rest) {
      await m.api.post('/swarm/join', { ListenAddr: m.addr, AdvertiseAddr: m.addr, RemoteAddrs: [first.addr], JoinToken: sw.JoinTokens.Manager }, { timeoutMs: 60_000 });
    }
    for (const m of this.managers) m.nodeId = ((await m.api.get<{ Swarm: { NodeID: string } }>('/info')).Swarm.NodeID);
    // Managers run no tasks here: their executors would need runc, and the figures are about the control plane.
    for (const m of this.managers) {
      const n = await first.api.get<Node>(`/nodes/${m.nodeId}`);
      await first.api.post(`/nodes/${m.nodeId}/update?version=${n.Version.Index}`, { ...n.Spec, Availability: 'drain' });
    }
  }

  /** The worker join token. */
  async workerToken(): Promise<string> {
    return (await this.managers[0].api.get<Swarm>('/swarm')).JoinTokens.Worker;
  }

  private async startDaemon(name: string, nodeArgs: string[], env: NodeJS.ProcessEnv): Promise<ManagerProc> {
    const port = await freePort();
    const addr = `127.0.0.1:${port}`;
    const metricsAddr = `127.0.0.1:${await freePort()}`;
    const socket = join(this.dir, `${name}.sock`);
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    const [cmd, args] = withNofile([
      process.execPath, ...nodeArgs, SHOAL_BIN, 'daemon', '--data-root', join(this.dir, name), '--host', `unix://${socket}`,
      '--hostname', name, '--listen-addr', addr, '--advertise-addr', addr, '--metrics-addr', metricsAddr,
    ]);
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', log, log], env: { ...process.env, SHOAL_DATA_PLANE: 'off', ...env } });
    closeSync(log);
    const m: ManagerProc = { name, addr, api: new ApiClient(`unix://${socket}`), child, pid: child.pid!, nodeId: '', metricsAddr };
    this.managers.push(m);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`scale: daemon ${name} exited with ${child.exitCode} (log ${join(this.dir, `${name}.log`)})`);
      try {
        if ((await m.api.request('GET', '/_ping', { timeoutMs: 1000 })).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`scale: daemon ${name} did not answer /_ping within 30 s`);
      await sleep(50);
    }
    this.managers.pop();
    return m;
  }

  /** Forks a process of simulated nodes (it joins nothing until asked). */
  startSims(): SimProc {
    const [cmd, args] = withNofile([process.execPath, '--import', 'tsx', join(REPO_ROOT, 'labs/scale/sim-process.ts')]);
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const p = new SimProc(child);
    this.sims.push(p);
    return p;
  }

  /** The manager the others follow, by the nodes' ManagerStatus as `by` sees them. */
  async leader(by: ManagerProc = this.managers.find((m) => isAlive(m.pid))!): Promise<ManagerProc | undefined> {
    const nodes = await by.api.get<Node[]>('/nodes', { timeoutMs: 10_000 });
    const id = nodes.find((n) => n.ManagerStatus?.Leader)?.ID;
    return this.managers.find((m) => m.nodeId === id);
  }

  /**
   * Kills every process started here by its PID and removes the data roots (the daemons'
   * logs copied to `keepLogs` first, when given). Resolves with what is still there
   * afterwards (empty when clean), so that a round which leaves something behind is
   * reported and no later round runs beside it.
   */
  async close(keepLogs?: string): Promise<string[]> {
    // Waits for each child's exit to be collected (its exit or signal code set), not only for
    // it to stop running: a dead child not yet reaped is still a process (a zombie) here.
    const reaped = (p: { child: ChildProcess }) => p.child.exitCode !== null || p.child.signalCode !== null;
    for (const s of this.sims) if (!reaped(s)) s.child.kill('SIGKILL');
    for (const m of this.managers) if (!reaped(m)) m.child.kill('SIGTERM');
    const deadline = Date.now() + 10_000;
    while (this.managers.some((m) => !reaped(m)) && Date.now() < deadline) await sleep(50);
    for (const m of this.managers) if (!reaped(m)) m.child.kill('SIGKILL');
    while ([...this.managers, ...this.sims].some((p) => !reaped(p)) && Date.now() < deadline + 5000) await sleep(50);
    if (keepLogs) {
      mkdirSync(keepLogs, { recursive: true });
      for (const m of this.managers) cpSync(join(this.dir, `${m.name}.log`), join(keepLogs, `${m.name}.log`), { force: true });
    }
    rmSync(this.dir, { recursive: true, force: true });
    const left = [...this.managers, ...this.sims].filter((p) => isAlive(p.pid)).map((p) => `pid ${p.pid}`);
    if (existsSync(this.dir)) left.push(this.dir);
    return left;
  }
}
