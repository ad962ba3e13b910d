/**
 * Test harness (not part of the API): RaftNodes over a MemoryNetwork on one ManualClock,
 * with seeded randomness, so a driver test is deterministic and never sleeps. Time moves
 * only in `advance`/`waitFor`; between steps every microtask and immediate is drained.
 */
import type { DurableStorage } from '../storage.ts';
import { emptyConfState, type Entry, type NodeId } from '../types.ts';
import { MemoryNetwork, type MemoryTransport } from '../transport/memory-transport.ts';
import { ManualClock } from './clock.ts';
import { MemoryDurableStorage } from './memory-durable-storage.ts';
import { RaftNode, type RaftNodeEvent, type RaftNodeOptions } from './raft-node.ts';
import type { StateMachine } from './state-machine.ts';
import { seededRand } from '../core/test-network.ts';

const text = new TextDecoder();

/** Records applied commands; `apply` returns `"<data>@<index>"`; data "throw" throws. */
export class RecordingStateMachine implements StateMachine {
  applied: string[] = [];
  restores = 0;
  apply(entry: Entry): unknown {
    const s = text.decode(entry.data);
    if (s === 'throw') throw new Error('state machine refused');
    this.applied.push(s);
    return `${s}@${entry.index}`;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.applied));
  }
  restore(data: Uint8Array): void {
    this.restores++;
    this.applied = data.length ? (JSON.parse(text.decode(data)) as string[]) : [];
  }
}

export interface Member {
  id: NodeId;
  node: RaftNode;
  storage: DurableStorage;
  sm: RecordingStateMachine;
  transport: MemoryTransport;
  events: RaftNodeEvent[];
}

export class TestCluster {
  readonly clock = new ManualClock();
  readonly net = new MemoryNetwork();
  readonly members = new Map<NodeId, Member>();
  readonly tickMs = 50;
  private seed: number;

  /**
   * `realIoMs`: for storages doing real I/O (DiskStorage), also wait this many real ms per
   * step, so virtual time does not outrun the disk. Default 0.
   */
  constructor(seed = 1, private readonly defaults: Partial<RaftNodeOptions> = {}, private readonly realIoMs = 0) {
    this.seed = seed;
  }

  /** Storage for a founding member of `voters`. */
  static storage(voters: NodeId[]): MemoryDurableStorage {
    return new MemoryDurableStorage({ confState: { ...emptyConfState(), voters } });
  }

  /** Starts a node on `storage` (a fresh one for a founding voter by default). */
  async start(id: NodeId, storage: DurableStorage, extra: Partial<RaftNodeOptions> = {}): Promise<Member> {
    const sm = new RecordingStateMachine();
    const transport = this.net.transport(id);
    const node = new RaftNode({
      id, storage, transport, stateMachine: sm, clock: this.clock, tickMs: this.tickMs, electionTick: 10, heartbeatTick: 1,
      rand: seededRand(this.seed++ * 7919), ...this.defaults, ...extra,
    });
    const m: Member = { id, node, storage, sm, transport, events: [] };
    node.on((e) => m.events.push(e));
    this.members.set(id, m);
    await node.start();
    return m;
  }

  /** Starts founding voters `ids`, each on its own fresh storage. */
  async startAll(ids: NodeId[], extra: Partial<RaftNodeOptions> = {}): Promise<void> {
    for (const id of ids) await this.start(id, TestCluster.storage(ids), extra);
  }

  async stop(id: NodeId): Promise<Member> {
    const m = this.members.get(id)!;
    await m.node.stop();
    this.members.delete(id);
    return m;
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.members.keys()]) await this.stop(id);
  }

  get(id: NodeId): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  /** Drains microtasks and immediates (deliveries, saves, Ready loops). */
  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
    if (this.realIoMs > 0) {
      await new Promise<void>((r) => setTimeout(r, this.realIoMs));
      for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Moves the clock `ms` forward one tick at a time, settling after each. */
  async advance(ms: number): Promise<void> {
    await this.settle();
    for (let t = 0; t < ms; t += this.tickMs) {
      this.clock.advance(this.tickMs);
      await this.settle();
    }
  }

  /** Ticks until `pred` holds; throws after `maxMs` of virtual time. */
  async waitFor(pred: () => boolean, what: string, maxMs = 20_000): Promise<void> {
    await this.settle();
    for (let t = 0; !pred(); t += this.tickMs) {
      if (t > maxMs) throw new Error(`timed out (virtual ${maxMs} ms) waiting for ${what}`);
      this.clock.advance(this.tickMs);
      await this.settle();
    }
  }

  /** The member every running member agrees leads, once there is one. */
  async leader(): Promise<Member> {
    let lead: NodeId = '';
    await this.waitFor(() => {
      const ms = [...this.members.values()];
      const l = ms.find((m) => m.node.isLeader);
      if (!l || !ms.every((m) => m.node.leaderId === l.id)) return false;
      lead = l.id;
      return true;
    }, 'a leader');
    return this.get(lead);
  }

  /** Waits until every running member has applied at least `index`. */
  async applied(index: number, ids = [...this.members.keys()]): Promise<void> {
    await this.waitFor(() => ids.every((id) => this.get(id).node.status().applied >= index), `applied ≥ ${index} on ${ids.join(',')}`);
  }
}

export const enc = (s: string) => new TextEncoder().encode(s);
