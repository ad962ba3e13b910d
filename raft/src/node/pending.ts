/**
 * The driver's bookkeeping of requests waiting on the log: proposals (matched to their
 * entry by an ID the driver wraps around the payload, then tracked by (term, index)),
 * and read-index requests (matched by their context bytes, then waiting on `applied`).
 *
 * Envelope of a proposed entry's `data`: tag 0x01, 12-byte proposal ID (4-byte node salt,
 * 8-byte counter), payload. Tag 0x00 is a bare payload. Empty data is a leader no-op.
 * Anything else is passed through as is (entries not written by this driver).
 */
import { LeaderChangedError } from './errors.ts';

const TAG_ID = 1;
const TAG_BARE = 0;
const ID_BYTES = 12;

interface Deferred<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
}

export interface PendingProposal extends Deferred<{ index: number; result: unknown }> {
  key: string;
  /** Set once the entry is seen in this node's log. */
  index?: number;
  term?: number;
  /** Clock time of the proposal. */
  at: number;
  /** The driver's tick count at the proposal (bounds the wait of one already in the log). */
  tick?: number;
}

export interface PendingRead extends Deferred<number> {
  key: string;
  /** Set once the leader confirmed it: the commit index to wait for. */
  index?: number;
  at: number;
}

/** The application payload of an entry's data (`openEnvelope` without building the ID's key). */
export function envelopePayload(data: Uint8Array): Uint8Array {
  if (data.length >= 1 + ID_BYTES && data[0] === TAG_ID) return data.subarray(1 + ID_BYTES);
  if (data.length >= 1 && data[0] === TAG_BARE) return data.subarray(1);
  return data;
}

/** Splits an entry's data into its proposal ID (or undefined) and the application payload. */
export function openEnvelope(data: Uint8Array): { key: string | undefined; payload: Uint8Array } {
  if (data.length >= 1 + ID_BYTES && data[0] === TAG_ID) {
    return { key: idKey(data, 1), payload: data.subarray(1 + ID_BYTES) };
  }
  if (data.length >= 1 && data[0] === TAG_BARE) return { key: undefined, payload: data.subarray(1) };
  return { key: undefined, payload: data };
}

function idKey(b: Uint8Array, at: number): string {
  const v = new DataView(b.buffer, b.byteOffset + at, ID_BYTES);
  return `${v.getUint32(0)}.${v.getUint32(4)}.${v.getUint32(8)}`;
}

/** Generates request IDs unique to this driver instance: a random salt and a counter. */
export class IdSource {
  private hi = 0;
  private lo = 0;
  private readonly salt: number;

  constructor(rand: () => number) {
    this.salt = Math.floor(rand() * 2 ** 32) >>> 0;
  }

  /** Wraps `payload` with a fresh ID; returns the entry data and the ID's key. */
  wrap(payload: Uint8Array): { data: Uint8Array; key: string } {
    const data = new Uint8Array(1 + ID_BYTES + payload.length);
    data[0] = TAG_ID;
    this.writeId(data, 1);
    data.set(payload, 1 + ID_BYTES);
    return { data, key: idKey(data, 1) };
  }

  /** A fresh ID as read-index context bytes, and its key. */
  context(): { ctx: Uint8Array; key: string } {
    const ctx = new Uint8Array(ID_BYTES);
    this.writeId(ctx, 0);
    return { ctx, key: idKey(ctx, 0) };
  }

  private writeId(b: Uint8Array, at: number): void {
    if (++this.lo === 2 ** 32) {
      this.lo = 0;
      this.hi++;
    }
    const v = new DataView(b.buffer, b.byteOffset + at, ID_BYTES);
    v.setUint32(0, this.salt);
    v.setUint32(4, this.hi);
    v.setUint32(8, this.lo);
  }
}

/** Key of read-index context bytes (as returned in `ReadState.requestCtx`). */
export function contextKey(ctx: Uint8Array): string | undefined {
  return ctx.length === ID_BYTES ? idKey(ctx, 0) : undefined;
}

/** Proposals waiting for their entry to be applied. */
export class ProposalTable {
  private readonly byKey = new Map<string, PendingProposal>();
  private readonly byIndex = new Map<number, PendingProposal>();

  get size(): number {
    return this.byKey.size;
  }

  add(p: PendingProposal): void {
    this.byKey.set(p.key, p);
  }

  remove(p: PendingProposal): void {
    this.byKey.delete(p.key);
    if (p.index !== undefined && this.byIndex.get(p.index) === p) this.byIndex.delete(p.index);
  }

  /**
   * An entry was appended to this node's log (`Ready.entries`). Binds the proposal it
   * carries to (term, index); a proposal whose index it takes over is lost for certain.
   */
  appended(index: number, term: number, key: string | undefined): void {
    const old = this.byIndex.get(index);
    if (old && old.key !== key) {
      this.remove(old);
      old.reject(new LeaderChangedError(true));
    }
    if (key === undefined) return;
    const p = this.byKey.get(key);
    if (!p) return;
    if (p.index !== undefined && p.index !== index && this.byIndex.get(p.index) === p) this.byIndex.delete(p.index);
    p.index = index;
    p.term = term;
    this.byIndex.set(index, p);
  }

  /** The entry at `index` was applied with `key`: returns the proposal it completes, if any. Rejects one it displaced. */
  applied(index: number, key: string | undefined): PendingProposal | undefined {
    const atIndex = this.byIndex.get(index);
    if (atIndex && atIndex.key !== key) {
      this.remove(atIndex);
      atIndex.reject(new LeaderChangedError(true));
    }
    if (key === undefined) return undefined;
    const p = this.byKey.get(key);
    if (p) this.remove(p);
    return p;
  }

  /** A snapshot up to `index` replaced the log: proposals at or below it have an unknown outcome. */
  snapshotted(index: number): void {
    for (const p of [...this.byKey.values()]) {
      if (p.index !== undefined && p.index <= index) {
        this.remove(p);
        p.reject(new LeaderChangedError(false));
      }
    }
  }

  /** The leader changed: proposals not yet seen in this log may be lost. Their outcome is unknown. */
  leaderChanged(): void {
    for (const p of [...this.byKey.values()]) {
      if (p.index === undefined) {
        this.remove(p);
        p.reject(new LeaderChangedError(false));
      }
    }
  }

  /**
   * This node's log now ends at `last` (a Ready's entries replaced everything after their
   * first index): proposals bound past it were cut off. Another node may still hold such an
   * entry, so the outcome is unknown.
   */
  truncatedAfter(last: number): void {
    for (const [index, p] of [...this.byIndex]) {
      if (index > last) {
        this.remove(p);
        p.reject(new LeaderChangedError(false));
      }
    }
  }

  /** Proposals already in the log, proposed before tick `before`. */
  boundOlderThanTick(before: number): PendingProposal[] {
    const out: PendingProposal[] = [];
    for (const p of this.byIndex.values()) if (p.tick !== undefined && p.tick < before) out.push(p);
    return out;
  }

  /** Proposals not yet in the log and older than `before` (clock time). */
  unboundOlderThan(before: number): PendingProposal[] {
    const out: PendingProposal[] = [];
    for (const p of this.byKey.values()) if (p.index === undefined && p.at < before) out.push(p);
    return out;
  }

  /** Removes and returns every proposal. */
  drain(): PendingProposal[] {
    const all = [...this.byKey.values()];
    this.byKey.clear();
    this.byIndex.clear();
    return all;
  }
}
