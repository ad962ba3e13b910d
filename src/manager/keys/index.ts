/** The key hierarchy of a node at rest: unlock key → KEK → Raft DEKs, and the TLS key (see README.md). */
export { NodeKeyVault, desiredUnlockKey, type KeyFollowHost, type NodeKeyVaultOptions } from './vault.ts';
export { DekRing, newDek, type Dek } from './dek-ring.ts';
export { generateUnlockKey, parseUnlockKey, formatUnlockKey, unlockKeyId } from './unlock-key.ts';
export { SWARM_LOCKED_MESSAGE, SwarmLockedError, InvalidUnlockKeyError, MalformedUnlockKeyError, NotLockedError, KeyFileError } from './errors.ts';
