/**
 * The embedded DNS of every task on this node: a socket pair at 127.0.0.11:53 inside each
 * task's netns, all answered by one `DnsServer` from the node's DNS table, each scoped to
 * its task's networks. `InlineTaskDns` serves from the process it lives in;
 * `dns-process.ts` runs one inside a child process, so answers never wait behind the
 * daemon's own work (Raft ticks, store commits, garbage collection of a larger heap).
 */
import type { Server } from 'node:net';
import type { Socket } from 'node:dgram';
import { DnsServer, type DnsStats, type DnsTable } from '../../../net/dns/index.ts';
import type { DnsSocketSource } from './socket-broker.ts';

/** The address every task's resolver listens on (Docker's). */
export const DNS_ADDRESS = '127.0.0.11';

/** What the network agent needs of the embedded DNS. */
export interface TaskDns {
  /**
   * Serves DNS inside `netns` for the task, answering names of `networks`; other names
   * are forwarded upstream unless `forward` is false (then REFUSED). Replaces an earlier
   * binding of the task.
   */
  bind(taskId: string, netns: string, networks: readonly string[], opts?: DnsBindOptions): Promise<void>;
  /** Stops serving the task (idempotent). */
  unbind(taskId: string): void;
  /** The node's whole DNS table; answers switch at once. */
  setTable(table: DnsTable): void;
  close(): void;
  /** Query counts since the DNS server started (metrics); undefined while not known. */
  stats?(): DnsStats | undefined;
}

/** How a task's DNS answers. */
export interface DnsBindOptions {
  /** Forward names outside the swarm upstream (false: the task has no way out; REFUSED). Default true. */
  forward?: boolean;
}

interface Binding {
  udp: Socket;
  tcp: Server;
  offs: (() => void)[];
}

/** DNS served by this process, on sockets `sockets` binds inside each task netns. */
export class InlineTaskDns implements TaskDns {
  private table: DnsTable = {};
  private readonly server: DnsServer;
  private readonly bindings = new Map<string, Binding>();

  constructor(private readonly sockets: DnsSocketSource, opts: { upstreams: string[]; debug?: (msg: string, fields?: Record<string, unknown>) => void }) {
    this.server = new DnsServer({ table: () => this.table, upstreams: opts.upstreams, debug: opts.debug });
  }

  async bind(taskId: string, netns: string, networks: readonly string[], opts: DnsBindOptions = {}): Promise<void> {
    this.unbind(taskId); // its sockets hold the address
    const { udp, tcp } = await this.sockets.bind(netns, DNS_ADDRESS, 53);
    const scope = { networks: () => networks, forward: opts.forward !== false };
    this.bindings.set(taskId, { udp, tcp, offs: [this.server.serve(udp, scope), this.server.serveTcp(tcp, scope)] });
  }

  unbind(taskId: string): void {
    const b = this.bindings.get(taskId);
    if (!b) return;
    this.bindings.delete(taskId);
    for (const off of b.offs) off();
    try { b.udp.close(); } catch { /* already closed */ }
    b.tcp.close();
  }

  setTable(table: DnsTable): void {
    this.table = table;
  }

  stats(): DnsStats {
    return this.server.stats();
  }

  close(): void {
    for (const id of [...this.bindings.keys()]) this.unbind(id);
    this.server.close();
    this.sockets.close();
  }
}
