/**
 * The store schema controller (leader only): when every manager's release runs a newer
 * store schema than the store has, migrates the store in one transaction and records the
 * new schema on the cluster (see `manager/schema/migrations.ts`). Runs on node and
 * cluster changes, so the migration follows the last manager's upgrade (its session
 * reports its release) without a timer.
 */
import type { MemoryStore, ObjectEvent } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { migrationsToRun, storeSchemaOf } from '../schema/migrations.ts';
import { StoreController } from './store-controller.ts';

export class SchemaController extends StoreController {
  private dirty = true;

  /** `ownSchema`: the newest store schema this manager's release runs. */
  constructor(store: MemoryStore, logger: Logger, private readonly ownSchema: number) {
    super(store, logger, ['node', 'cluster']);
  }

  protected markAll(): void {
    this.dirty = true;
  }

  protected onEvent(e: ObjectEvent): void {
    // Only managers' releases and the cluster's marker decide; workers do not. A node that
    // stops being a manager counts too: it may have been the last on the older schema.
    const isManager = (o: unknown) => (o as { Spec?: { Role?: string } } | undefined)?.Spec?.Role === 'manager';
    if (e.kind.startsWith('cluster.') || isManager(e.object) || ('old' in e && isManager(e.old))) this.dirty = true;
  }

  protected async pass(): Promise<void> {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      const { value } = await this.store.update((tx) => {
        const cluster = tx.list('cluster')[0];
        if (!cluster) return undefined;
        const steps = migrationsToRun(tx.find('node', { role: 'manager' }), cluster, this.ownSchema);
        if (steps.length === 0) return undefined;
        for (const m of steps) m.apply(tx);
        const to = steps.at(-1)!.to;
        tx.update('cluster', { ...structuredClone(tx.get('cluster', cluster.ID)!), ShoalStoreSchema: to });
        return { from: storeSchemaOf(cluster), to, steps: steps.map((m) => m.what) };
      });
      if (value) this.logger.info('schema: store migrated, every manager runs the new schema', value);
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }
}
