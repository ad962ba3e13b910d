/**
 * A node's keys at rest, and its lock (the I/O around the pure formats of this folder).
 * Files, in `<data-root>/swarm/certificates/` beside the certificates, mode 0600:
 *
 *   swarm-node.key  the TLS key: clear PEM, or encrypted PEM while autolock is on
 *   swarm-node.kek  the KEK and the Raft DEKs it wraps (`key-file.ts`); managers only
 *
 * While autolock is on, the KEK and the TLS key are sealed by the unlock key, which only
 * lives in memory (here, once given, and in the replicated cluster object). A node whose
 * files are sealed starts locked: the daemon starts no swarm role (no Raft, no session)
 * until `unlock` is given a key that opens them. Every manager follows the cluster's
 * autolock setting (`follow`): when the unlock key changes it re-seals its own files,
 * with a new KEK and a new DEK, and re-seals its Raft state by a snapshot. A manager that
 * was down during a rotation still opens with the old key, and re-seals when it catches up.
 *
 *   const vault = new NodeKeyVault({ dataRoot, logger });
 *   if (await vault.locked()) await vault.unlock('SWMKEY-1-…');   // else SwarmLockedError
 */
import { open as openFile, readFile, readdir, rename, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PayloadCipher } from 'raft-ts';
import type { MemoryStore } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { KEY_BYTES, defaultRandom, type RandomSource } from './aead.ts';
import { DekRing, newDek } from './dek-ring.ts';
import { decodeKeyFile, encodeKeyFile, isLockedKeyFile, type KeyMaterial } from './key-file.ts';
import { isEncryptedKeyPem, openNodeKeyPem, sealNodeKeyPem } from './node-key.ts';
import { parseUnlockKey, unlockKeyId } from './unlock-key.ts';
import { InvalidUnlockKeyError, KeyFileError, NotLockedError, SwarmLockedError } from './errors.ts';

/** What `follow` needs of a manager: its store (the cluster's autolock setting) and Raft (to re-seal by snapshot). */
export interface KeyFollowHost {
  store: MemoryStore;
  raft: { snapshotNow(): Promise<number> };
}

export interface NodeKeyVaultOptions {
  dataRoot: string;
  logger?: Logger;
  rand?: RandomSource;
}

/** The unlock key the cluster asks managers to seal with now, or undefined (autolock off). */
export function desiredUnlockKey(cluster: { Spec?: { EncryptionConfig?: { AutoLockManagers?: boolean } }; UnlockKey?: string } | undefined): Buffer | undefined {
  if (!cluster?.Spec?.EncryptionConfig?.AutoLockManagers || !cluster.UnlockKey) return undefined;
  return parseUnlockKey(cluster.UnlockKey);
}

export class NodeKeyVault {
  /** The unlock key this node's files are sealed by; undefined while autolock is off here. */
  private unlockKey?: Buffer;
  /** The KEK and DEKs, once a manager loaded them. */
  private material?: KeyMaterial;
  private ring?: DekRing;
  /** Serialises changes of the files. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly rand: RandomSource;

  constructor(private readonly opts: NodeKeyVaultOptions) {
    this.rand = opts.rand ?? defaultRandom;
  }

  private get certDir(): string {
    return join(this.opts.dataRoot, 'swarm', 'certificates');
  }

  /** Path of the key file (KEK + DEKs). */
  get keyFilePath(): string {
    return join(this.certDir, 'swarm-node.kek');
  }

  private get tlsKeyPath(): string {
    return join(this.certDir, 'swarm-node.key');
  }

  /** The ID of the unlock key the files are sealed by (undefined: autolock off on this node). */
  get sealedWith(): string | undefined {
    return this.unlockKey ? unlockKeyId(this.unlockKey) : undefined;
  }

  /** Whether this node's keys are sealed and this vault was given no key that opens them. */
  async locked(): Promise<boolean> {
    if (this.unlockKey) return false;
    const file = await readText(this.keyFilePath);
    if (file !== undefined && isLockedKeyFile(file)) return true;
    const pem = await readText(this.tlsKeyPath);
    return pem !== undefined && isEncryptedKeyPem(pem);
  }

  /**
   * Checks a printed unlock key against this node's files and keeps it. Throws
   * `MalformedUnlockKeyError` (400) for text that is no key, `NotLockedError` (409) when
   * nothing here is sealed, `InvalidUnlockKeyError` (401) for a key that opens nothing.
   * A refused key changes nothing.
   */
  async unlock(text: string): Promise<void> {
    const raw = parseUnlockKey(text);
    if (!(await this.locked())) throw new NotLockedError();
    const file = await readText(this.keyFilePath);
    let material: KeyMaterial | undefined;
    if (file !== undefined && isLockedKeyFile(file)) material = decodeKeyFile(file, raw);
    const pem = await readText(this.tlsKeyPath);
    if (pem !== undefined) {
      try {
        openNodeKeyPem(pem, [raw, ...(material?.previousUnlockKey ? [material.previousUnlockKey] : [])]);
      } catch (cause) {
        throw new InvalidUnlockKeyError({ cause });
      }
    }
    this.unlockKey = raw;
    if (material) this.material = material;
    this.opts.logger?.info('keys: unlocked', { 'unlock.key': unlockKeyId(raw) });
  }

  /** The clear TLS key of a PEM read from disk (swarm-state's load hook). Throws `SwarmLockedError` if sealed and locked. */
  openNodeKey(pem: string): string {
    if (!isEncryptedKeyPem(pem)) return pem;
    if (!this.unlockKey) throw new SwarmLockedError();
    return openNodeKeyPem(pem, [this.unlockKey, ...(this.material?.previousUnlockKey ? [this.material.previousUnlockKey] : [])]);
  }

  /** The TLS key as it is written to disk (swarm-state's save hook): sealed while autolock is on here. */
  sealNodeKey(pem: string): string {
    return this.unlockKey ? sealNodeKeyPem(pem, this.unlockKey) : pem;
  }

  /**
   * The Raft payload cipher of this manager (its DEK ring), loading the key file or making
   * one (a new KEK and DEK) on a manager's first start. A raft directory that already holds
   * data from before encryption is read in clear until re-sealed.
   */
  async raftCipher(raftDir: string): Promise<PayloadCipher> {
    await this.run(async () => {
      if (!this.material) {
        const file = await readText(this.keyFilePath);
        if (file !== undefined) this.material = decodeKeyFile(file, this.unlockKey);
        else {
          const existing = await hasFiles(join(raftDir, 'wal'));
          this.material = { kek: this.rand(KEY_BYTES), deks: [newDek([], this.rand)], ...(existing ? { acceptClear: true } : {}) };
          await this.writeKeyFile(this.material, this.unlockKey);
          this.opts.logger?.info('keys: made a KEK and a Raft DEK for this manager', { 'dek.id': this.material.deks[0].id });
        }
      }
      this.ring = new DekRing(this.material.deks, this.rand, this.material.acceptClear);
    });
    return this.ring!;
  }

  /**
   * Re-seals this node's files under `next` (undefined: autolock off), with a new KEK and a
   * new current DEK. Order: key file (new KEK and DEK, sealed by `next`, the old unlock key
   * inside), TLS key, key file again without the old key; only then is the new DEK used.
   * The caller re-seals the Raft state by a snapshot. A worker has only its TLS key.
   */
  setUnlockKey(next: Buffer | undefined): Promise<void> {
    return this.run(async () => {
      const prev = this.unlockKey;
      const ring = this.ring;
      let material = this.material;
      let dek;
      if (material && ring) {
        dek = ring.nextKey();
        material = { kek: this.rand(KEY_BYTES), deks: [...ring.keys(), dek], ...(material.acceptClear ? { acceptClear: true } : {}) };
        await this.writeKeyFile({ ...material, ...(prev && next ? { previousUnlockKey: prev } : {}) }, next);
      }
      const pem = await readText(this.tlsKeyPath);
      if (pem !== undefined) await writeAtomic(this.tlsKeyPath, sealNodeKeyPem(pem, next, [prev, next].filter((k): k is Buffer => !!k)));
      if (material && prev && next) await this.writeKeyFile(material, next);
      this.unlockKey = next;
      if (material && ring && dek) {
        this.material = material;
        ring.adopt(dek);
      }
      this.opts.logger?.info(next ? 'keys: sealed by the unlock key' : 'keys: autolock off, keys in clear beside the TLS key', {
        'unlock.key': next ? unlockKeyId(next) : '', 'dek.id': dek?.id ?? '',
      });
    });
  }

  /** Makes a new DEK current (key file first); the caller re-seals the Raft state by a snapshot. */
  rotateDek(): Promise<string> {
    return this.run(async () => {
      if (!this.material || !this.ring) throw new KeyFileError('no Raft keys loaded on this node');
      const dek = this.ring.nextKey();
      const material = { ...this.material, deks: [...this.ring.keys(), dek] };
      await this.writeKeyFile(material, this.unlockKey);
      this.material = material;
      this.ring.adopt(dek);
      return dek.id;
    });
  }

  /**
   * Follows the cluster's autolock setting on a manager: whenever the unlock key it asks
   * for differs from the one this node's files are sealed by, re-seals them and snapshots.
   * Returns the function that stops following.
   */
  follow(host: KeyFollowHost): () => void {
    let stopped = false;
    let busy = false;
    let again = false;
    const check = async (): Promise<void> => {
      if (stopped) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        do {
          again = false;
          const cluster = host.store.view((tx) => tx.list('cluster'))[0];
          if (!cluster) continue;
          const want = desiredUnlockKey(cluster as never);
          if ((want ? unlockKeyId(want) : undefined) === this.sealedWith) continue;
          await this.setUnlockKey(want);
          if (this.ring) await host.raft.snapshotNow();
        } while (again && !stopped);
      } catch (err) {
        this.opts.logger?.warn('keys: re-sealing to follow the cluster\'s autolock setting failed', { error: String(err) });
      } finally {
        busy = false;
      }
    };
    const off = host.store.subscribe((e) => {
      if (e.kind === 'cluster.created' || e.kind === 'cluster.updated') void check();
    }, { kinds: ['cluster'], commits: false });
    void check();
    return () => {
      stopped = true;
      off();
    };
  }

  /**
   * This node is a worker now (demoted): its KEK and DEKs go (the Raft data they sealed is
   * gone), and the TLS key is written in clear from now on, so it starts unlocked — workers
   * are never locked. The caller saves the TLS key again after this.
   */
  demote(): Promise<void> {
    return this.run(async () => {
      await rm(this.keyFilePath, { force: true });
      this.forget();
      this.opts.logger?.info('keys: demoted to worker; KEK and DEKs removed, TLS key in clear');
    });
  }

  /** Forgets keys held in memory (after `swarm leave` removed the files). */
  forget(): void {
    this.unlockKey = undefined;
    this.material = undefined;
    this.ring = undefined;
  }

  private async writeKeyFile(m: KeyMaterial, unlockKey: Buffer | undefined): Promise<void> {
    await writeAtomic(this.keyFilePath, encodeKeyFile(m, unlockKey, this.rand));
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function hasFiles(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}

/** Temp file (0600), fsync, rename, fsync of the directory: the old file or the new one, never half. */
async function writeAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  const fh = await openFile(tmp, 'w', 0o600);
  try {
    await fh.chmod(0o600);
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await openFile(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
