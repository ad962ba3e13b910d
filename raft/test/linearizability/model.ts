/**
 * The sequential specification the linearizability checker tests a history against
 * (Porcupine's `Model`). States are values: `step` never mutates its argument.
 */
export interface Model<S, I, O> {
  /** The state before any operation. */
  init(): S;
  /**
   * Whether the operation `input` may return `output` in `state`, and the state after it.
   * `output` is `undefined` for an operation that never returned (its outcome is unknown):
   * then the step must accept and apply the operation's effect as if it had succeeded.
   */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  /** A string equal for equal states and different otherwise; used to memoize the search. */
  key(state: S): string;
  /**
   * Splits a history into independent sub-histories (for a key-value store, one per key),
   * each checked on its own (P-compositionality). Default: the whole history.
   */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  /** Renders an operation for failure reports. */
  describe?(input: I, output: O | undefined): string;
}

/**
 * One completed or pending operation of a history. `call` and `ret` are times on one
 * clock (simulated ticks); `ret` is `Infinity` when the operation never returned, and
 * then `output` is undefined: it may or may not have taken effect.
 * Operation A precedes B in real time iff `A.ret < B.call`; equal times overlap.
 */
export interface Operation<I, O> {
  clientId: number;
  input: I;
  output: O | undefined;
  call: number;
  ret: number;
}
