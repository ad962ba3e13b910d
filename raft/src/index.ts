export * from './types.ts';
export * from './storage.ts';
export * from './errors.ts';

// Pure core (core/), quorum math, progress tracking, membership changes.
export * from './core/raw-node.ts';
export * from './core/raft.ts';
export * from './memory-storage.ts';
export * from './quorum/quorum.ts';
export * from './tracker/inflights.ts';
export * from './tracker/progress.ts';
export * from './tracker/tracker.ts';
export * from './confchange/changer.ts';
