/**
 * The sequential specification of a key-value store with get, put, append and
 * compare-and-set on string values (a missing key reads as ''). Operations touch one key
 * each, so a history is checked key by key.
 */
import type { Model, Operation } from './model.ts';

export type KvInput =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string }
  | { op: 'append'; key: string; value: string }
  | { op: 'cas'; key: string; expected: string; value: string };

/** `value` for get; `ok` for cas (whether it swapped); `{}` for put and append. */
export interface KvOutput {
  value?: string;
  ok?: boolean;
}

export type KvOperation = Operation<KvInput, KvOutput>;

/** State is the value of one key (histories are partitioned by key). */
export const kvModel: Model<string, KvInput, KvOutput> = {
  init: () => '',
  step(state, input, output) {
    switch (input.op) {
      case 'get':
        return { ok: output === undefined || output.value === state, state };
      case 'put':
        return { ok: true, state: input.value };
      case 'append':
        return { ok: true, state: state + input.value };
      case 'cas': {
        const swaps = state === input.expected;
        if (output !== undefined && output.ok !== swaps) return { ok: false, state };
        return { ok: true, state: swaps ? input.value : state };
      }
    }
  },
  key: (state) => state,
  partition(ops) {
    const byKey = new Map<string, KvOperation[]>();
    for (const op of ops) {
      const list = byKey.get(op.input.key);
      if (list) list.push(op);
      else byKey.set(op.input.key, [op]);
    }
    return [...byKey.values()];
  },
  describe(input, output) {
    const out = output === undefined ? '?' : input.op === 'get' ? JSON.stringify(output.value) : input.op === 'cas' ? String(output.ok) : 'ok';
    switch (input.op) {
      case 'get':
        return `get(${input.key}) -> ${out}`;
      case 'put':
        return `put(${input.key}, ${JSON.stringify(input.value)}) -> ${out}`;
      case 'append':
        return `append(${input.key}, ${JSON.stringify(input.value)}) -> ${out}`;
      case 'cas':
        return `cas(${input.key}, ${JSON.stringify(input.expected)}, ${JSON.stringify(input.value)}) -> ${out}`;
    }
  },
};
