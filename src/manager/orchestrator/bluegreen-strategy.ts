/**
 * The blue-green update strategy (beyond Swarm): every out-of-date slot gets its
 * replacement at once, start-first (the "green" set beside the running "blue" one,
 * whatever `Parallelism` and `Order` say); no blue task stops until every green one is
 * up (running, and healthy where the base strategy gates on health). Then one pass of the
 * updater stops every blue task in ONE store transaction: at that commit the blue tasks
 * leave every VIP, DNS and mesh rotation and the green ones, held at weight 0 until then
 * (see `src/swarm/backend-weights.ts`), take it over, so each node rewrites its tables
 * from one network view.
 *
 * A green task that fails counts against `MaxFailureRatio` as in a rolling update
 * (pause, continue, or roll back); the blue set keeps serving meanwhile.
 */
import type { UpdateView } from './updater-view.ts';
import { rollingStrategy, waitingInOrder, type UpdateStrategy } from './updater-strategy.ts';

/** Whether every slot of the update has its replacement up (nothing waiting or starting). */
export function greenReady(view: UpdateView): boolean {
  return view.slots.every((s) => s.phase !== 'waiting' && s.phase !== 'starting');
}

/** The blue-green strategy over `base` (its `isUp` decides what "up" is). */
export function blueGreenStrategy(base: UpdateStrategy = rollingStrategy): UpdateStrategy {
  return {
    name: 'blue-green',
    startFirst: true,
    isUp: (t) => base.isUp(t),
    pick: (view) => waitingInOrder(view),
    mayRetire: (_slot, view) => greenReady(view),
    // No Delay between batches (there is one batch); the Monitor window still applies.
    completeAt: (view) => {
      let at = view.startedAt;
      for (const s of view.slots) if (s.reachedAt !== undefined) at = Math.max(at, s.reachedAt);
      return at + view.config.Monitor / 1e6;
    },
  };
}
