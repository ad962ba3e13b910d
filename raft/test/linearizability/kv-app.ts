/**
 * A replicated key-value store on a simulated Raft node: the state machine (values plus a
 * per-client deduplication table, both in its snapshots) and the server side of the
 * client protocol. Writes (put, append, cas) go through the log; a retried request
 * carries the same (client, seq) and is answered from the deduplication table instead of
 * being executed twice. Reads use ReadIndex: the node asks for a read index, waits until
 * it has applied that far, then answers from its local state (linearizable, and served by
 * followers too).
 *
 * One instance per node incarnation: a crash loses the pending requests (clients time
 * out and retry elsewhere) but not the state, which is rebuilt from snapshot + log.
 */
import type { Entry, ReadState } from '../../src/index.ts';
import type { App } from '../sim/app.ts';
import type { SimNode } from '../sim/sim-node.ts';
import { isExpectedRefusal } from '../sim/cluster.ts';
import type { KvInput, KvOutput } from './kv-model.ts';

/** A client request; `seq` numbers a client's operations, retries reuse it. */
export interface KvRequest {
  kind: 'request';
  from: string;
  to: string;
  clientId: number;
  seq: number;
  input: KvInput;
}

/** The answer to a request; `retry` when the node could not take it (no leader known, proposal dropped). */
export interface KvReply {
  kind: 'reply';
  from: string;
  to: string;
  clientId: number;
  seq: number;
  output?: KvOutput;
  retry?: boolean;
}

export type KvMessage = KvRequest | KvReply;

/** The command a write entry carries. */
interface Command {
  clientId: number;
  seq: number;
  input: KvInput;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Deliberate bugs, for tests that check the whole pipeline (simulation, history, checker)
 * catches a broken server: reads served from local state without ReadIndex, and retried
 * writes executed again instead of deduplicated.
 */
export interface KvBugs {
  staleReads?: boolean;
  noDedup?: boolean;
}

export class KvApp implements App {
  private kv = new Map<string, string>();
  /** Per client: the last executed seq and its output. */
  private last = new Map<number, { seq: number; output: KvOutput }>();
  private readonly pendingWrites = new Map<string, KvRequest>();
  private readonly pendingReads = new Map<string, { req: KvRequest; index: number }>();
  private nonce = 0;

  constructor(
    private readonly node: SimNode,
    private readonly reply: (m: KvReply) => void,
    private readonly bugs: KvBugs = {},
  ) {}

  /** Serves a request that reached this node. */
  handle(req: KvRequest): void {
    const raw = this.node.raw!;
    try {
      if (req.input.op === 'get' && this.bugs.staleReads) {
        this.answer(req, { value: this.kv.get(req.input.key) ?? '' });
      } else if (req.input.op === 'get') {
        const ctx = `${req.clientId}/${req.seq}/${this.node.incarnation}/${this.nonce++}`;
        this.pendingReads.set(ctx, { req, index: -1 });
        raw.readIndex(enc.encode(ctx));
      } else {
        this.pendingWrites.set(`${req.clientId}/${req.seq}`, req);
        raw.propose(enc.encode(JSON.stringify({ clientId: req.clientId, seq: req.seq, input: req.input } satisfies Command)));
      }
    } catch (err) {
      if (!isExpectedRefusal(err)) throw err;
      this.answer(req, undefined);
    }
  }

  apply(entry: Entry): void {
    if (entry.data.length === 0) return; // a leader's no-op
    const cmd = JSON.parse(dec.decode(entry.data)) as Command;
    const seen = this.last.get(cmd.clientId);
    let output: KvOutput;
    if (seen && cmd.seq <= seen.seq && !this.bugs.noDedup) {
      if (cmd.seq < seen.seq) return; // an old duplicate: its client has long moved on
      output = seen.output;
    } else {
      output = this.execute(cmd.input);
      this.last.set(cmd.clientId, { seq: cmd.seq, output });
    }
    const key = `${cmd.clientId}/${cmd.seq}`;
    const req = this.pendingWrites.get(key);
    if (req) {
      this.pendingWrites.delete(key);
      this.answer(req, output);
    }
  }

  private execute(input: KvInput): KvOutput {
    const cur = this.kv.get(input.key) ?? '';
    switch (input.op) {
      case 'get':
        return { value: cur };
      case 'put':
        this.kv.set(input.key, input.value);
        return {};
      case 'append':
        this.kv.set(input.key, cur + input.value);
        return {};
      case 'cas':
        if (cur !== input.expected) return { ok: false };
        this.kv.set(input.key, input.value);
        return { ok: true };
    }
  }

  onReadStates(states: ReadState[]): void {
    for (const rs of states) {
      const p = this.pendingReads.get(dec.decode(rs.requestCtx));
      if (p) p.index = rs.index;
    }
  }

  afterReady(): void {
    for (const [ctx, p] of this.pendingReads) {
      if (p.index < 0 || p.index > this.node.applied) continue;
      this.pendingReads.delete(ctx);
      this.answer(p.req, { value: this.kv.get(p.req.input.key) ?? '' });
    }
  }

  private answer(req: KvRequest, output: KvOutput | undefined): void {
    this.reply({ kind: 'reply', from: req.to, to: req.from, clientId: req.clientId, seq: req.seq, ...(output ? { output } : { retry: true }) });
  }

  snapshot(): Uint8Array {
    const kv = [...this.kv].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const last = [...this.last].sort(([a], [b]) => a - b);
    return enc.encode(JSON.stringify({ kv, last }));
  }

  restore(data: Uint8Array): void {
    if (data.length === 0) {
      this.kv = new Map();
      this.last = new Map();
      return;
    }
    const s = JSON.parse(dec.decode(data)) as { kv: [string, string][]; last: [number, { seq: number; output: KvOutput }][] };
    this.kv = new Map(s.kv);
    this.last = new Map(s.last);
  }
}
