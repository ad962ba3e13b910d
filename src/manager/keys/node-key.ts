/**
 * The node's TLS private key at rest: clear PKCS#8 PEM while autolock is off, encrypted
 * PKCS#8 PEM (`ENCRYPTED PRIVATE KEY`, PBES2/AES-256-CBC as OpenSSL writes it) while it is
 * on, its passphrase derived from the unlock key — so `openssl pkey` with that passphrase
 * reads it too, as with Docker's encrypted node key.
 */
import { createPrivateKey } from 'node:crypto';
import { deriveKey } from './aead.ts';
import { KeyFileError } from './errors.ts';

function passphrase(unlockKey: Uint8Array): string {
  return deriveKey(unlockKey, 'node tls key').toString('hex');
}

/** Whether `pem` is an encrypted private key. */
export function isEncryptedKeyPem(pem: string): boolean {
  return pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----');
}

/** `pem` (clear or encrypted by a key of `unlockKeys`) encrypted under `unlockKey`, or in clear without one. */
export function sealNodeKeyPem(pem: string, unlockKey: Uint8Array | undefined, candidates: Uint8Array[] = []): string {
  const key = createPrivateKey(isEncryptedKeyPem(pem) ? { key: pem, passphrase: openPassphrase(pem, candidates) } : pem);
  if (!unlockKey) return key.export({ type: 'pkcs8', format: 'pem' }) as string;
  return key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: passphrase(unlockKey) }) as string;
}

/**
 * The clear PKCS#8 PEM of `pem`: as is when it is clear, else decrypted with the first of
 * `unlockKeys` that opens it. Throws `KeyFileError` when none does.
 */
export function openNodeKeyPem(pem: string, unlockKeys: Uint8Array[]): string {
  if (!isEncryptedKeyPem(pem)) return pem;
  return createPrivateKey({ key: pem, passphrase: openPassphrase(pem, unlockKeys) }).export({ type: 'pkcs8', format: 'pem' }) as string;
}

function openPassphrase(pem: string, unlockKeys: Uint8Array[]): string {
  for (const k of unlockKeys) {
    const p = passphrase(k);
    try {
      createPrivateKey({ key: pem, passphrase: p });
      return p;
    } catch {
      // not this key; try the next
    }
  }
  throw new KeyFileError('the node\'s TLS key is encrypted by a key this node was not given');
}
