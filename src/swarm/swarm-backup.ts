/**
 * A swarm's backup and what a restore makes of it (issue 21 item 4). The backup is the
 * managers' store as one consistent view — the cluster object (with the root CA and its
 * key, the join tokens, the unlock key), nodes, services, networks, secrets and configs —
 * read at one applied Raft index, so a running manager backs up without stopping (Docker
 * makes you stop it and copy its Raft folder). Tasks are left out: the restored cluster's
 * orchestrators make them anew for every service.
 *
 * The file is JSON. While autolock is on, its contents are sealed (AES-256-GCM) with a key
 * derived from the unlock key, and a restore needs that key; otherwise it is in clear, and
 * holds the CA key and the secrets: the operator keeps it as private as the data root.
 *
 * Pure: values in, values out; the manager reads and the node restores (swarm-node.ts).
 */
import { InvalidArgumentError } from '../api/errors.ts';
import type { Config, Secret } from '../api/types/secret-config.ts';
import type { Node } from '../api/types/node.ts';
import type { Service } from '../api/types/service.ts';
import type { Network } from '../api/types/network.ts';
import { deriveKey, label, open, seal, type RandomSource } from '../manager/keys/aead.ts';
import { parseUnlockKey } from '../manager/keys/index.ts';
import type { Cluster, ReadTx } from '../store/index.ts';

export const BACKUP_FORMAT = 'shoal-swarm-backup';
export const BACKUP_VERSION = 1;

/** What a backup holds. */
export interface BackupContents {
  /** The Raft index the view was read at. */
  index: number;
  /** When it was taken (ISO 8601). */
  createdAt: string;
  cluster: Cluster;
  nodes: Node[];
  services: Service[];
  networks: Network[];
  secrets: Secret[];
  configs: Config[];
}

/** The file: a header, and the contents in clear or sealed. */
export interface BackupFile {
  format: typeof BACKUP_FORMAT;
  version: number;
  clusterId: string;
  index: number;
  createdAt: string;
  /** Present when the contents are sealed by the unlock key (base64 of IV, ciphertext, tag). */
  sealed?: string;
  contents?: BackupContents;
}

/** A malformed backup, or one that this key does not open. */
export class BackupError extends InvalidArgumentError {
  override name = 'BackupError';
}

/** The contents of the store as `tx` sees it, at `index`. */
export function readBackup(tx: ReadTx, opts: { index: number; now: number }): BackupContents {
  const cluster = tx.list('cluster')[0];
  if (!cluster) throw new BackupError('swarm backup: the store has no cluster object yet');
  return {
    index: opts.index,
    createdAt: new Date(opts.now).toISOString(),
    cluster,
    nodes: tx.list('node'),
    services: tx.list('service'),
    networks: tx.list('network'),
    secrets: tx.list('secret'),
    configs: tx.list('config'),
  };
}

const AAD = (clusterId: string, index: number) => label(`${BACKUP_FORMAT}/${BACKUP_VERSION}/${clusterId}/${index}`);

/** The backup file for `contents`; sealed with `unlockKey` when one is given (autolock on). */
export function writeBackup(contents: BackupContents, unlockKey?: string, rand?: RandomSource): BackupFile {
  const head = { format: BACKUP_FORMAT, version: BACKUP_VERSION, clusterId: contents.cluster.ID, index: contents.index, createdAt: contents.createdAt } as const;
  if (!unlockKey) return { ...head, contents };
  const key = deriveKey(parseUnlockKey(unlockKey), 'swarm-backup');
  const sealed = seal(key, Buffer.from(JSON.stringify(contents)), AAD(head.clusterId, head.index), rand);
  return { ...head, sealed: sealed.toString('base64') };
}

/** The contents of a backup file's text; `unlockKey` opens a sealed one. Throws {@link BackupError}. */
export function readBackupFile(text: string, unlockKey?: string): BackupContents {
  let file: BackupFile;
  try {
    file = JSON.parse(text) as BackupFile;
  } catch (cause) {
    throw new BackupError('swarm restore: the backup is not a Shoal swarm backup (not JSON)', { cause });
  }
  if (file?.format !== BACKUP_FORMAT) throw new BackupError('swarm restore: the backup is not a Shoal swarm backup');
  if (file.version !== BACKUP_VERSION) throw new BackupError(`swarm restore: backup format version ${file.version} is not supported (this Shoal reads ${BACKUP_VERSION})`);
  let contents = file.contents;
  // A key given for a backup in clear would be accepted and do nothing: say so instead.
  if (file.sealed === undefined && unlockKey) throw new BackupError('swarm restore: the backup is not encrypted (autolock was off when it was taken): restore it without an unlock key');
  if (file.sealed !== undefined) {
    if (!unlockKey) throw new BackupError('swarm restore: the backup is encrypted (autolock was on): give the unlock key of that time');
    let plain: Buffer;
    try {
      plain = open(deriveKey(parseUnlockKey(unlockKey), 'swarm-backup'), Buffer.from(file.sealed, 'base64'), AAD(file.clusterId, file.index));
    } catch (cause) {
      throw new BackupError('swarm restore: the unlock key does not open this backup', { cause });
    }
    contents = JSON.parse(plain.toString('utf8')) as BackupContents;
  }
  if (!contents?.cluster?.ID || !contents.cluster.RootCA?.CACert || !contents.cluster.RootCA.CAKey) {
    throw new BackupError('swarm restore: the backup has no cluster or no root CA');
  }
  for (const k of ['nodes', 'services', 'networks', 'secrets', 'configs'] as const) {
    if (!Array.isArray(contents[k])) throw new BackupError(`swarm restore: the backup has no ${k} list`);
  }
  return contents;
}

/**
 * The nodes of the backup as the restored cluster keeps them: every one down and a worker
 * (its managers are gone: this node is the only manager, as after `--force-new-cluster`),
 * so `node ls` shows them until the operator removes them or they join again.
 */
export function restoredNodes(nodes: readonly Node[]): Node[] {
  return nodes.map((n) => {
    const next = structuredClone(n);
    next.Spec = { ...next.Spec, Role: 'worker' };
    delete next.ManagerStatus;
    next.Status = { ...next.Status, State: 'down', Message: 'restored from a backup: join this node again' };
    return next;
  });
}
