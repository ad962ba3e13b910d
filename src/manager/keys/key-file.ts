/**
 * The format of a manager's key file (`swarm/certificates/swarm-node.kek`, beside the TLS
 * key, mode 0600), pure: bytes in, keys out. It holds the key-encryption key (KEK) and
 * the Raft DEKs wrapped by it, in one file so that every change of keys is one atomic
 * rename:
 *
 *     { format, locked: false, kek, deks: [{id, wrapped}…] }               autolock off
 *     { format, locked: true, unlockKeyId, sealedKek, deks: [{id, wrapped}…] }  autolock on
 *
 * `wrapped` = AES-256-GCM(KEK, DEK, aad "shoal dek/1 <id>"); `sealedKek` = AES-256-GCM(
 * HKDF(unlock key, "kek wrap"), {kek, previousUnlockKey?}, aad "shoal kek/1"). The previous
 * unlock key rides inside the sealed part while a rotation re-seals the TLS key, so a crash
 * between the two writes never leaves a TLS key that the current key cannot reach.
 */
import { KeyFileError, InvalidUnlockKeyError, SwarmLockedError } from './errors.ts';
import { KEY_BYTES, defaultRandom, deriveKey, label, open, seal, type RandomSource } from './aead.ts';
import type { Dek } from './dek-ring.ts';
import { unlockKeyId } from './unlock-key.ts';

const FORMAT = 'shoal-node-keys/1';

/** What the key file protects, in clear (memory only). */
export interface KeyMaterial {
  kek: Buffer;
  /** Oldest first; the last is the current DEK. */
  deks: Dek[];
  /** The unlock key a rotation replaces, until the TLS key is re-sealed under the new one. */
  previousUnlockKey?: Buffer;
  /** Raft data written before encryption may be read in clear (see `DekRing`). */
  acceptClear?: boolean;
}

interface KeyFileJson {
  format: string;
  locked: boolean;
  kek?: string;
  unlockKeyId?: string;
  sealedKek?: string;
  deks: { id: string; wrapped: string }[];
  acceptClear?: boolean;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** The file's text for `m`, sealed by `unlockKey` when given (autolock on). */
export function encodeKeyFile(m: KeyMaterial, unlockKey: Uint8Array | undefined, rand: RandomSource = defaultRandom): string {
  const deks = m.deks.map((d) => ({ id: d.id, wrapped: b64(seal(m.kek, d.key, label(`shoal dek/1 ${d.id}`), rand)) }));
  const out: KeyFileJson = { format: FORMAT, locked: !!unlockKey, deks };
  if (m.acceptClear) out.acceptClear = true;
  if (unlockKey) {
    const inner = JSON.stringify({ kek: b64(m.kek), ...(m.previousUnlockKey ? { previousUnlockKey: b64(m.previousUnlockKey) } : {}) });
    out.unlockKeyId = unlockKeyId(unlockKey);
    out.sealedKek = b64(seal(deriveKey(unlockKey, 'kek wrap'), Buffer.from(inner), label('shoal kek/1'), rand));
  } else {
    out.kek = b64(m.kek);
  }
  return JSON.stringify(out, null, 2) + '\n';
}

function parse(text: string): KeyFileJson {
  let j: KeyFileJson;
  try {
    j = JSON.parse(text);
  } catch (cause) {
    throw new KeyFileError('the key file is not valid JSON', { cause });
  }
  if (j?.format !== FORMAT || !Array.isArray(j.deks) || j.deks.length === 0) throw new KeyFileError(`the key file is not of format ${FORMAT} or holds no DEK`);
  if (j.locked ? typeof j.sealedKek !== 'string' : typeof j.kek !== 'string') throw new KeyFileError('the key file holds no KEK');
  return j;
}

/** Whether the file's KEK is sealed by an unlock key (the node starts locked). */
export function isLockedKeyFile(text: string): boolean {
  return parse(text).locked;
}

/**
 * The keys of a key file. A locked file needs its unlock key: without one it throws
 * `SwarmLockedError`, with a wrong one `InvalidUnlockKeyError`. Any other damage (a DEK
 * the KEK does not open) throws `KeyFileError`.
 */
export function decodeKeyFile(text: string, unlockKey?: Uint8Array): KeyMaterial {
  const j = parse(text);
  let kek: Buffer;
  let previousUnlockKey: Buffer | undefined;
  if (j.locked) {
    if (!unlockKey) throw new SwarmLockedError();
    let inner: { kek: string; previousUnlockKey?: string };
    try {
      inner = JSON.parse(open(deriveKey(unlockKey, 'kek wrap'), Buffer.from(j.sealedKek!, 'base64'), label('shoal kek/1')).toString('utf8'));
    } catch (cause) {
      throw new InvalidUnlockKeyError({ cause });
    }
    kek = Buffer.from(inner.kek, 'base64');
    if (inner.previousUnlockKey) previousUnlockKey = Buffer.from(inner.previousUnlockKey, 'base64');
  } else {
    kek = Buffer.from(j.kek!, 'base64');
  }
  if (kek.length !== KEY_BYTES) throw new KeyFileError('the KEK has the wrong size');
  const deks = j.deks.map((d) => {
    try {
      return { id: d.id, key: open(kek, Buffer.from(d.wrapped, 'base64'), label(`shoal dek/1 ${d.id}`)) };
    } catch (cause) {
      throw new KeyFileError(`DEK ${d.id} does not open with this node's KEK`, { cause });
    }
  });
  return { kek, deks, ...(previousUnlockKey ? { previousUnlockKey } : {}), ...(j.acceptClear ? { acceptClear: true } : {}) };
}
