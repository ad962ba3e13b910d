/**
 * One simulated worker node: it joins the swarm as `docker swarm join` does (the root CA
 * over anonymous TLS checked against the join token, then its own key and CSR with the
 * worker token, answered by a certificate from the managers' CA), keeps the real
 * `Session` (mutual TLS WebSocket, heartbeats, redirects, failover) and answers its
 * assignments through `AgentStub` instead of running containers.
 *
 * Each node has its own key and certificate (one CSR per node, as real nodes do) and
 * its own loopback source address (127.x.y.z), so the managers see N distinct
 * underlay addresses.
 */
import type { ConnectionOptions } from 'node:tls';
import { NodeTLS, bootstrapClientTlsOptions, newNodeKeyAndCSR, tokenMatchesCA } from '../../src/manager/ca/index.ts';
import { httpsJson } from '../../src/swarm/https-json.ts';
import { Session } from '../../src/swarm/session.ts';
import type { JoinNodeRequest, JoinNodeResponse } from '../../src/wire/types.ts';
import type { NodeDescription } from '../../src/api/types/node.ts';
import type { Logger } from '../../src/common/logger.ts';
import { AgentStub } from './agent-stub.ts';

/** How a simulated node joins and beats. */
export interface SimNodeOptions {
  /** Index of the node in the whole run (names it and picks its source address). */
  index: number;
  /** A manager's 2377 address (IP:PORT) to join through. */
  joinAddr: string;
  token: string;
  /** Heartbeat period until the leader's answer says otherwise, ms (default 1000). */
  heartbeatMs?: number;
  /** How often the agent stub reports task state steps, ms (default 100). */
  stepMs?: number;
  logger: Logger;
}

/** The loopback address simulated node `i` connects from (127.1.0.0 + i, never .0 or .255 in the last octet). */
export function simAddress(i: number): string {
  const n = Math.floor(i / 254) * 256 + (i % 254) + 1;
  return `127.${1 + ((n >> 16) & 0x3f)}.${(n >> 8) & 255}.${n & 255}`;
}

/** The description a simulated node states: 4 CPUs and 8 GiB, so placement is never short. */
export function simDescription(i: number): NodeDescription {
  return {
    Hostname: `sim-${i}`,
    Platform: { Architecture: 'x86_64', OS: 'linux' },
    Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 2 ** 30 },
    Engine: { EngineVersion: 'scale-sim', Labels: {}, Plugins: [] },
  };
}

export class SimNode {
  readonly agent = new AgentStub();
  /** Heartbeat round trips seen since the last `takeRtts`, ms. */
  private rtts: number[] = [];
  /** When the node last heard an ack (ms), and from which manager (IP:PORT). */
  lastAck = 0;
  lastAckFrom = '';
  /** After `mark(addr)`: when the first ack from another manager than `addr` came (ms), 0 before. */
  private markedAddr?: string;
  movedAt = 0;
  private stepTimer?: NodeJS.Timeout;
  private session?: Session;

  private constructor(
    readonly nodeId: string,
    private readonly tls: NodeTLS,
    private readonly managers: Record<string, string>,
    private readonly opts: SimNodeOptions,
  ) {}

  /** Joins the swarm with the worker token; the session starts with `start()`. */
  static async join(opts: SimNodeOptions, rootPem: string): Promise<SimNode> {
    if (!tokenMatchesCA(opts.token, rootPem)) throw new Error('scale: the root CA does not match the join token');
    const local = simAddress(opts.index);
    const { keyPem, csrPem } = await newNodeKeyAndCSR();
    const body: JoinNodeRequest = { token: opts.token, csrPem, advertiseAddr: `${local}:2377`, availability: 'active', description: simDescription(opts.index) };
    // httpsJson spreads these into https.request, which takes the source address too.
    const tls = { ...bootstrapClientTlsOptions(rootPem), localAddress: local } as ConnectionOptions;
    const res = await httpsJson<JoinNodeResponse>(opts.joinAddr, 'POST', '/join', { tls, body, timeoutMs: 60_000 });
    const nodeTls = NodeTLS.create({ certPem: res.certPem, keyPem, rootPem: res.rootPem });
    return new SimNode(res.nodeId, nodeTls, res.managers, opts);
  }

  /** Fetches the swarm's root CA from a manager (anonymous TLS); checked against the token by `join`. */
  static async rootCA(addr: string): Promise<string> {
    return (await httpsJson<{ rootPem: string }>(addr, 'GET', '/ca', { tls: { rejectUnauthorized: false } })).rootPem;
  }

  /** Opens the session: heartbeats, assignments answered by the agent stub. */
  start(): void {
    const local = simAddress(this.opts.index);
    // Session takes a NodeTLS; this one adds the node's own source address to every connection.
    const tls = Object.create(this.tls, {
      unpooledClientOptions: { value: (o?: { servername?: string }) => ({ ...this.tls.unpooledClientOptions(o), localAddress: local }) },
    }) as NodeTLS;
    const session = new Session({
      tls,
      addr: `${local}:2377`,
      managers: this.managers,
      heartbeatMs: this.opts.heartbeatMs ?? 1000,
      logger: this.opts.logger,
      description: simDescription(this.opts.index),
      onAck: (rtt, addr) => {
        this.lastAck = Date.now();
        this.lastAckFrom = addr;
        if (this.markedAddr !== undefined && addr !== this.markedAddr && !this.movedAt) this.movedAt = this.lastAck;
        this.rtts.push(rtt);
      },
      onAssignments: (f) => {
        this.agent.assign(f);
        this.report();
      },
    });
    this.session = session;
    session.start();
  }

  /** One step of the agent stub now, and further steps every `stepMs` while tasks move. */
  private report(): void {
    const updates = this.agent.step(Date.now());
    // No session: the next full assignment set (on reconnect) brings the tasks back.
    if (updates.length) this.session?.sendStatus(updates);
    if (this.agent.busy && !this.stepTimer) {
      this.stepTimer = setTimeout(() => {
        this.stepTimer = undefined;
        this.report();
      }, this.opts.stepMs ?? 100);
    }
  }

  /** Starts watching for the session to move off manager `addr` (a leader about to be killed): see `movedAt`. */
  mark(addr: string): void {
    this.markedAddr = addr;
    this.movedAt = 0;
  }

  /** The heartbeat round trips since the last call, ms. */
  takeRtts(): number[] {
    const r = this.rtts;
    this.rtts = [];
    return r;
  }

  close(): void {
    clearTimeout(this.stepTimer);
    this.session?.close();
  }
}
