/**
 * The object kinds the store keeps, one table each, and how each table is indexed.
 * Objects are the Docker-shaped API types (`src/api/types`); the cluster adds what only
 * managers hold (join tokens and the root CA, key included; never sent to workers).
 */
import type { ClusterInfo, JoinTokens } from '../api/types/swarm.ts';
import type { Node, NodeRole } from '../api/types/node.ts';
import type { Service } from '../api/types/service.ts';
import type { Task, TaskState } from '../api/types/task.ts';
import type { Network } from '../api/types/network.ts';
import type { Config, Secret } from '../api/types/secret-config.ts';

/** The root CA as the cluster object keeps it (PEM); the key is sealed in snapshots by the cipher hook. */
export interface StoredRootCA {
  /** The root certificate, PEM. */
  CACert: string;
  /** The root key, PKCS#8 PEM. Managers only. */
  CAKey: string;
  /**
   * A root rotation in progress (SwarmKit's `RootRotation`, see `src/manager/ca/rotation.ts`):
   * the new root, its key (managers only) and the new root cross-signed by `CACert`'s key.
   * Absent when none is; `CACert` stays the root nodes trust until every node holds a
   * certificate the new key issued.
   */
  RootRotation?: { CACert: string; CAKey: string; CrossSignedCACert: string };
  /** The `Spec.CAConfig.ForceRotate` value the last forced rotation answered (0 or absent: none). */
  LastForcedRotation?: number;
}

/** The swarm's network key as the cluster keeps it (see `manager/netkeys/`). */
export interface NetworkKeyRecord {
  /** 32 random bytes, base64. */
  Key: string;
  /** 1 for the first key, +1 per rotation. */
  Generation: number;
  /** When it was made, ms since the epoch. */
  CreatedAt: number;
  /** IDs of the nodes that may hold it (in the swarm when it was made, or joined since), sorted. */
  Nodes: string[];
}

/** The cluster (Docker: "Swarm") as managers store it. */
export interface Cluster extends ClusterInfo {
  JoinTokens: JoinTokens;
  RootCA?: StoredRootCA;
  /**
   * Tombstones of nodes removed from the swarm (`node rm`): node ID → until when (ms since
   * the epoch; the longest its last certificate can still be valid) every 2377 endpoint
   * refuses that node's certificate. Managers only; never shown by `GET /swarm`.
   */
  RemovedNodes?: Record<string, number>;
  /**
   * The unlock key (`SWMKEY-1-…`) managers seal their keys with while
   * `Spec.EncryptionConfig.AutoLockManagers` is on; absent while it is off. Managers only;
   * only `GET /swarm/unlockkey` shows it. At rest it is inside the DEK-sealed Raft data.
   */
  UnlockKey?: string;
  /**
   * The store schema (Shoal extension; absent: 1). The leader raises it with a migration
   * once every manager's release runs the newer one (`manager/schema/migrations.ts`).
   */
  ShoalStoreSchema?: number;
  /**
   * The swarm's key for encrypted overlays (Shoal extension: the WireGuard preshared key,
   * rotated by `manager/netkeys/`). Managers only; never shown by `GET /swarm`; nodes get
   * it inside their network view.
   */
  ShoalNetworkKey?: NetworkKeyRecord;
}

/** Every stored kind and its object type. Table names are these keys. */
export interface StoreObjects {
  cluster: Cluster;
  node: Node;
  service: Service;
  task: Task;
  network: Network;
  secret: Secret;
  config: Config;
}

export type Kind = keyof StoreObjects;
export type StoreObject = StoreObjects[Kind];

/** Every kind, in the fixed order used by snapshots and listings of the whole store. */
export const KINDS: readonly Kind[] = ['cluster', 'node', 'service', 'task', 'network', 'secret', 'config'];

/** The secondary indexes a `find` may use; each table declares which ones it has. */
export interface FindBy {
  /** Exact name (services, networks, secrets, configs, clusters: Spec.Name; nodes: hostname). */
  name?: string;
  /** Names starting with this prefix (tables that have names). */
  namePrefix?: string;
  /** Tasks of this service. */
  serviceId?: string;
  /** Tasks assigned to this node. */
  nodeId?: string;
  /** Tasks with this desired state. */
  desiredState?: string;
  /** Nodes with this role (Spec.Role). */
  role?: string;
}

export type IndexName = Exclude<keyof FindBy, 'name' | 'namePrefix'>;

/** The criteria each table supports (checked at compile time here, asserted at run time too). */
interface CriteriaOf {
  cluster: 'name' | 'namePrefix';
  node: 'name' | 'namePrefix' | 'role';
  service: 'name' | 'namePrefix';
  task: 'serviceId' | 'nodeId' | 'desiredState';
  network: 'name' | 'namePrefix';
  secret: 'name' | 'namePrefix';
  config: 'name' | 'namePrefix';
}

/** What `find` accepts for a kind: tasks by desired state take a `TaskState`, nodes by role a `NodeRole`. */
export type FindByOf<K extends Kind> = Pick<
  FindBy & { desiredState?: TaskState; role?: NodeRole },
  CriteriaOf[K]
>;

/** How a table derives its name and index keys from an object. */
export interface TableDef<T> {
  /** The object's name, if the table has names. */
  name?: (o: T) => string | undefined;
  /** Whether names are unique in the table (Docker requires it for all but node hostnames). */
  uniqueName: boolean;
  /** Secondary indexes: key of each object (undefined = not indexed). */
  indexes: Partial<Record<IndexName, (o: T) => string | undefined>>;
}

/** The table definitions. Invariant: every index function is pure and reads only the object. */
export const TABLES: { [K in Kind]: TableDef<StoreObjects[K]> } = {
  cluster: { name: (c) => c.Spec?.Name, uniqueName: true, indexes: {} },
  node: {
    // Docker allows several nodes with one hostname; `node ls` shows them all.
    name: (n) => n.Description?.Hostname || n.Spec?.Name,
    uniqueName: false,
    indexes: { role: (n) => n.Spec?.Role },
  },
  service: { name: (s) => s.Spec?.Name, uniqueName: true, indexes: {} },
  task: {
    uniqueName: false,
    indexes: {
      serviceId: (t) => t.ServiceID || undefined,
      nodeId: (t) => t.NodeID || undefined,
      desiredState: (t) => t.DesiredState,
    },
  },
  network: { name: (n) => n.Spec?.Name, uniqueName: true, indexes: {} },
  secret: { name: (s) => s.Spec?.Name, uniqueName: true, indexes: {} },
  config: { name: (c) => c.Spec?.Name, uniqueName: true, indexes: {} },
};

/** The table definition of a kind, untyped for the generic table code. */
export function tableDef(kind: Kind): TableDef<StoreObject> {
  const def = TABLES[kind] as TableDef<StoreObject> | undefined;
  if (!def) throw new Error(`store: unknown object kind ${JSON.stringify(kind)}`);
  return def;
}
