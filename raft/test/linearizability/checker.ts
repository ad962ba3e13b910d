/**
 * A linearizability checker in the style of Porcupine (Athalye) after Wing & Gong and
 * Lowe: the history is partitioned (per key), and each part is searched depth-first
 * over a doubly linked list of call/return events. At each point the search tries to
 * linearize a pending call whose effect the model accepts ("just-in-time"
 * linearization: only calls that appear before the first pending return are
 * candidates), lifts it (and its return) out of the list, and backtracks when it meets
 * a return whose call could not be linearized. Visited configurations — the set of
 * linearized operations (a bitset) together with the model state — are memoized, which
 * is what makes the search practical.
 *
 * Sound and complete for finite histories: `ok` is true exactly when some total order of
 * the operations, consistent with real time (A before B when A.ret < B.call), is a legal
 * sequential execution of the model. Pending operations (ret = Infinity) may be placed
 * anywhere after their call, which includes "never took effect" (last).
 */
import type { Model, Operation } from './model.ts';

/** The verdict for a history; `part` and `longest` describe the first failing part. */
export interface CheckResult<I, O> {
  ok: boolean;
  /** False when the search hit `maxSteps` before deciding (then `ok` is true, unproven). */
  decided: boolean;
  /** The operations of the failing part, in call order. */
  part?: Operation<I, O>[];
  /** The longest linearizable prefix found in the failing part (operation order). */
  longest?: Operation<I, O>[];
}

export interface CheckOptions {
  /** Upper bound on search steps per part before giving up undecided; default 5,000,000. */
  maxSteps?: number;
}

interface Event {
  /** Operation id within the part. */
  id: number;
  isCall: boolean;
  time: number;
  /** For a call: its return event. */
  match: Event | null;
  prev: Event | null;
  next: Event | null;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array((n + 31) >>> 5);
  }
  set(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5] &= ~(1 << (i & 31));
  }
  hash(): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < this.words.length; i++) h = Math.imul(h ^ this.words[i], 16777619);
    return h >>> 0;
  }
  key(): string {
    return Array.from(this.words, (w) => w.toString(36)).join(',');
  }
}

/** Checks a whole history: each part from `model.partition` (or the whole) must be linearizable. */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  opts: CheckOptions = {},
): CheckResult<I, O> {
  const parts = model.partition ? model.partition(ops) : [ops.slice()];
  let decided = true;
  for (const part of parts) {
    const r = checkPart(model, part, opts.maxSteps ?? 5_000_000);
    if (!r.decided) decided = false;
    if (!r.ok) return { ok: false, decided: true, part: r.part, longest: r.longest };
  }
  return { ok: true, decided };
}

function checkPart<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], maxSteps: number): CheckResult<I, O> {
  const sorted = ops.slice().sort((a, b) => a.call - b.call);
  const n = sorted.length;
  if (n === 0) return { ok: true, decided: true };
  for (const op of sorted) {
    if (!(op.ret >= op.call)) throw new Error(`linearizability: operation returns (${op.ret}) before its call (${op.call})`);
  }

  // Events in time order; at equal times calls come first, so touching operations overlap.
  const events: Event[] = [];
  sorted.forEach((op, id) => {
    const ret: Event = { id, isCall: false, time: op.ret, match: null, prev: null, next: null };
    events.push({ id, isCall: true, time: op.call, match: ret, prev: null, next: null }, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.id - b.id : a.isCall ? -1 : 1));
  const head: Event = { id: -1, isCall: false, time: -Infinity, match: null, prev: null, next: null };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }

  const lift = (call: Event): void => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Event): void => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  const linearized = new Bitset(n);
  const cache = new Map<number, string[]>();
  const seen = (stateKey: string): boolean => {
    const h = linearized.hash();
    const full = `${linearized.key()}|${stateKey}`;
    const bucket = cache.get(h);
    if (bucket?.includes(full)) return true;
    if (bucket) bucket.push(full);
    else cache.set(h, [full]);
    return false;
  };

  const stack: { call: Event; state: S }[] = [];
  let longest: number[] = [];
  let state = model.init();
  let entry: Event | null = head.next;
  let steps = 0;
  while (head.next !== null) {
    if (++steps > maxSteps) return { ok: true, decided: false };
    if (entry === null) throw new Error('linearizability: ran off the event list');
    if (entry.isCall) {
      const op = sorted[entry.id];
      const r = model.step(state, op.input, op.output);
      if (r.ok) {
        linearized.set(entry.id);
        if (!seen(model.key(r.state))) {
          stack.push({ call: entry, state });
          state = r.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.id);
      }
      entry = entry.next;
    } else {
      // A return whose call has not been linearized: backtrack.
      if (stack.length > longest.length) longest = stack.map((s) => s.call.id);
      if (stack.length === 0) {
        return { ok: false, decided: true, part: sorted, longest: longest.map((i) => sorted[i]) };
      }
      const top = stack.pop()!;
      state = top.state;
      linearized.clear(top.call.id);
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return { ok: true, decided: true };
}

/** A readable dump of a failing part, one operation a line, for test failure messages. */
export function describeFailure<S, I, O>(model: Model<S, I, O>, r: CheckResult<I, O>): string {
  if (r.ok || !r.part) return 'linearizable';
  const show = (op: Operation<I, O>): string => {
    const what = model.describe ? model.describe(op.input, op.output) : `${JSON.stringify(op.input)} -> ${JSON.stringify(op.output)}`;
    const ret = op.ret === Infinity ? 'open' : String(op.ret);
    return `  client ${op.clientId} [${op.call}, ${ret}] ${what}`;
  };
  const lines = ['not linearizable; operations of the failing part (call order):', ...r.part.map(show)];
  if (r.longest) lines.push(`longest linearizable prefix (${r.longest.length} ops):`, ...r.longest.map(show));
  return lines.join('\n');
}
