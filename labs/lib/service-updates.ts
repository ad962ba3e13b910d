/**
 * For lab tests of service updates: waiting for an update to reach a state, and removing
 * a service until none of its tasks runs any more.
 */
import type { Service } from '../../src/api/types/service.ts';
import type { Lab } from './lab.ts';
import { client, tasksOf, waitFor } from './swarm-services.ts';

/** Resolves with the service once its UpdateStatus.State is `state` (asked of `via`); the timeout names the last status seen. */
export async function waitUpdateState(lab: Lab, name: string, state: string, via: string, timeoutMs = 120_000): Promise<Service> {
  let last: unknown;
  return waitFor(() => `${name} update state ${state} (last: ${JSON.stringify(last)})`, async () => {
    const s = await client(lab, via).get<Service>(`/services/${name}`);
    last = s.UpdateStatus;
    return s.UpdateStatus?.State === state && s;
  }, timeoutMs, 250);
}

/** Removes the service through `via` and waits until none of its tasks runs. */
export async function removeService(lab: Lab, name: string, via: string): Promise<void> {
  await client(lab, via).delete(`/services/${name}`);
  await waitFor(`${name}'s tasks gone`, async () => (await tasksOf(lab, name, via).catch(() => [])).every((t) => t.Status.State !== 'running'), 60_000);
}
