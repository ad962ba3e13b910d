/**
 * Records a concurrent history as clients see it: `invoke` when a client issues an
 * operation, `complete` when it gets the answer. Operations never completed stay open
 * (`ret = Infinity`, output unknown), which the checker treats as "may or may not have
 * taken effect" — recording them as failed would produce false alarms.
 */
import type { Operation } from './model.ts';

export class HistoryRecorder<I, O> {
  private readonly ops: Operation<I, O>[] = [];
  private readonly open = new Map<number, Operation<I, O>>();

  /** Starts an operation of `clientId` at `time`; a client has at most one open operation. */
  invoke(clientId: number, input: I, time: number): void {
    if (this.open.has(clientId)) throw new Error(`history: client ${clientId} already has an open operation`);
    const op: Operation<I, O> = { clientId, input, output: undefined, call: time, ret: Infinity };
    this.open.set(clientId, op);
    this.ops.push(op);
  }

  /** Completes the open operation of `clientId` with `output` at `time`. */
  complete(clientId: number, output: O, time: number): void {
    const op = this.open.get(clientId);
    if (!op) throw new Error(`history: client ${clientId} has no open operation`);
    if (time < op.call) throw new Error('history: an operation cannot return before its call');
    op.output = output;
    op.ret = time;
    this.open.delete(clientId);
  }

  /** Whether `clientId` has an operation in flight. */
  isOpen(clientId: number): boolean {
    return this.open.has(clientId);
  }

  /** All operations so far (open ones with `ret = Infinity`). */
  operations(): Operation<I, O>[] {
    return this.ops.map((op) => ({ ...op }));
  }
}
