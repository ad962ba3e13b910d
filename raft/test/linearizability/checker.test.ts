import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkOperations, describeFailure } from './checker.ts';
import { kvModel, type KvInput, type KvOperation, type KvOutput } from './kv-model.ts';
import type { Model, Operation } from './model.ts';
import { HistoryRecorder } from './history.ts';
import { Prng } from '../sim/prng.ts';

const OPEN = Infinity;
let nextClient = 0;
function op(input: KvInput, output: KvOutput | undefined, call: number, ret: number, clientId = nextClient++): KvOperation {
  return { clientId, input, output, call, ret };
}
const put = (key: string, value: string, call: number, ret: number): KvOperation => op({ op: 'put', key, value }, ret === OPEN ? undefined : {}, call, ret);
const get = (key: string, value: string, call: number, ret: number): KvOperation => op({ op: 'get', key }, { value }, call, ret);
const append = (key: string, value: string, call: number, ret: number): KvOperation => op({ op: 'append', key, value }, ret === OPEN ? undefined : {}, call, ret);
const cas = (key: string, expected: string, value: string, ok: boolean | undefined, call: number, ret: number): KvOperation =>
  op({ op: 'cas', key, expected, value }, ok === undefined ? undefined : { ok }, call, ret);

const linearizable = (ops: KvOperation[]): boolean => checkOperations(kvModel, ops).ok;

test('an empty history and a sequential legal history are linearizable', () => {
  assert.ok(linearizable([]));
  assert.ok(linearizable([put('x', '1', 0, 1), get('x', '1', 2, 3), append('x', '2', 4, 5), get('x', '12', 6, 7)]));
});

test('a read of a value never written is not linearizable', () => {
  assert.not.ok(linearizable([put('x', '1', 0, 1), get('x', '2', 2, 3)]));
});

test('a stale read after a completed write is not linearizable', () => {
  assert.not.ok(linearizable([put('x', '1', 0, 1), put('x', '2', 2, 3), get('x', '1', 4, 5)]));
});

test('a read concurrent with a write may see either value', () => {
  assert.ok(linearizable([put('x', '1', 0, 1), put('x', '2', 2, 10), get('x', '1', 3, 4)]));
  assert.ok(linearizable([put('x', '1', 0, 1), put('x', '2', 2, 10), get('x', '2', 3, 4)]));
});

test('reads that see a new value then the old one are not linearizable (no going back)', () => {
  // The write overlaps both reads, but once one read saw '2', a later read cannot see '1'.
  assert.not.ok(linearizable([put('x', '1', 0, 1), put('x', '2', 2, 20), get('x', '2', 3, 4), get('x', '1', 5, 6)]));
});

test('two concurrent writes can be ordered either way, but all readers must agree', () => {
  const w = [put('x', 'a', 0, 10), put('x', 'b', 0, 10)];
  assert.ok(linearizable([...w, get('x', 'a', 11, 12), get('x', 'a', 13, 14)]));
  assert.ok(linearizable([...w, get('x', 'b', 11, 12), get('x', 'b', 13, 14)]));
  assert.not.ok(linearizable([...w, get('x', 'a', 11, 12), get('x', 'b', 13, 14)]));
  // Concurrent readers may disagree, if their order explains it.
  assert.ok(linearizable([put('x', 'a', 0, 10), put('x', 'b', 0, 10), get('x', 'a', 1, 9), get('x', 'b', 1, 9)]));
});

test('operations touching at one instant overlap', () => {
  assert.ok(linearizable([put('x', '1', 0, 5), get('x', '', 5, 6)]));
  assert.not.ok(linearizable([put('x', '1', 0, 4), get('x', '', 5, 6)]));
});

test('an open write may take effect late, or never', () => {
  assert.ok(linearizable([put('x', '1', 0, OPEN), get('x', '', 1, 2), get('x', '1', 100, 101)]));
  assert.ok(linearizable([put('x', '1', 0, OPEN), get('x', '', 1, 2), get('x', '', 100, 101)]));
  // But once seen, it cannot be unseen.
  assert.not.ok(linearizable([put('x', '1', 0, OPEN), get('x', '1', 1, 2), get('x', '', 100, 101)]));
  // And it cannot take effect before it was called.
  assert.not.ok(linearizable([get('x', '1', 0, 1), put('x', '1', 2, OPEN)]));
});

test('appends must be seen in one order, each at most once', () => {
  assert.ok(linearizable([append('x', 'a', 0, 10), append('x', 'b', 0, 10), get('x', 'ba', 11, 12)]));
  assert.not.ok(linearizable([append('x', 'a', 0, 10), get('x', 'aa', 11, 12)]));
  assert.not.ok(linearizable([append('x', 'a', 0, 1), append('x', 'b', 2, 3), get('x', 'ba', 4, 5)]));
  // A retried append applied twice would show as a duplicate: not linearizable.
  assert.not.ok(linearizable([append('x', 'a', 0, OPEN), get('x', 'aa', 5, 6)]));
});

test('compare-and-set succeeds only on the expected value', () => {
  assert.ok(linearizable([put('x', '1', 0, 1), cas('x', '1', '2', true, 2, 3), get('x', '2', 4, 5)]));
  assert.not.ok(linearizable([put('x', '1', 0, 1), cas('x', '0', '2', true, 2, 3)]));
  assert.not.ok(linearizable([put('x', '1', 0, 1), cas('x', '1', '2', false, 2, 3)]));
  // Two concurrent CASes from the same value: only one may win.
  assert.ok(linearizable([cas('x', '', 'a', true, 0, 10), cas('x', '', 'b', false, 0, 10)]));
  assert.not.ok(linearizable([cas('x', '', 'a', true, 0, 10), cas('x', '', 'b', true, 0, 10)]));
  // An open CAS whose outcome is unknown.
  assert.ok(linearizable([cas('x', '', 'a', undefined, 0, OPEN), get('x', 'a', 5, 6)]));
});

test('keys are independent: a violation on one key is found among others', () => {
  const ok = [put('x', '1', 0, 1), put('y', '2', 0, 1), get('x', '1', 2, 3), get('y', '2', 2, 3)];
  assert.ok(linearizable(ok));
  const bad = [...ok, get('y', '', 4, 5)];
  const r = checkOperations(kvModel, bad);
  assert.not.ok(r.ok);
  assert.ok(r.part!.every((o) => o.input.key === 'y'));
  assert.match(describeFailure(kvModel, r), /get\(y\) -> ""/);
});

test('the history recorder leaves unanswered operations open', () => {
  const h = new HistoryRecorder<KvInput, KvOutput>();
  h.invoke(1, { op: 'put', key: 'x', value: '1' }, 0);
  h.invoke(2, { op: 'get', key: 'x' }, 1);
  h.complete(2, { value: '1' }, 3);
  assert.throws(() => h.invoke(2 - 1, { op: 'get', key: 'x' }, 4));
  const ops = h.operations();
  assert.is(ops[0].ret, Infinity);
  assert.is(ops[0].output, undefined);
  assert.ok(checkOperations(kvModel, ops).ok);
});

// ---- Cross-check against a brute-force search over all real-time-consistent orders ----

/** The KV model over all keys at once (no partitioning), so the brute force also checks that partitioning is sound. */
const wholeStoreModel: Model<Record<string, string>, KvInput, KvOutput> = {
  init: () => ({}),
  step(state, input, output) {
    const r = kvModel.step(state[input.key] ?? '', input, output);
    return { ok: r.ok, state: { ...state, [input.key]: r.state } };
  },
  key: (state) => JSON.stringify(Object.entries(state).sort()),
};

function bruteForce<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]): boolean {
  const done = new Array<boolean>(ops.length).fill(false);
  const go = (state: S, left: number): boolean => {
    if (left === 0) return true;
    let minRet = Infinity;
    for (let i = 0; i < ops.length; i++) if (!done[i]) minRet = Math.min(minRet, ops[i].ret);
    for (let i = 0; i < ops.length; i++) {
      // ops[i] may go next only if no remaining op finished strictly before it started.
      if (done[i] || ops[i].call > minRet) continue;
      const r = model.step(state, ops[i].input, ops[i].output);
      if (!r.ok) continue;
      done[i] = true;
      const found = go(r.state, left - 1);
      done[i] = false;
      if (found) return true;
    }
    return false;
  };
  return go(model.init(), ops.length);
}

/** A random small history: values from a tiny alphabet so that both verdicts are common. */
function randomHistory(r: Prng, n: number): KvOperation[] {
  const ops: KvOperation[] = [];
  const keys = r.chance(0.5) ? ['x'] : ['x', 'y'];
  const vals = ['', 'a', 'b', 'ab', 'ba'];
  for (let i = 0; i < n; i++) {
    const key = r.pick(keys);
    const call = r.int(0, 20);
    const ret = r.chance(0.15) ? OPEN : call + r.int(0, 8);
    const kind = r.int(0, 3);
    const open = ret === OPEN;
    let input: KvInput;
    let output: KvOutput | undefined;
    if (kind === 0) {
      input = { op: 'get', key };
      output = open ? undefined : { value: r.pick(vals) };
    } else if (kind === 1) {
      input = { op: 'put', key, value: r.pick(['a', 'b']) };
      output = open ? undefined : {};
    } else if (kind === 2) {
      input = { op: 'append', key, value: r.pick(['a', 'b']) };
      output = open ? undefined : {};
    } else {
      input = { op: 'cas', key, expected: r.pick(vals), value: r.pick(['a', 'b']) };
      output = open ? undefined : { ok: r.chance(0.5) };
    }
    ops.push({ clientId: i, input, output, call, ret });
  }
  return ops;
}

test('agrees with brute force on 3,000 random small histories (both verdicts occur)', () => {
  const r = new Prng(2024);
  let yes = 0;
  let no = 0;
  for (let i = 0; i < 3000; i++) {
    const h = randomHistory(r, r.int(1, 7));
    const expected = bruteForce(wholeStoreModel, h);
    const got = checkOperations(kvModel, h);
    assert.ok(got.decided);
    if (got.ok !== expected) assert.unreachable(`history ${i} brute force says ${expected}: ${JSON.stringify(h)}`);
    if (expected) yes++;
    else no++;
  }
  assert.ok(yes > 300 && no > 300, `verdicts yes=${yes} no=${no}`);
});

/**
 * A history produced by a real sequential execution: each operation takes effect at an
 * instant inside its [call, ret] interval. Linearizable by construction.
 */
function executedHistory(r: Prng, n: number, clients: number): KvOperation[] {
  const keys = ['k0', 'k1', 'k2'];
  const store = new Map<string, string>();
  const ops: KvOperation[] = [];
  const busyUntil = new Array<number>(clients).fill(0);
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += r.int(0, 2); // linearization point of this operation
    const free = [...busyUntil.keys()].filter((c) => busyUntil[c] < t);
    if (free.length === 0) continue;
    const clientId = r.pick(free);
    const key = r.pick(keys);
    const cur = store.get(key) ?? '';
    const call = Math.max(busyUntil[clientId] + 1, t - r.int(0, 6));
    const ret = r.chance(0.05) ? OPEN : t + r.int(0, 6);
    busyUntil[clientId] = ret === OPEN ? Infinity : ret;
    let input: KvInput;
    let output: KvOutput;
    const kind = r.int(0, 3);
    if (kind === 0) {
      input = { op: 'get', key };
      output = { value: cur };
    } else if (kind === 1) {
      input = { op: 'put', key, value: `v${i}` };
      store.set(key, `v${i}`);
      output = {};
    } else if (kind === 2) {
      input = { op: 'append', key, value: `${i % 10}` };
      store.set(key, cur + `${i % 10}`);
      output = {};
    } else {
      const expected = r.chance(0.5) ? cur : 'nope';
      input = { op: 'cas', key, expected, value: `c${i}` };
      if (expected === cur) store.set(key, `c${i}`);
      output = { ok: expected === cur };
    }
    ops.push({ clientId, input, output: ret === OPEN ? undefined : output, call, ret });
  }
  return ops;
}

test('accepts long histories of real concurrent executions, and rejects them once one read is corrupted', () => {
  const r = new Prng(77);
  for (let i = 0; i < 40; i++) {
    const h = executedHistory(r, 400, 6);
    const res = checkOperations(kvModel, h);
    assert.ok(res.ok && res.decided, `execution ${i} rejected:\n${describeFailure(kvModel, res)}`);
    // Corrupt one completed read: a value nobody wrote can never be explained.
    const reads = h.filter((o) => o.input.op === 'get' && o.output !== undefined);
    const victim = r.pick(reads);
    const bad = h.map((o) => (o === victim ? { ...o, output: { value: 'never-written' } } : o));
    assert.not.ok(checkOperations(kvModel, bad).ok, `execution ${i} corrupted but accepted`);
  }
});

test('rejects a lost acknowledged write hidden in a long history', () => {
  const r = new Prng(5);
  const h = executedHistory(r, 300, 5).filter((o) => o.input.key === 'k0');
  const last = Math.max(...h.filter((o) => o.ret !== OPEN).map((o) => o.ret));
  h.push(put('k0', 'acked', last + 1, last + 2), get('k0', '', last + 3, last + 4));
  assert.not.ok(checkOperations(kvModel, h).ok);
});

test.run();
