/**
 * The in-memory store of cluster state every manager keeps (DESIGN plane 1). It changes
 * only through `applyCommitted`, called in log order with committed transactions; writers
 * build a transaction with `update`, which checks it against the current state and hands
 * it to a `Proposer` (Raft later, `LocalProposer` for tests and single-node use).
 * Deterministic: the same committed log gives the same state and snapshot bytes on every
 * manager (times come from the proposer's clock and travel in the actions; versions are
 * log indexes). No I/O.
 *
 * Usage:
 *   const store = new MemoryStore({ clock, rand });
 *   const { value: svc } = await store.update((tx) => tx.create('service', { Spec }));
 *   store.view((tx) => tx.find('task', { serviceId: svc.ID }));
 */
import { randomBytes } from 'node:crypto';
import { ApiError, InvalidArgumentError } from '../api/errors.ts';
import type { CommitTarget, Proposer, StoreAction } from './actions.ts';
import { decodeSnapshot, encodeSnapshot, normalize, normalizeOwned } from './codec.ts';
import type { FieldCipher } from './codec.ts';
import { newId } from './ids.ts';
import type { RandomBytes } from './ids.ts';
import { LocalProposer } from './local-proposer.ts';
import { KINDS } from './objects.ts';
import type { Kind, StoreObject } from './objects.ts';
import { Staging } from './staging.ts';
import { byId, emptyTables } from './tables.ts';
import type { Tables } from './tables.ts';
import { Tx } from './tx.ts';
import type { ReadTx, WriteTx } from './tx.ts';
import { CallbackSubscriber, Watch, WatchHub, WatchResyncError } from './watch.ts';
import type { ObjectEvent, StoreEvent, WatchOptions } from './watch.ts';

export interface MemoryStoreOptions {
  /** Wall-clock milliseconds since the Unix epoch, for `CreatedAt`/`UpdatedAt`. Default `Date.now`. */
  clock?: { now(): number };
  /** Random bytes for new IDs. Default `crypto.randomBytes`. */
  rand?: RandomBytes;
  /** Makes the proposer that replicates this store's transactions. Default: a `LocalProposer`. */
  proposer?: (store: MemoryStore) => Proposer;
  /** Seals secret data and the CA key in snapshots. Default: none (clear text). */
  cipher?: FieldCipher;
}

/** What `update` resolves with: the log index the transaction was applied at, and the callback's value. */
export interface UpdateResult<R> {
  index: number;
  value: R;
}

export class MemoryStore implements CommitTarget {
  private tables: Tables = emptyTables();
  private applied = 0;
  private applying = false;
  private readonly hub = new WatchHub();
  private readonly clock: { now(): number };
  private readonly rand: RandomBytes;
  private readonly proposer: Proposer;
  private readonly cipher: FieldCipher | undefined;

  constructor(opts: MemoryStoreOptions = {}) {
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.rand = opts.rand ?? ((n) => randomBytes(n));
    this.cipher = opts.cipher;
    this.proposer = (opts.proposer ?? ((s) => new LocalProposer(s)))(this);
  }

  /** The log index of the last applied transaction (0 when empty). */
  get lastIndex(): number {
    return this.applied;
  }

  /** A new Docker-style object ID from the injected random source. */
  newId(): string {
    return newId(this.rand);
  }

  /**
   * Runs `fn` on a consistent read-only view and returns its result. `fn` must be
   * synchronous (a returned promise is refused); the view ends when it returns.
   */
  view<R>(fn: (tx: ReadTx) => R): R {
    const tx = new Tx(new Staging(this.tables), false, { time: '', newId: () => '' });
    try {
      return notAsync(fn(tx));
    } finally {
      tx.end();
    }
  }

  /**
   * Builds a transaction with `fn` (synchronous; it may read, and its writes are checked
   * as they are made: a throw refuses the whole transaction and nothing is proposed),
   * proposes its actions and resolves once they are applied here. Rejects with the
   * `ApiError` of a conflict found at apply time (another transaction committed in
   * between), or the proposer's error. A transaction without changes proposes nothing.
   * When `fn` refuses (an `ApiError` below 500) and the proposer has a read barrier, the
   * refusal is confirmed: barrier, then `fn` once more on the caught-up state.
   */
  async update<R>(fn: (tx: WriteTx) => R): Promise<UpdateResult<R>> {
    let built: { staging: Staging; value: R };
    try {
      built = this.build(fn);
    } catch (err) {
      // A refusal (404, 409, 400) read from this replica may be stale: a follower behind
      // the leader, or cut off from it, would refuse what exists. Confirm it against the
      // committed state first; without a leader the barrier's 503 is the honest answer.
      if (!this.proposer.barrier || !(err instanceof ApiError) || err.status >= 500) throw err;
      await this.proposer.barrier();
      built = this.build(fn);
    }
    const { staging, value } = built;
    if (staging.empty) return { index: this.applied, value };
    const { index } = await this.proposer.propose(staging.toActions());
    return { index, value };
  }

  private build<R>(fn: (tx: WriteTx) => R): { staging: Staging; value: R } {
    const staging = new Staging(this.tables);
    const tx = new Tx(staging, true, { time: new Date(this.clock.now()).toISOString(), newId: () => this.newId() });
    try {
      return { staging, value: notAsync(fn(tx)) };
    } finally {
      tx.end();
    }
  }

  /**
   * Applies a committed transaction at `index` (see `CommitTarget`): checks every action
   * against the current state; if all pass, writes them all, sets each written object's
   * `Version.Index` to `index`, and publishes the events and a commit marker. If one
   * fails, nothing changes but the applied index, and its error is thrown (the same on
   * every manager). Asserts `index` exceeds the last applied one and no re-entry.
   */
  applyCommitted(actions: readonly StoreAction[], index: number): { index: number } {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      throw new Error(`store: applied index ${index} after ${this.applied}: entries must be applied once, in log order`);
    }
    if (this.applying) throw new Error('store: applyCommitted re-entered (a watch callback wrote synchronously)');
    this.applying = true;
    try {
      const staging = new Staging(this.tables);
      try {
        for (const a of actions) stageCommitted(staging, a, index);
      } catch (err) {
        this.applied = index;
        throw err;
      }
      const changes = staging.commitTo(this.tables);
      this.applied = index;
      const events = changes.map((c) => {
        const verb = c.action === 'create' ? 'created' : c.action === 'update' ? 'updated' : 'deleted';
        return { kind: `${c.kind}.${verb}`, object: c.object, ...(c.old ? { old: c.old } : {}) } as ObjectEvent;
      });
      this.hub.publish(events, index);
      return { index };
    } finally {
      this.applying = false;
    }
  }

  /**
   * An async-iterable watch of events from now on. Close it (or `break` out of a
   * `for await`) to unsubscribe. It throws `WatchResyncError` when it falls behind.
   */
  watch(opts: WatchOptions = {}): Watch {
    return new Watch(this.hub, opts);
  }

  /**
   * Calls `onEvent` synchronously for each event from now on; returns the unsubscribe
   * function. `onClose` is called once when the subscription ends (with the error if
   * `onEvent` threw or the store closed it). `onEvent` must not write synchronously.
   */
  subscribe(onEvent: (e: StoreEvent) => void, opts: WatchOptions & { onClose?: (err?: Error) => void } = {}): () => void {
    const sub = new CallbackSubscriber(this.hub, onEvent, opts.onClose, opts);
    return () => sub.close();
  }

  /** Reads a view and starts a watch at the same point: no event is missed or seen twice. */
  viewAndWatch<R>(fn: (tx: ReadTx) => R, opts: WatchOptions = {}): { value: R; watch: Watch } {
    const value = this.view(fn);
    return { value, watch: this.watch(opts) };
  }

  /** Number of live watches and subscriptions. */
  get watchCount(): number {
    return this.hub.size;
  }

  /** Every table and the last applied index as canonical bytes (secrets sealed by the cipher, if any). */
  snapshot(): Uint8Array {
    const tables = Object.fromEntries(KINDS.map((k) => [k, [...this.tables[k].byId.values()].sort(byId)])) as Record<
      Kind,
      StoreObject[]
    >;
    return encodeSnapshot({ index: this.applied, tables }, this.cipher);
  }

  /**
   * Replaces the whole state with a snapshot's. Checks it first (`InvalidArgumentError`
   * for a malformed snapshot, duplicate IDs or names; the store is then unchanged).
   * Every watch is closed with `WatchResyncError`.
   */
  restore(bytes: Uint8Array): void {
    if (this.applying) throw new Error('store: restore during apply');
    const data = decodeSnapshot(bytes, this.cipher);
    const tables = emptyTables();
    const staging = new Staging(tables);
    for (const k of KINDS) {
      for (const raw of data.tables[k]) {
        const o = normalizeOwned(raw, k); // parsed just now: adopted in place, not copied
        try {
          staging.create(k, o);
        } catch (cause) {
          throw new InvalidArgumentError(`store: snapshot has a bad ${k}: ${(cause as Error).message}`, { cause });
        }
      }
    }
    staging.commitTo(tables);
    this.tables = tables;
    this.applied = data.index;
    this.hub.failAll(new WatchResyncError('store restored from a snapshot'));
  }
}

/** Stages one committed action with its final metadata (version = log index). */
function stageCommitted(staging: Staging, a: StoreAction, index: number): void {
  if (a.object === null || typeof a.object !== 'object') throw new InvalidArgumentError(`store: ${a.kind} action without an object`);
  const o = normalize(a.object, a.kind) as StoreObject;
  switch (a.action) {
    case 'create':
      staging.create(a.kind, normalize({ ...o, Version: { Index: index } }));
      return;
    case 'update': {
      const cur = staging.get(a.kind, o.ID);
      const next = normalize({ ...o, CreatedAt: cur?.CreatedAt ?? o.CreatedAt, Version: { Index: index } });
      staging.update(a.kind, next, a.version);
      return;
    }
    case 'delete':
      staging.delete(a.kind, o.ID, a.version);
      return;
    default:
      throw new InvalidArgumentError(`store: unknown action ${JSON.stringify((a as { action: unknown }).action)}`);
  }
}

function notAsync<R>(r: R): R {
  if (r && typeof (r as { then?: unknown }).then === 'function') {
    throw new Error('store: transaction callbacks must be synchronous (do not hold the store across an await)');
  }
  return r;
}
