/**
 * Issue 19 item 2: the KV workload of the Raft linearizability checker, run against three
 * real raft-ts processes (WebSocket transport with mutual TLS, disk WAL with fsync) while a
 * seeded nemesis kills -9 and restarts members, pauses them, isolates them and cuts single
 * directions; then every operation clients saw is checked with the same checker the
 * simulation uses (raft/test/linearizability/checker.ts).
 *
 * Clients retry an unanswered operation on other members with the same (client, seq), so
 * the members' deduplication keeps it at most once; an operation still unanswered after
 * OP_DEADLINE_MS stays open in the history ("may or may not have happened") and the client
 * goes on under a new id, as a crashed and restarted client would.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../../src/common/prng.ts';
import { checkOperations } from '../../raft/test/linearizability/checker.ts';
import { HistoryRecorder } from '../../raft/test/linearizability/history.ts';
import { kvModel, type KvInput, type KvOperation, type KvOutput } from '../../raft/test/linearizability/kv-model.ts';
import { LinCluster } from './cluster.ts';
import { planFaults, type Fault } from './nemesis.ts';

const ATTEMPT_TIMEOUT_MS = 1000;
const OP_DEADLINE_MS = 4000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LinOptions {
  seed: number;
  durationMs: number;
  clients: number;
  keys: number;
  /** Where the members' data, logs and the history go. */
  dir: string;
  log?: (line: string) => void;
}

export interface LinResult {
  ok: boolean;
  decided: boolean;
  operations: number;
  completed: number;
  open: number;
  faults: Fault[];
  historyFile: string;
  /** The failing part rendered, when not linearizable. */
  failure?: string[];
  checkMs: number;
}

/** Sends one operation, retrying elsewhere, until answered or `deadline`; null when never answered. */
async function call(cluster: LinCluster, pick: () => number, clientId: number, seq: number, input: KvInput, deadline: number): Promise<KvOutput | null> {
  let member = pick();
  while (performance.now() < deadline) {
    try {
      const res = await fetch(`${cluster.url(member)}/kv`, {
        method: 'POST', body: JSON.stringify({ clientId, seq, input }),
        signal: AbortSignal.timeout(Math.max(50, Math.min(ATTEMPT_TIMEOUT_MS, deadline - performance.now()))),
      });
      const body = (await res.json()) as { output?: KvOutput };
      if (res.status === 200 && body.output) return body.output;
    } catch {
      // timed out, refused or reset: unknown, try another member
    }
    member = (member + 1) % 3;
    await sleep(20);
  }
  return null;
}

/** The recorded history through one run of `clients` concurrent clients. */
export class Workload {
  readonly history = new HistoryRecorder<KvInput, KvOutput>();
  private nextClientId = 1;
  private stopped = false;

  constructor(private readonly cluster: LinCluster, private readonly random: () => number, private readonly keys: string[]) {}

  /** One operation through the history: invoked now, completed if answered. */
  async run(clientId: number, seq: number, input: KvInput, member?: number): Promise<KvOutput | null> {
    this.history.invoke(clientId, input, performance.now());
    const pick = () => member ?? Math.floor(this.random() * 3);
    const out = await call(this.cluster, pick, clientId, seq, input, performance.now() + OP_DEADLINE_MS);
    if (out) this.history.complete(clientId, out, performance.now());
    return out;
  }

  newClientId(): number {
    return this.nextClientId++;
  }

  async client(): Promise<void> {
    let clientId = this.newClientId();
    let seq = 0;
    const seen = new Map<string, string>();
    while (!this.stopped) {
      seq++;
      const input = this.nextInput(clientId, seq, seen);
      const out = await this.run(clientId, seq, input);
      if (!out) {
        clientId = this.newClientId();
        seq = 0;
        continue;
      }
      if (input.op === 'get') seen.set(input.key, out.value ?? '');
      if (input.op === 'put') seen.set(input.key, input.value);
      await sleep(Math.floor(this.random() * 20));
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private nextInput(clientId: number, seq: number, seen: Map<string, string>): KvInput {
    const key = this.keys[Math.floor(this.random() * this.keys.length)];
    const tag = `${clientId}.${seq}`;
    const x = this.random();
    if (x < 0.4) return { op: 'get', key };
    if (x < 0.6) return { op: 'put', key, value: tag };
    if (x < 0.85) return { op: 'append', key, value: `${tag};` };
    return { op: 'cas', key, expected: this.random() < 0.7 ? (seen.get(key) ?? '') : 'nope', value: tag };
  }
}

async function inflict(cluster: LinCluster, f: Fault, log: (l: string) => void): Promise<void> {
  const target = f.kind.endsWith('-leader') ? await cluster.leader().catch(() => f.target) : f.target;
  const name = cluster.ids[target];
  log(`fault ${f.kind} ${name}${f.kind === 'one-way' ? ` -/-> ${cluster.ids[f.peer]}` : ''} for ${f.holdMs} ms`);
  switch (f.kind) {
    case 'kill':
    case 'kill-leader':
      await cluster.kill(target);
      await sleep(f.holdMs);
      await cluster.restart(target);
      return;
    case 'pause':
      cluster.pause(target);
      await sleep(f.holdMs);
      cluster.resume(target);
      return;
    case 'isolate':
    case 'isolate-leader':
      cluster.proxies.isolate(name);
      await sleep(f.holdMs);
      cluster.heal();
      return;
    case 'one-way':
      cluster.proxies.cut(name, cluster.ids[f.peer]);
      await sleep(f.holdMs);
      cluster.heal();
      return;
  }
}

/** Writes the history as JSON lines (open operations with `ret: null`). */
function writeHistory(file: string, ops: KvOperation[], seed: number): void {
  const lines = [JSON.stringify({ seed }), ...ops.map((o) => JSON.stringify({ ...o, ret: Number.isFinite(o.ret) ? o.ret : null }))];
  writeFileSync(file, lines.join('\n') + '\n');
}

/** Checks `ops` and describes the failing part, if any. */
export function verdict(ops: KvOperation[]): Pick<LinResult, 'ok' | 'decided' | 'failure' | 'checkMs'> {
  const t0 = performance.now();
  const r = checkOperations(kvModel, ops, { maxSteps: 20_000_000 });
  const checkMs = Math.round(performance.now() - t0);
  const failure = r.ok ? undefined : (r.part ?? []).map((o) => `c${o.clientId} [${o.call.toFixed(1)}, ${o.ret.toFixed(1)}] ${kvModel.describe!(o.input, o.output)}`);
  return { ok: r.ok, decided: r.decided, failure, checkMs };
}

export async function runLinearizability(o: LinOptions): Promise<LinResult> {
  const log = o.log ?? (() => undefined);
  mkdirSync(o.dir, { recursive: true });
  const random = prng(o.seed);
  const faults = planFaults(random, o.durationMs);
  const cluster = new LinCluster(o.dir);
  const historyFile = join(o.dir, `history-seed-${o.seed}.jsonl`);
  try {
    await cluster.start();
    await cluster.leader();
    const keys = Array.from({ length: o.keys }, (_, i) => `k${i}`);
    const work = new Workload(cluster, random, keys);
    const clients = Array.from({ length: o.clients }, () => work.client());
    for (const f of faults) {
      await inflict(cluster, f, log);
      await sleep(f.gapMs);
    }
    cluster.heal();
    // Let clients finish against a healed cluster, then stop them.
    await sleep(2000);
    work.stop();
    await Promise.all(clients);
    const ops = work.history.operations();
    writeHistory(historyFile, ops, o.seed);
    const completed = ops.filter((x) => Number.isFinite(x.ret)).length;
    log(`${ops.length} operations, ${completed} answered; checking`);
    return { ...verdict(ops), operations: ops.length, completed, open: ops.length - completed, faults, historyFile };
  } finally {
    await cluster.stop();
  }
}
