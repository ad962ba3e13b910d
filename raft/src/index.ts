/** raft-ts: a pure Raft core (RawNode), storage (memory, WAL on disk), an async driver and transports. */
export * from './types.ts';
export * from './storage.ts';
export * from './errors.ts';
export * from './wal/index.ts';

// Driver (node/) and transports (transport/).
export { RaftNode } from './node/raft-node.ts';
export type { RaftNodeOptions, RaftNodeEvent, RaftNodeListener, RaftLogger, RaftObserver } from './node/raft-node.ts';
export type { StateMachine } from './node/state-machine.ts';
export { LeaderChangedError, RequestTimeoutError, NodeStoppedError } from './node/errors.ts';
export { realClock, ManualClock } from './node/clock.ts';
export type { Clock } from './node/clock.ts';
export { MemoryDurableStorage } from './node/memory-durable-storage.ts';
export { forceNewCluster, membershipOf } from './node/force-new-cluster.ts';
export type { Transport, TransportHandler } from './transport/transport.ts';
export { MemoryNetwork, MemoryTransport } from './transport/memory-transport.ts';
export { WsTransport } from './transport/ws-transport.ts';
export type { WsTransportOptions } from './transport/ws-transport.ts';
export { encodeFrame, decodeFrame, CodecError } from './transport/codec.ts';

// Pure core (core/), quorum math, progress tracking, membership changes.
export * from './core/raw-node.ts';
export * from './core/raft.ts';
export * from './memory-storage.ts';
export * from './quorum/quorum.ts';
export * from './tracker/inflights.ts';
export * from './tracker/progress.ts';
export * from './tracker/tracker.ts';
export * from './confchange/changer.ts';
