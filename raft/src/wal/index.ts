/** Durable storage for raft-ts: WAL segments, hard state and snapshot files (`DiskStorage`). */
export { DiskStorage } from './disk-storage.ts';
export type { DiskStorageOptions, RecoveryReport, WalLogger } from './disk-storage.ts';
export { WalCorruptError, SnapshotCorruptError, SnapshotMissingError, WalFailedError, WalLockedError } from './errors.ts';
