/**
 * DNS sockets made inside task namespaces by one long-lived helper (`socket-broker.pl`,
 * a child on Node's IPC channel): about 1 ms per task instead of forking a Node helper
 * under nsenter each time (≈ 100 ms and a CPU's worth of start-up, which adds up when
 * many tasks start at once). When the broker cannot run, `bindDnsInNetns` (the Node
 * helper) does the job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:dgram';
import type { Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { bindDnsInNetns, NetnsBindError } from '../../../net/dns/index.ts';
import type { Logger } from '../../common/logger.ts';

const SCRIPT = fileURLToPath(new URL('./socket-broker.pl', import.meta.url));

/** What the network agent needs: the DNS pair bound inside a netns. */
export interface DnsSocketSource {
  bind(netns: string, address: string, port: number): Promise<{ udp: Socket; tcp: Server }>;
  close(): void;
}

interface Pending {
  udp?: Socket;
  tcp?: Server;
  resolve: (v: { udp: Socket; tcp: Server }) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  where: string;
}

/** The broker, started on first use and again after it died; falls back to the Node helper. */
export class SocketBroker implements DnsSocketSource {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private broken = false;
  private closed = false;

  constructor(private readonly opts: { logger: Logger; perl?: string; timeoutMs?: number; script?: string } ) {}

  async bind(netns: string, address: string, port: number): Promise<{ udp: Socket; tcp: Server }> {
    if (!/^[A-Za-z0-9_.-]+$/.test(netns)) throw new NetnsBindError(`invalid netns name "${netns}"`);
    if (this.broken || this.closed) return bindDnsInNetns(netns, { address, port });
    try {
      return await this.request(netns, address, port);
    } catch (err) {
      if (!(err instanceof BrokerDown)) throw err;
      this.opts.logger.warn('network: socket broker unavailable, forking a helper per task', { error: err.message });
      this.broken = true;
      return bindDnsInNetns(netns, { address, port });
    }
  }

  /** Stops the broker (our child, by its PID); sockets handed over stay open. */
  close(): void {
    this.closed = true;
    const c = this.child;
    this.child = undefined;
    if (c?.pid && c.exitCode === null && c.signalCode === null) {
      try { c.disconnect(); } catch { /* already */ }
      try { process.kill(c.pid, 'SIGTERM'); } catch { /* gone */ }
    }
  }

  private request(netns: string, address: string, port: number): Promise<{ udp: Socket; tcp: Server }> {
    const child = this.start();
    const id = this.nextId++;
    const where = `udp+tcp ${address}:${port} in netns ${netns}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.finish(id, new NetnsBindError(`cannot bind ${where}: the socket broker gave no socket in time`)), this.opts.timeoutMs ?? 5000);
      this.pending.set(id, { resolve, reject, timer, where });
      child.send(`bind ${id} ${netns} ${address} ${port}`, (err) => { if (err) this.finish(id, new BrokerDown(err.message)); });
    });
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(this.opts.perl ?? 'perl', [this.opts.script ?? SCRIPT], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d) => { if (stderr.length < 4096) stderr += d; });
    child.on('message', (msg: { id?: number; proto?: string; error?: string }, handle: unknown) => {
      const p = msg && typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
      if (!p) { (handle as { close?: () => void } | undefined)?.close?.(); return; }
      if (msg.error) { this.finish(msg.id!, new NetnsBindError(`cannot bind ${p.where}: ${msg.error}`)); return; }
      if (msg.proto === 'udp') p.udp = handle as Socket;
      if (msg.proto === 'tcp') p.tcp = handle as Server;
      if (p.udp && p.tcp) this.finish(msg.id!);
    });
    const down = (why: string) => {
      if (this.child === child) this.child = undefined;
      for (const id of [...this.pending.keys()]) this.finish(id, new BrokerDown(`${why}${stderr ? `: ${stderr.trim()}` : ''}`));
    };
    child.on('error', (err) => down(`cannot run the socket broker: ${err.message}`));
    child.on('exit', (code, signal) => down(`the socket broker exited (${signal ?? code})`));
    // The daemon does not wait for its broker to exit.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    return child;
  }

  private finish(id: number, err?: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (!err) { p.resolve({ udp: p.udp!, tcp: p.tcp! }); return; }
    try { p.udp?.close(); } catch { /* closed */ }
    p.tcp?.close();
    p.reject(err);
  }
}

/** The broker could not be reached (not a bind refused inside the netns): fall back. */
class BrokerDown extends Error {
  override name = 'BrokerDown';
}
