/**
 * Read and write transactions. Both are synchronous and end when their callback returns:
 * a transaction used later (after an await) throws, so nobody holds the store across an
 * await and every read inside one callback sees one consistent state.
 */
import { InvalidArgumentError } from '../api/errors.ts';
import { normalize } from './codec.ts';
import { tableDef } from './objects.ts';
import type { FindByOf, Kind, StoreObject, StoreObjects } from './objects.ts';
import type { Staging } from './staging.ts';

/** A consistent, read-only view of the store. Returned objects are frozen: clone to change them. */
export interface ReadTx {
  /** The object with this ID, or undefined. */
  get<K extends Kind>(kind: K, id: string): StoreObjects[K] | undefined;
  /** The object with this name in a table with unique names (not nodes: use `find`). */
  getByName<K extends Kind>(kind: K, name: string): StoreObjects[K] | undefined;
  /**
   * Objects matching every given criterion, sorted by ID. Asserts the table has the index
   * (tasks: serviceId, nodeId, desiredState; nodes: role; named tables: name, namePrefix).
   */
  find<K extends Kind>(kind: K, by: FindByOf<K>): StoreObjects[K][];
  /** All objects of a kind passing `filter`, sorted by ID. */
  list<K extends Kind>(kind: K, filter?: (o: StoreObjects[K]) => boolean): StoreObjects[K][];
}

/** The metadata a new object may leave out: the transaction fills it in. */
type Stamped = 'ID' | 'Version' | 'CreatedAt' | 'UpdatedAt';
export type NewObject<K extends Kind> = Omit<StoreObjects[K], Stamped> & Partial<Pick<StoreObjects[K], Stamped>>;

/** A read view that also stages changes; the store turns them into one proposal. */
export interface WriteTx extends ReadTx {
  /**
   * The transaction's time (ms since the epoch): the `CreatedAt`/`UpdatedAt` of everything
   * it stages. A writer that records "when this started" beside objects it creates uses
   * this, not its own clock, so the two can be compared exactly.
   */
  readonly now: number;
  /**
   * Stages a new object. A missing `ID` is generated; `CreatedAt`/`UpdatedAt` are set to the
   * transaction's time and `Version.Index` to 0 (the log index replaces it when applied).
   * Throws `ConflictError` for a taken ID or name, `InvalidArgumentError` for bad input.
   * Returns the staged (frozen) object.
   */
  create<K extends Kind>(kind: K, obj: NewObject<K>): StoreObjects[K];
  /**
   * Stages a new state of an existing object. `obj.Version.Index` must be the version the
   * writer read (else `ConflictError('update out of sequence')`); `UpdatedAt` is set to the
   * transaction's time, `CreatedAt` kept. Throws `NotFoundError` for a missing object.
   */
  update<K extends Kind>(kind: K, obj: StoreObjects[K]): StoreObjects[K];
  /** Stages a deletion; `NotFoundError` if missing; with `version`, checks it as `update` does. */
  delete(kind: Kind, id: string, version?: number): void;
}

/** @internal The one implementation of both transaction kinds, over a `Staging`. */
export class Tx implements WriteTx {
  private ended = false;

  constructor(
    private readonly staging: Staging,
    private readonly writable: boolean,
    private readonly stamp: { time: string; newId: () => string },
  ) {}

  get now(): number {
    return Date.parse(this.stamp.time);
  }

  /** Marks the transaction finished; later use throws. */
  end(): void {
    this.ended = true;
  }

  get<K extends Kind>(kind: K, id: string): StoreObjects[K] | undefined {
    this.check(false);
    return this.staging.get(kind, id) as StoreObjects[K] | undefined;
  }

  getByName<K extends Kind>(kind: K, name: string): StoreObjects[K] | undefined {
    this.check(false);
    const def = tableDef(kind);
    if (!def.name || !def.uniqueName) throw new Error(`store: ${kind} names are not unique; use find`);
    return this.staging.find(kind, { name })[0] as StoreObjects[K] | undefined;
  }

  find<K extends Kind>(kind: K, by: FindByOf<K>): StoreObjects[K][] {
    this.check(false);
    return this.staging.find(kind, by) as StoreObjects[K][];
  }

  list<K extends Kind>(kind: K, filter?: (o: StoreObjects[K]) => boolean): StoreObjects[K][] {
    this.check(false);
    const all = this.staging.find(kind, {}) as StoreObjects[K][];
    return filter ? all.filter(filter) : all;
  }

  create<K extends Kind>(kind: K, obj: NewObject<K>): StoreObjects[K] {
    this.check(true);
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new InvalidArgumentError(`${kind} is not an object`);
    const o = normalize(obj, kind) as unknown as StoreObject;
    const full = normalize({
      ...o,
      ID: o.ID || this.stamp.newId(),
      Version: { Index: 0 },
      CreatedAt: this.stamp.time,
      UpdatedAt: this.stamp.time,
    }) as StoreObject;
    this.staging.create(kind, full);
    return full as StoreObjects[K];
  }

  update<K extends Kind>(kind: K, obj: StoreObjects[K]): StoreObjects[K] {
    this.check(true);
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new InvalidArgumentError(`${kind} is not an object`);
    const o = normalize(obj, kind) as StoreObject;
    const version = o?.Version?.Index;
    if (!Number.isSafeInteger(version)) throw new InvalidArgumentError(`${kind} update needs the Version.Index it read`);
    const cur = this.staging.get(kind, o.ID);
    const full = normalize({ ...o, CreatedAt: cur?.CreatedAt ?? o.CreatedAt, UpdatedAt: this.stamp.time }) as StoreObject;
    this.staging.update(kind, full, version);
    return full as StoreObjects[K];
  }

  delete(kind: Kind, id: string, version?: number): void {
    this.check(true);
    this.staging.delete(kind, id, version);
  }

  private check(write: boolean): void {
    if (this.ended) throw new Error('store: transaction used after its callback returned');
    if (write && !this.writable) throw new Error('store: write in a read-only view');
  }
}
