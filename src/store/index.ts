/** The replicated object store's in-memory core: tables, transactions, watches, snapshots. */
export { MemoryStore } from './memory-store.ts';
export type { MemoryStoreOptions, UpdateResult } from './memory-store.ts';
export { LocalProposer } from './local-proposer.ts';
export type { Proposer, CommitTarget, StoreAction } from './actions.ts';
export type { ReadTx, WriteTx, NewObject } from './tx.ts';
export { Watch, WatchResyncError, eventObjectKind } from './watch.ts';
export type { StoreEvent, ObjectEvent, CommitEvent, WatchOptions } from './watch.ts';
export { KINDS, TABLES } from './objects.ts';
export type { Kind, StoreObject, StoreObjects, Cluster, StoredRootCA, NetworkKeyRecord, FindBy, FindByOf } from './objects.ts';
export { encodeActions, decodeActions, canonicalJson } from './codec.ts';
export type { FieldCipher } from './codec.ts';
export { newId, isId, seededRandom, ID_LENGTH } from './ids.ts';
export type { RandomBytes } from './ids.ts';
export { OUT_OF_SEQUENCE } from './staging.ts';
