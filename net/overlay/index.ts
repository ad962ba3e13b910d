/** Overlay networks: the sandbox and peer-table plan (pure) and the batch adapter that applies it. */
export * from './plan.ts';
export * from './tuning.ts';
export * from './batch.ts';
export * from './errors.ts';
