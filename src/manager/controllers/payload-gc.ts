/**
 * The retired-version collector (leader only): deletes a secret or config version that
 * `rotate` replaced (`RetiredFrom` set) once nothing can still need its data — no service
 * spec (nor the rollback target of an update still running) refers to it and no task that is not finished mounts it.
 * The decision is the pure `retiredUnused`; this controller runs it when tasks, services
 * or payloads change.
 */
import type { MemoryStore, ObjectEvent, ReadTx } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import type { Config, Secret } from '../../api/types/secret-config.ts';
import type { ContainerSpec, Service } from '../../api/types/service.ts';
import { isTerminal, type Task } from '../../api/types/task.ts';
import { StoreController } from './store-controller.ts';

function refIds(c: ContainerSpec | undefined, kind: 'secret' | 'config'): string[] {
  return kind === 'secret' ? (c?.Secrets ?? []).map((r) => r.SecretID) : (c?.Configs ?? []).map((r) => r.ConfigID);
}

/** IDs of the retired versions of `kind` that no service spec (current or previous) and no unfinished task refers to. */
export function retiredUnused(kind: 'secret' | 'config', payloads: readonly (Secret | Config)[], services: readonly Service[], tasks: readonly Task[]): string[] {
  const retired = payloads.filter((p) => p.RetiredFrom).map((p) => p.ID);
  if (retired.length === 0) return [];
  const used = new Set<string>();
  for (const s of services) {
    for (const id of refIds(s.Spec.TaskTemplate.ContainerSpec, kind)) used.add(id);
    // The previous spec is the automatic rollback target while an update runs (before it
    // starts, the old tasks still hold the old version); once it completed, the old version
    // is no longer needed (a later manual rollback finds it gone).
    const running = ['updating', 'paused', 'rollback_started', 'rollback_paused'].includes(s.UpdateStatus?.State ?? '');
    if (running) for (const id of refIds(s.PreviousSpec?.TaskTemplate.ContainerSpec, kind)) used.add(id);
  }
  for (const t of tasks) {
    if (isTerminal(t.Status.State)) continue;
    for (const id of refIds(t.Spec.ContainerSpec, kind)) used.add(id);
  }
  return retired.filter((id) => !used.has(id));
}

export class PayloadGcController extends StoreController {
  private dirty = false;

  constructor(store: MemoryStore, logger: Logger) {
    super(store, logger, ['task', 'service', 'secret', 'config']);
  }

  protected markAll(): void {
    this.dirty = true;
  }

  protected onEvent(e: ObjectEvent): void {
    if (e.kind !== 'task.created') this.dirty = true;
  }

  protected async pass(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    const find = (tx: ReadTx) => ({
      secret: retiredUnused('secret', tx.list('secret'), tx.list('service'), tx.list('task')),
      config: retiredUnused('config', tx.list('config'), tx.list('service'), tx.list('task')),
    });
    if (this.store.view((tx) => find(tx).secret.length + find(tx).config.length) === 0) return;
    try {
      const { value } = await this.store.update((tx) => {
        const gone = find(tx);
        for (const id of gone.secret) tx.delete('secret', id);
        for (const id of gone.config) tx.delete('config', id);
        return [...gone.secret, ...gone.config];
      });
      if (value.length) this.logger.info('retired secret/config versions removed: no task uses them', { ids: value.join(',') });
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }
}
