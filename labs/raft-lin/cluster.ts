/**
 * Three kv-member.ts processes on loopback, wired through LinkProxies so the run can
 * partition them, and driven by PID only: kill -9 and restart from their WAL, SIGSTOP and
 * SIGCONT. Everything started here is killed in `stop` (call it from `finally`).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePki } from '../bench/raft-certs.ts';
import { freePort, Procs } from '../bench/raft-procs.ts';
import { LinkProxies } from './link-proxies.ts';

const MEMBER = fileURLToPath(new URL('./kv-member.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MemberStatus {
  id: string;
  leader: string;
  term: number;
  applied: number;
}

export class LinCluster {
  readonly ids = ['m0', 'm1', 'm2'];
  readonly proxies = new LinkProxies();
  private readonly procs = new Procs();
  private readonly children: (ChildProcess | undefined)[] = [];
  private readonly paused = new Set<number>();
  private raftPorts: number[] = [];
  private httpPorts: number[] = [];

  constructor(private readonly dir: string, private readonly bug?: 'stale-reads') {}

  url(i: number): string {
    return `http://127.0.0.1:${this.httpPorts[i]}`;
  }

  async start(): Promise<void> {
    mkdirSync(join(this.dir, 'pki'), { recursive: true });
    makePki(join(this.dir, 'pki'), this.ids);
    for (let i = 0; i < 3; i++) {
      this.raftPorts.push(await freePort());
      this.httpPorts.push(await freePort());
    }
    await this.proxies.start(this.ids, (to) => this.raftPorts[this.ids.indexOf(to)]);
    for (let i = 0; i < 3; i++) this.launch(i);
    for (let i = 0; i < 3; i++) await this.waitUp(i);
  }

  /** The status of member `i`, or null when it does not answer within `timeoutMs`. */
  async status(i: number, timeoutMs = 500): Promise<MemberStatus | null> {
    try {
      const res = await fetch(`${this.url(i)}/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await res.json()) as MemberStatus;
    } catch {
      return null;
    }
  }

  /** The index of the member that says it leads, waiting up to `timeoutMs`. */
  async leader(timeoutMs = 10_000): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      for (let i = 0; i < 3; i++) {
        const s = await this.status(i, 300);
        if (s && s.leader === s.id) return i;
      }
      await sleep(50);
    }
    throw new Error('raft-lin: no leader');
  }

  kill(i: number): Promise<void> {
    const c = this.children[i];
    this.paused.delete(i);
    return c ? this.procs.kill(c) : Promise.resolve();
  }

  async restart(i: number): Promise<void> {
    await this.kill(i);
    this.launch(i);
    await this.waitUp(i);
  }

  pause(i: number): void {
    const pid = this.children[i]?.pid;
    if (pid === undefined) return;
    process.kill(pid, 'SIGSTOP');
    this.paused.add(i);
  }

  resume(i: number): void {
    const pid = this.children[i]?.pid;
    if (pid !== undefined && this.paused.delete(i)) process.kill(pid, 'SIGCONT');
  }

  /** Resumes what is paused and heals every link. */
  heal(): void {
    for (const i of [...this.paused]) this.resume(i);
    this.proxies.healAll();
  }

  async stop(): Promise<void> {
    for (const i of [...this.paused]) this.resume(i);
    await this.procs.killAll();
    await this.proxies.stop();
  }

  private launch(i: number): void {
    const me = this.ids[i];
    const peers = this.ids.filter((id) => id !== me).map((id) => `${id}=${this.proxies.address(me, id)}`).join(',');
    const args = ['--import', 'tsx', MEMBER, '--id', me, '--dir', join(this.dir, me),
      '--raft-port', String(this.raftPorts[i]), '--http-port', String(this.httpPorts[i]),
      '--peers', peers, '--pki', join(this.dir, 'pki')];
    if (this.bug) args.push('--bug', this.bug);
    this.children[i] = this.procs.spawn(process.execPath, args, join(this.dir, `${me}.log`));
  }

  private async waitUp(i: number): Promise<void> {
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      if (await this.status(i, 500)) return;
      const c = this.children[i];
      if (c && c.exitCode !== null) throw new Error(`raft-lin: member ${this.ids[i]} exited; see ${join(this.dir, `${this.ids[i]}.log`)}`);
      await sleep(50);
    }
    throw new Error(`raft-lin: member ${this.ids[i]} did not come up`);
  }
}
