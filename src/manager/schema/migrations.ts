/**
 * Store schema migrations for rolling upgrades of Shoal itself. Managers of two releases
 * share one Raft log during an upgrade, so a newer release never writes what an older one
 * cannot read until every manager runs it: each node advertises the newest schema its
 * release runs (`Description.ShoalStoreSchema`), and the leader migrates the store (one
 * transaction, recorded as the cluster's `ShoalStoreSchema`) only once every manager
 * advertises the target and its own code has the migrations up to it. Workers never read
 * the store, so they do not hold a migration back. Pure: no I/O.
 */
import type { Cluster } from '../../store/objects.ts';
import type { Node } from '../../api/types/node.ts';
import type { WriteTx } from '../../store/index.ts';

export interface Migration {
  /** The schema the store has after this step. */
  to: number;
  /** What the step changes, for the log and the event. */
  what: string;
  /** Changes the store inside the migration's transaction (the cluster's marker is written after). */
  apply(tx: WriteTx): void;
}

/**
 * Every migration, in order. Schema 2 exists only for the rolling-upgrade test
 * (`SHOAL_TEST_UPGRADE=1`, see `common/release.ts`): a harmless step that changes nothing
 * but the cluster's marker.
 */
const MIGRATIONS: readonly Migration[] = [
  { to: 2, what: 'test schema 2: the cluster records the new schema, nothing else changes', apply: () => {} },
];

/** The schema a store is at: the cluster's marker, 1 when it has none (stores from before migrations). */
export function storeSchemaOf(cluster: Cluster | undefined): number {
  return cluster?.ShoalStoreSchema ?? 1;
}

/** The schema a node runs, by what it advertised (1 for a release from before advertising). */
export function nodeSchemaOf(node: Node): number {
  return node.Description?.ShoalStoreSchema ?? 1;
}

/**
 * The steps to take now, in order, or none: the target is the newest schema every
 * manager advertises, capped by the schema this leader's release runs, when it is newer
 * than the store's.
 */
export function migrationsToRun(managers: readonly Node[], cluster: Cluster | undefined, ownSchema: number, all: readonly Migration[] = MIGRATIONS): Migration[] {
  if (managers.length === 0) return [];
  const target = Math.min(ownSchema, ...managers.map(nodeSchemaOf));
  const from = storeSchemaOf(cluster);
  if (target <= from) return [];
  const steps = all.filter((m) => m.to > from && m.to <= target).sort((a, b) => a.to - b.to);
  // Every step from `from` to `target` must be known, or none is taken.
  for (let i = 0; i < steps.length; i++) if (steps[i].to !== from + 1 + i) return [];
  return steps.length === target - from ? steps : [];
}
