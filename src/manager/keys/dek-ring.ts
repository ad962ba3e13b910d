/**
 * The data-encryption keys (DEKs) of a manager's Raft data, as a raft-ts `PayloadCipher`:
 * every WAL entry payload and snapshot is sealed with the current DEK (AES-256-GCM), and
 * opened with whichever DEK sealed it, named by a 4-byte key ID in a clear header:
 *
 *     'S' 'R' version(1) keyId(4) ‖ iv(12) ‖ ciphertext ‖ tag(16)
 *
 * The header is the associated data, so a record cannot be relabelled to another key or
 * format. Rotation adds a new current DEK and keeps the retired ones: records a retired
 * DEK sealed stay readable (WAL segments are replayed whole on start, compacted or not),
 * while everything written from then on, and the snapshot rotation takes, is under the
 * new key. All DEKs are kept wrapped by the KEK (see `key-file.ts`), never in clear on disk.
 */
import type { PayloadCipher } from 'raft-ts';
import { KEY_BYTES, defaultRandom, open, seal, type RandomSource } from './aead.ts';

const MAGIC0 = 0x53; // 'S'
const MAGIC1 = 0x52; // 'R'
const VERSION = 1;
const HEADER_BYTES = 7;

/** One DEK: its ID (8 hex chars, 4 bytes) and 32 key bytes. */
export interface Dek {
  id: string;
  key: Buffer;
}

/** A new DEK with a random ID that `taken` does not hold. */
export function newDek(taken: readonly Dek[], rand: RandomSource = defaultRandom): Dek {
  for (;;) {
    const id = rand(4).toString('hex');
    if (!taken.some((d) => d.id === id)) return { id, key: rand(KEY_BYTES) };
  }
}

/**
 * A keyring of DEKs with one current key. `seal` uses the current key; `open` the key the
 * header names, and throws (raft-ts reports a corrupt WAL) for an unknown key, a foreign
 * format or a failed tag check — never returns garbage.
 */
export class DekRing implements PayloadCipher {
  private readonly byId = new Map<string, Dek>();
  private current: Dek;

  /**
   * `keys` in age order; the last is current. `acceptClear`: open payloads written before
   * this node encrypted its Raft data (a data root from an older Shoal) as they are; they
   * are re-sealed by the next snapshot. Off unless the key file was made for existing data.
   */
  constructor(keys: readonly Dek[], private readonly rand: RandomSource = defaultRandom, private readonly acceptClear = false) {
    if (keys.length === 0) throw new Error('keys: a DEK ring needs at least one key');
    for (const k of keys) this.byId.set(k.id, k);
    this.current = keys[keys.length - 1];
  }

  /** The current DEK's ID. */
  get currentId(): string {
    return this.current.id;
  }

  /** Every DEK, oldest first, the current one last. */
  keys(): Dek[] {
    return [...this.byId.values()].filter((k) => k !== this.current).concat(this.current);
  }

  /**
   * A new DEK, not yet in use. Rotation is two steps so the key file can be written first:
   * a record sealed by a DEK must never reach the disk before the DEK does.
   */
  nextKey(): Dek {
    return newDek([...this.byId.values()], this.rand);
  }

  /** Makes `dek` current (the old ones stay, to open what they sealed). */
  adopt(dek: Dek): void {
    this.byId.set(dek.id, dek);
    this.current = dek;
  }

  seal(plain: Uint8Array): Uint8Array {
    const header = Buffer.from([MAGIC0, MAGIC1, VERSION, ...Buffer.from(this.current.id, 'hex')]);
    return new Uint8Array(Buffer.concat([header, seal(this.current.key, plain, header, this.rand)]));
  }

  open(sealed: Uint8Array): Uint8Array {
    const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    // Store payloads are JSON: a clear one starts with '{', never with the sealed magic.
    if (this.acceptClear && buf[0] === 0x7b) return sealed;
    if (buf.length < HEADER_BYTES || buf[0] !== MAGIC0 || buf[1] !== MAGIC1 || buf[2] !== VERSION) {
      throw new Error('keys: raft payload is not sealed by a DEK (unencrypted data or an unknown format)');
    }
    const id = buf.subarray(3, HEADER_BYTES).toString('hex');
    const dek = this.byId.get(id);
    if (!dek) throw new Error(`keys: raft payload sealed by unknown DEK ${id}`);
    return new Uint8Array(open(dek.key, buf.subarray(HEADER_BYTES), buf.subarray(0, HEADER_BYTES)));
  }
}
