import type { DurableStorage } from '../storage.ts';
import { emptyConfState } from '../types.ts';

/**
 * Bootstraps a new cluster on an empty storage: writes a snapshot at index 1, term 1 with
 * `voters` as the membership and no application data, so every member started this way
 * holds the same log prefix. Does nothing (returns false) when the storage already holds
 * state (a restart), so it is safe to call on every start.
 */
export async function bootstrapStorage(storage: DurableStorage, voters: string[]): Promise<boolean> {
  const { hardState, confState } = storage.initialState();
  const fresh = hardState.term === 0 && storage.lastIndex() === 0 && confState.voters.length === 0 && confState.learners.length === 0;
  if (!fresh) return false;
  await storage.save({
    snapshot: { metadata: { index: 1, term: 1, confState: { ...emptyConfState(), voters: [...voters] } }, data: new Uint8Array(0) },
    hardState: { term: 1, vote: '', commit: 1 },
    entries: [],
    sync: true,
  });
  return true;
}
