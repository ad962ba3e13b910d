/**
 * Simulated clients of the replicated KV store. Each client runs one operation at a time:
 * it records the invocation, sends the request to a node (the one that answered it last,
 * else a random one), and retries with the same (client, seq) on another node after a
 * timeout or a "retry" answer. The first answer completes the operation in the history;
 * an operation never answered stays open.
 */
import type { Prng } from '../sim/prng.ts';
import type { SimNetwork } from '../sim/network.ts';
import type { HistoryRecorder } from './history.ts';
import type { KvInput, KvOutput } from './kv-model.ts';
import type { KvMessage, KvReply } from './kv-app.ts';

export interface ClientOptions {
  keys: string[];
  /** Steps without an answer before retrying elsewhere. */
  timeout: number;
  /** Steps between an answer and the next operation, at most. */
  think: number;
}

export class KvClient {
  readonly addr: string;
  private seq = 0;
  private current: { seq: number; input: KvInput; sentAt: number; target: string } | null = null;
  private nextAt = 0;
  private preferred: string | null = null;
  /** Values this client last saw per key, so its CASes sometimes succeed. */
  private readonly seen = new Map<string, string>();
  issuing = true;

  constructor(
    readonly id: number,
    private readonly rand: Prng,
    private readonly net: SimNetwork<KvMessage>,
    private readonly history: HistoryRecorder<KvInput, KvOutput>,
    private readonly opts: ClientOptions,
  ) {
    this.addr = `client${id}`;
  }

  get busy(): boolean {
    return this.current !== null;
  }

  /** Issues a new operation or retries the current one, as time demands. `nodes` are the servers it may try. */
  step(now: number, nodes: string[]): void {
    if (nodes.length === 0) return;
    if (!this.current) {
      if (!this.issuing || now < this.nextAt) return;
      const input = this.nextInput();
      this.seq++;
      this.history.invoke(this.id, input, now);
      const target = this.preferred && nodes.includes(this.preferred) ? this.preferred : this.rand.pick(nodes);
      this.current = { seq: this.seq, input, sentAt: now, target };
      this.send(now);
    } else if (now - this.current.sentAt >= this.opts.timeout) {
      this.retry(now, nodes);
    }
  }

  onReply(m: KvReply, now: number, nodes: string[]): void {
    const cur = this.current;
    if (!cur || m.seq !== cur.seq) return; // a late answer to an earlier attempt or operation
    if (m.retry) {
      // Try elsewhere soon; keep the op open (it may still have been applied).
      cur.sentAt = now - this.opts.timeout + this.rand.int(2, 8);
      this.preferred = null;
      if (nodes.length > 0) cur.target = this.rand.pick(nodes);
      return;
    }
    const output = m.output!;
    this.history.complete(this.id, output, now);
    if (cur.input.op === 'get') this.seen.set(cur.input.key, output.value!);
    else if (cur.input.op === 'put') this.seen.set(cur.input.key, cur.input.value);
    this.preferred = m.from;
    this.current = null;
    this.nextAt = now + this.rand.int(0, this.opts.think);
  }

  private retry(now: number, nodes: string[]): void {
    const cur = this.current!;
    const others = nodes.filter((n) => n !== cur.target);
    cur.target = others.length > 0 ? this.rand.pick(others) : cur.target;
    cur.sentAt = now;
    this.preferred = null;
    this.send(now);
  }

  private send(now: number): void {
    const cur = this.current!;
    this.net.send({ kind: 'request', from: this.addr, to: cur.target, clientId: this.id, seq: cur.seq, input: cur.input }, now);
  }

  private nextInput(): KvInput {
    const r = this.rand;
    const key = r.pick(this.opts.keys);
    const tag = `${this.id}.${this.seq + 1}`;
    const x = r.next();
    if (x < 0.4) return { op: 'get', key };
    if (x < 0.6) return { op: 'put', key, value: tag };
    if (x < 0.85) return { op: 'append', key, value: `${tag};` };
    const expected = r.chance(0.7) ? (this.seen.get(key) ?? '') : 'nope';
    return { op: 'cas', key, expected, value: tag };
  }
}
