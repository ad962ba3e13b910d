/**
 * A 3-member etcd (Debian's etcd-server, /usr/bin/etcd) on 127.0.0.1 with data in a temp
 * dir, for the raft benchmark's baseline: the logic of /work/shared/anchors/etcd/cluster.sh
 * ported to Node so the benchmark starts, kills and restarts it by PID. Members talk over
 * mutual TLS (as raft-ts members always do) so both sides pay for TLS alike; clients use
 * plain HTTP on both sides.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makePki } from './raft-certs.ts';
import { findLeader, post, type BenchCluster } from './raft-load.ts';
import { freePort, type Procs } from './raft-procs.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EtcdCluster implements BenchCluster {
  readonly name = 'etcd';
  private clientPorts: number[] = [];
  private peerPorts: number[] = [];
  private readonly children: (ChildProcess | undefined)[] = [];

  constructor(private readonly procs: Procs, private readonly dir: string,
    private readonly opts: { heartbeatMs: number; electionMs: number; bin?: string; peerTls?: boolean }) {}

  /** The members' peer URL scheme: mutual TLS between members (as raft-ts) unless `peerTls` is false. */
  private get peerScheme(): string {
    return this.opts.peerTls === false ? 'http' : 'https';
  }

  /** Peer TLS flags (certs from makePki in DIR/pki), none when peer TLS is off. */
  private tlsArgs(i: number): string[] {
    if (this.opts.peerTls === false) return [];
    const pki = join(this.dir, 'pki');
    return ['--peer-cert-file', join(pki, `e${i}.pem`), '--peer-key-file', join(pki, `e${i}.key`),
      '--peer-trusted-ca-file', join(pki, 'ca.pem'), '--peer-client-cert-auth'];
  }

  clientUrl(i: number): string {
    return `http://127.0.0.1:${this.clientPorts[i]}`;
  }

  private launch(i: number, state: 'new' | 'existing'): void {
    const cluster = this.peerPorts.map((p, j) => `e${j}=${this.peerScheme}://127.0.0.1:${p}`).join(',');
    this.children[i] = this.procs.spawn(this.opts.bin ?? '/usr/bin/etcd', [
      '--name', `e${i}`, '--data-dir', join(this.dir, `e${i}`),
      '--listen-client-urls', this.clientUrl(i), '--advertise-client-urls', this.clientUrl(i),
      '--listen-peer-urls', `${this.peerScheme}://127.0.0.1:${this.peerPorts[i]}`,
      '--initial-advertise-peer-urls', `${this.peerScheme}://127.0.0.1:${this.peerPorts[i]}`, ...this.tlsArgs(i),
      '--initial-cluster', cluster, '--initial-cluster-state', state, '--initial-cluster-token', 'shoal-bench',
      '--heartbeat-interval', String(this.opts.heartbeatMs), '--election-timeout', String(this.opts.electionMs),
      '--logger', 'zap', '--log-outputs', join(this.dir, `e${i}.log`),
    ], join(this.dir, `e${i}.out`));
  }

  private async waitUp(i: number): Promise<void> {
    for (let k = 0; k < 200; k++) {
      if (await post(this.clientUrl(i), '/v3/maintenance/status', {}, 500).then(() => true, () => false)) return;
      await sleep(100);
    }
    throw new Error(`bench: etcd member ${i} did not come up`);
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    if (this.opts.peerTls !== false) {
      mkdirSync(join(this.dir, 'pki'), { recursive: true });
      makePki(join(this.dir, 'pki'), ['e0', 'e1', 'e2']);
    }
    for (let i = 0; i < 3; i++) {
      this.clientPorts.push(await freePort());
      this.peerPorts.push(await freePort());
    }
    for (let i = 0; i < 3; i++) this.launch(i, 'new');
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
    this.launch(i, 'existing');
    await this.waitUp(i);
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((c) => (c ? this.procs.kill(c) : undefined)));
  }
}
