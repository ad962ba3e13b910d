/** Three `raft-member.ts` processes on 127.0.0.1 for the raft benchmark. */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePki } from './raft-certs.ts';
import { findLeader, post, type BenchCluster } from './raft-load.ts';
import { freePort, type Procs } from './raft-procs.ts';

const MEMBER = fileURLToPath(new URL('./raft-member.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * V8 flags every member runs with (recorded in the bench's JSON): a young generation of
 * 16–64 MiB semi-spaces instead of V8's small default, so the leader scavenges a few times
 * less often (it allocated ≈ 6 MiB per 30–100 writes, each scavenge a 1–3 ms pause on the
 * write path). Kept after two A/B runs at one client (raft-ab.ts, 16 slices, load 10–16):
 * p99 58 vs 74 ms and 34 vs 69 ms, CPU per write net of idle 1.29 vs 1.51 ms.
 * `RAFT_BENCH_NODE_ARGS` comes after these, so it can override them.
 */
export const MEMBER_NODE_ARGS = ['--min-semi-space-size=16', '--max-semi-space-size=64'];

export class RaftCluster implements BenchCluster {
  readonly name: string;
  private raftPorts: number[] = [];
  private httpPorts: number[] = [];
  private readonly children: (ChildProcess | undefined)[] = [];
  private readonly ids = ['m0', 'm1', 'm2'];

  constructor(private readonly procs: Procs, private readonly dir: string,
    private readonly opts: { tickMs?: number; electionTick?: number; heartbeatTick?: number; name?: string; env?: Record<string, string> } = {}) {
    this.name = opts.name ?? 'raft-ts';
  }

  clientUrl(i: number): string {
    return `http://127.0.0.1:${this.httpPorts[i]}`;
  }

  private launch(i: number): void {
    const peers = this.ids.map((id, j) => `${id}=127.0.0.1:${this.raftPorts[j]}`).join(',');
    // RAFT_BENCH_NODE_ARGS: extra node flags for the members (e.g. `--cpu-prof --cpu-prof-dir=DIR`).
    // A side's own `opts.env` wins, so raft-ab.ts can A/B node flags (e.g. the young generation's size).
    const nodeArgs = (this.opts.env?.RAFT_BENCH_NODE_ARGS ?? process.env.RAFT_BENCH_NODE_ARGS)?.split(' ').filter(Boolean) ?? [];
    // RAFT_BENCH_MEMBER (in `opts.env`): a member script from another checkout, for A/B runs.
    const member = this.opts.env?.RAFT_BENCH_MEMBER ?? MEMBER;
    const args = [...MEMBER_NODE_ARGS, ...nodeArgs, '--import', 'tsx', member, '--id', this.ids[i], '--dir', join(this.dir, this.ids[i]),
      '--raft-port', String(this.raftPorts[i]), '--http-port', String(this.httpPorts[i]),
      '--peers', peers, '--pki', join(this.dir, 'pki')];
    if (this.opts.tickMs) args.push('--tick-ms', String(this.opts.tickMs));
    if (this.opts.electionTick) args.push('--election-tick', String(this.opts.electionTick));
    if (this.opts.heartbeatTick) args.push('--heartbeat-tick', String(this.opts.heartbeatTick));
    this.children[i] = this.procs.spawn(process.execPath, args, join(this.dir, `${this.ids[i]}.log`), this.opts.env);
  }

  private async waitUp(i: number): Promise<void> {
    for (let k = 0; k < 300; k++) {
      if (await post(this.clientUrl(i), '/v3/maintenance/status', {}, 500).then(() => true, () => false)) return;
      if (this.children[i]?.exitCode !== null) throw new Error(`bench: raft member ${i} exited; see ${join(this.dir, `${this.ids[i]}.log`)}`);
      await sleep(50);
    }
    throw new Error(`bench: raft member ${i} did not come up`);
  }

  async start(): Promise<void> {
    mkdirSync(join(this.dir, 'pki'), { recursive: true });
    makePki(join(this.dir, 'pki'), this.ids);
    for (let i = 0; i < 3; i++) {
      this.raftPorts.push(await freePort());
      this.httpPorts.push(await freePort());
    }
    for (let i = 0; i < 3; i++) this.launch(i);
    for (let i = 0; i < 3; i++) await this.waitUp(i);
    await findLeader(this);
  }

  kill(i: number): void {
    const c = this.children[i];
    if (c?.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  }

  async restart(i: number): Promise<void> {
    const c = this.children[i];
    if (c) await this.procs.kill(c);
    this.launch(i);
    await this.waitUp(i);
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => (c ? this.procs.kill(c) : undefined)));
  }
}
