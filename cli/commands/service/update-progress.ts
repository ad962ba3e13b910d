/**
 * The progress `service update` and `service rollback` print without `--detach`, after
 * docker's: `overall progress: N out of M tasks`, one line per slot, `rollback: MESSAGE`
 * once a rollback starts, `verify: Service converged` at the end; a paused update or
 * rollback ends it with docker's error (`service update paused: …`).
 */
import type { Service } from '../../../src/api/types/service.ts';
import type { Task } from '../../../src/api/types/task.ts';
import type { ServiceApi } from '../../service-api.ts';

/** JSON with sorted keys: a task is up to date when its spec serialises as the template does. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stable(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** One look at the update. */
export interface UpdateProgress {
  lines: string[];
  /** Every wanted task is up to date and running. */
  allUp: boolean;
  /** All up and the update no longer in progress (its Monitor window over). */
  converged: boolean;
  /** Set when a rollback is under way: its message. */
  rollback?: string;
  /** Set when the update stopped short: docker's error text. */
  error?: string;
}

/** Pure: the lines and verdict for `service` and its tasks. */
export function updateProgress(service: Service, tasks: readonly Task[]): UpdateProgress {
  const template = stable(service.Spec.TaskTemplate);
  const replicas = service.Spec.Mode?.Replicated?.Replicas;
  const wanted = tasks.filter((t) => t.DesiredState === 'running');
  const current = wanted.filter((t) => stable(t.Spec) === template);
  const running = current.filter((t) => t.Status.State === 'running');
  const slotOf = (t: Task) => (t.Slot ? String(t.Slot) : (t.NodeID ?? ''));
  const slots = new Map<string, string>();
  for (const t of wanted) if (!slots.has(slotOf(t))) slots.set(slotOf(t), 'waiting for update');
  const rank = (s: string) => (s === 'running' ? 2 : s === 'waiting for update' ? 0 : 1);
  for (const t of current) {
    const prev = slots.get(slotOf(t));
    const state = t.Status.State + (t.Status.Err ? ` (${t.Status.Err})` : '');
    if (!prev || rank(t.Status.State) >= rank(prev)) slots.set(slotOf(t), state);
  }
  const total = replicas ?? slots.size;
  const lines = [`overall progress: ${running.length} out of ${total} tasks`];
  for (const [slot, state] of [...slots].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }))) {
    lines.push(`${replicas ? `${slot}/${replicas}` : slot.slice(0, 12)}: ${state}`);
  }
  const st = service.UpdateStatus;
  const allUp = running.length === total && wanted.length === total;
  const out: UpdateProgress = { lines, allUp, converged: false };
  if (st?.State === 'rollback_started' || st?.State === 'rollback_completed') out.rollback = st.Message === 'rollback completed' ? undefined : st.Message;
  if (st?.State === 'paused') out.error = `service update paused: ${st.Message}`;
  if (st?.State === 'rollback_paused') out.error = `service rollback paused: ${st.Message}`;
  const settled = !st || st.State === 'completed' || st.State === 'rollback_completed';
  out.converged = settled && allUp;
  return out;
}

/** Polls until the update settles, printing what changed; throws docker's error when it pauses. */
export async function waitUpdated(api: ServiceApi, id: string, log: (line: string) => void, timeoutMs = 10 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let rollbackShown = false;
  let verifying = false;
  let promotedShown = false;
  for (;;) {
    const service = await api.service(id);
    const tasks = await api.tasks({ service: [service.ID] });
    const p = updateProgress(service, tasks);
    if (service.UpdateStatus?.ShoalCanary === 'promoted' && !promotedShown) {
      log('canary: promoted'); // Shoal's canary strategy (com.shoal.update.strategy=canary)
      promotedShown = true;
    }
    if (p.rollback && !rollbackShown) {
      log(`rollback: ${p.rollback}`);
      rollbackShown = true;
    }
    const text = p.lines.join('\n');
    if (text !== last) log(text);
    last = text;
    if (p.error) throw new Error(p.error);
    if (p.converged) {
      log('verify: Service converged');
      return;
    }
    const st = service.UpdateStatus?.State;
    if (!verifying && p.allUp && (st === 'updating' || st === 'rollback_started')) {
      const cfg = st === 'updating' ? service.Spec.UpdateConfig : service.Spec.RollbackConfig;
      log(`verify: Waiting ${Math.round((cfg?.Monitor ?? 5e9) / 1e9)} seconds to verify that tasks are stable...`);
      verifying = true;
    }
    if (Date.now() > deadline) throw new Error(`service ${id} did not converge in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
