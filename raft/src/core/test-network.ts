/**
 * A tiny in-memory network of RawNodes for tests (after etcd's raft_test.go `network`):
 * every node has a MemoryStorage; `deliver` runs the Ready loop of each node (persist, send,
 * apply, advance) and carries messages until the network is quiet. Links can be dropped,
 * cut, isolated and recovered; message types can be ignored. Deterministic: partial drops use
 * a seeded generator.
 */
import { decodeConfChange } from '../confchange/changer.ts';
import { MemoryStorage } from '../memory-storage.ts';
import { EntryType, MessageType } from '../types.ts';
import type { ConfState, Entry, Message, NodeId, ReadState } from '../types.ts';
import { RawNode } from './raw-node.ts';
import type { Config } from './raw-node.ts';

/** A small deterministic PRNG (mulberry32) for tests. */
export function seededRand(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TestNode {
  id: NodeId;
  rn: RawNode;
  storage: MemoryStorage;
  /** Entries applied, in order (including empty ones and conf changes). */
  applied: Entry[];
  /** Conf states returned by applyConfChange, in order. */
  confStates: ConfState[];
  /** Read states handed out by Readys, in order. */
  readStates: ReadState[];
}

export type NodeOptions = Partial<Omit<Config, 'id' | 'storage'>>;

export function voters(ids: NodeId[]): ConfState {
  return { voters: [...ids], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

/** Creates a node over a fresh MemoryStorage bootstrapped with `cs` (default: just itself). */
export function newTestNode(id: NodeId, cs: ConfState, opts: NodeOptions = {}, seed = 1): TestNode {
  const storage = new MemoryStorage({ confState: cs });
  const rn = new RawNode({
    id,
    storage,
    electionTick: 10,
    heartbeatTick: 1,
    rand: seededRand(seed),
    ...opts,
  });
  const n: TestNode = { id, rn, storage, applied: [], confStates: [], readStates: [] };
  // An initial member's first Ready holds the bootstrap entries: persist and apply them.
  processReady(n);
  return n;
}

/**
 * A node whose storage already holds `entries` (terms given; indexes from 1) and hard state
 * `term`, as if it had lived through earlier terms. `commit` defaults to 0.
 */
export function newNodeWithLog(id: NodeId, cs: ConfState, terms: number[], opts: NodeOptions & { term?: number; commit?: number; vote?: NodeId } = {}): TestNode {
  const storage = new MemoryStorage({ confState: cs });
  // One byte of data each, so that size limits apply to them.
  storage.append(terms.map((t, i) => ({ term: t, index: i + 1, type: EntryType.Normal, data: new Uint8Array([t]) })));
  const { term, commit, vote, ...rest } = opts;
  storage.setHardState({ term: term ?? (terms.length ? terms[terms.length - 1] : 0), vote: vote ?? '', commit: commit ?? 0 });
  const rn = new RawNode({ id, storage, electionTick: 10, heartbeatTick: 1, rand: seededRand(7), ...rest });
  return { id, rn, storage, applied: [], confStates: [], readStates: [] };
}

/** The (index, term) pairs of every entry in `n`'s log. */
export function logOf(n: TestNode): [number, number][] {
  return n.rn.raft.raftLog.allEntries().map((e) => [e.index, e.term]);
}

/**
 * Runs one Ready cycle of `n`: persist, apply (conf changes through applyConfChange), advance.
 * Returns the messages to send.
 */
export function processReady(n: TestNode): Message[] {
  if (!n.rn.hasReady()) return [];
  const rd = n.rn.ready();
  n.readStates.push(...rd.readStates);
  if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
  n.storage.append(rd.entries);
  if (rd.hardState) n.storage.setHardState(rd.hardState);
  for (const e of rd.committedEntries) {
    n.applied.push(e);
    if (e.type === EntryType.ConfChange) n.confStates.push(n.rn.applyConfChange(decodeConfChange(e.data)));
  }
  n.rn.advance(rd);
  return rd.messages;
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly dropRates = new Map<string, number>();
  private readonly ignored = new Set<MessageType>();
  private readonly predicates: ((m: Message) => boolean)[] = [];
  private readonly rand: () => number;
  /** Every message delivered (for assertions on traffic). */
  readonly delivered: Message[] = [];
  /** Messages that were dropped. */
  readonly dropped: Message[] = [];

  /** Creates nodes `ids`, all voters of the initial configuration. */
  constructor(ids: NodeId[], opts: NodeOptions = {}, seed = 1) {
    this.rand = seededRand(seed * 7919);
    ids.forEach((id, i) => this.nodes.set(id, newTestNode(id, voters(ids), opts, seed * 101 + i)));
    // Persist and apply the bootstrap entries, as a driver would on start.
    this.stabilize();
  }

  /** A network of nodes built elsewhere (custom logs, terms or configurations). */
  static of(nodes: TestNode[], seed = 1): Network {
    const net = new Network([], {}, seed);
    for (const n of nodes) net.add(n);
    return net;
  }

  /** Adds a node built elsewhere (e.g. a new member with an empty configuration). */
  add(n: TestNode): void {
    this.nodes.set(n.id, n);
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  rn(id: NodeId): RawNode {
    return this.node(id).rn;
  }

  /** Drops messages from `from` to `to` with probability `rate` (1 = all). */
  drop(from: NodeId, to: NodeId, rate = 1): void {
    this.dropRates.set(`${from}->${to}`, rate);
  }

  /** Drops everything between `a` and `b`, both ways. */
  cut(a: NodeId, b: NodeId): void {
    this.drop(a, b);
    this.drop(b, a);
  }

  /** Cuts `id` off from every other node. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  /** Drops every message of type `t`. */
  ignore(t: MessageType): void {
    this.ignored.add(t);
  }

  /** Drops every message for which `pred` holds. */
  dropIf(pred: (m: Message) => boolean): void {
    this.predicates.push(pred);
  }

  /** Heals every link and stops ignoring message types and predicates. */
  recover(): void {
    this.dropRates.clear();
    this.ignored.clear();
    this.predicates.length = 0;
  }

  private filter(msgs: Message[]): Message[] {
    return msgs.filter((m) => {
      const rate = this.dropRates.get(`${m.from}->${m.to}`) ?? 0;
      const drop = this.ignored.has(m.type) || !this.nodes.has(m.to) || this.predicates.some((p) => p(m)) ||
        (rate > 0 && (rate >= 1 || this.rand() < rate));
      if (drop) this.dropped.push(m);
      return !drop;
    });
  }

  /** Runs every node's Ready loop and returns (filtered) outgoing messages. */
  private collect(): Message[] {
    const out: Message[] = [];
    // A Ready may lead to another (a leader commits once its own write is done).
    for (let again = true; again; ) {
      again = false;
      for (const n of this.nodes.values()) {
        if (!n.rn.hasReady()) continue;
        again = true;
        out.push(...processReady(n));
      }
    }
    return this.filter(out);
  }

  /** Steps `msgs` into their targets and keeps delivering until no message is left. */
  send(...msgs: Message[]): void {
    const queue = this.filter(msgs);
    queue.push(...this.collect());
    for (let rounds = 0; queue.length > 0; rounds++) {
      if (rounds > 10_000) throw new Error('network did not quiesce');
      const m = queue.shift()!;
      this.delivered.push(m);
      this.node(m.to).rn.step(m);
      queue.push(...this.collect());
    }
  }

  /** Delivers whatever the nodes have to say (after ticks or local calls). */
  stabilize(): void {
    this.send();
  }

  /** Makes `id` campaign and runs the network until quiet. */
  campaign(id: NodeId): void {
    this.rn(id).campaign();
    this.stabilize();
  }

  /** Proposes `data` at `id` (a string for convenience) and runs the network until quiet. */
  propose(id: NodeId, data: string | Uint8Array): void {
    this.rn(id).propose(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    this.stabilize();
  }

  /** Ticks every node `n` times, delivering messages after each round. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.rn.tick();
      this.stabilize();
    }
  }

  /** The leader with the highest term, if any. */
  leader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined;
    for (const n of this.nodes.values()) {
      const r = n.rn.raft;
      if (r.state === 'leader' && (!best || r.term > best.term)) best = { id: n.id, term: r.term };
    }
    return best?.id;
  }

  /** The payloads applied by `id`, as strings, without the empty entries. */
  appliedData(id: NodeId): string[] {
    const dec = new TextDecoder();
    return this.node(id).applied.filter((e) => e.type === EntryType.Normal && e.data.byteLength > 0).map((e) => dec.decode(e.data));
  }
}
