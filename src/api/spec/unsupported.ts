/**
 * The ONE table of request fields Shoal knows from Docker's API (v1.41) but does not
 * implement yet (STYLE rule 16a). A body that gives one of them a non-empty value that
 * is not in the row's `allowed` list is refused with 501 naming the field; an empty value
 * (absent, null, '', 0, false, [], or an object of empty values) passes, so stock docker
 * clients that send zero values keep working.
 *
 * Removing a row is part of the change that implements the field: the field then goes
 * into the body's shape (`shape.ts`), and `unsupported.test.ts` checks that every field of
 * Docker's spec is in exactly one of the two.
 *
 * Paths are dotted from the body's root; `[]` stands for every element of an array.
 * Network create bodies are checked by `network-spec.ts` and have no rows here.
 */

/** Which request body a row belongs to. */
export type BodyKind = 'ServiceSpec' | 'SwarmSpec' | 'SwarmInitRequest' | 'SwarmJoinRequest' | 'NodeSpec';

/** One field Shoal does not implement. */
export interface UnsupportedField {
  /** Dotted path from the body's root, `[]` for array elements. */
  readonly path: string;
  /** What the field would ask for, as the error message says it. */
  readonly what: string;
  /** Non-empty values that mean what Shoal does anyway (Docker's own defaults), accepted. */
  readonly allowed?: readonly unknown[];
  /** Non-empty values accepted by a rule rather than listed (a map of labels, say). */
  readonly accepts?: (value: unknown) => boolean;
}

/** `{"com.docker.stack.namespace": NAME}` alone: the label docker stack deploy puts on a stack's volumes. */
function onlyStackLabel(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as Record<string, unknown>)['com.docker.stack.namespace'] === 'string';
}

const CONTAINER = 'TaskTemplate.ContainerSpec';
const MOUNT = `${CONTAINER}.Mounts[]`;

/** The SwarmSpec rows, shared by `swarm update` (the body) and `swarm init` (under `Spec`). */
const SWARM_SPEC_ROWS: readonly UnsupportedField[] = [
  // Docker's defaults are accepted, since `docker swarm update` sends back the whole spec it read.
  { path: 'Raft.SnapshotInterval', what: 'a Raft snapshot interval other than 10000', allowed: [10000] },
  { path: 'Raft.KeepOldSnapshots', what: 'keeping old Raft snapshots' },
  { path: 'Raft.LogEntriesForSlowFollowers', what: 'a Raft catch-up window other than 500 entries', allowed: [500] },
  { path: 'Raft.ElectionTick', what: 'a Raft election tick other than 10', allowed: [10] },
  { path: 'Raft.HeartbeatTick', what: 'a Raft heartbeat tick other than 1', allowed: [1] },
  { path: 'TaskDefaults.LogDriver', what: 'a default log driver for tasks' },
];

/** The table, by body kind. */
export const UNSUPPORTED: Readonly<Record<BodyKind, readonly UnsupportedField[]>> = {
  ServiceSpec: [
    { path: 'TaskTemplate.PluginSpec', what: 'plugin tasks' },
    { path: 'TaskTemplate.NetworkAttachmentSpec', what: 'network attachment tasks' },
    { path: 'TaskTemplate.LogDriver', what: 'a log driver for the tasks (Shoal keeps its own task logs)' },
    { path: 'TaskTemplate.Networks[].DriverOpts', what: 'network driver options per attachment' },
    { path: 'Networks[].DriverOpts', what: 'network driver options per attachment' },
    { path: `${CONTAINER}.Groups`, what: 'supplementary groups (--group)' },
    { path: `${CONTAINER}.TTY`, what: 'a terminal for the task (--tty)' },
    { path: `${CONTAINER}.OpenStdin`, what: 'an open stdin for the task' },
    { path: `${CONTAINER}.DNSConfig`, what: 'DNS settings (--dns, --dns-search, --dns-option)' },
    { path: `${CONTAINER}.Isolation`, what: 'an isolation technology other than the default', allowed: ['default'] },
    // Shoal bind-mounts with rbind,rprivate: Docker's default propagation is the one accepted.
    { path: `${MOUNT}.BindOptions.Propagation`, what: 'bind propagation other than rprivate', allowed: ['rprivate'] },
    { path: `${MOUNT}.BindOptions.NonRecursive`, what: 'non-recursive bind mounts (bind-nonrecursive)' },
    // docker stack deploy labels each named volume with its stack; Shoal keeps no volume
    // metadata (and, as Docker, stack rm leaves volumes), so that one label alone passes.
    { path: `${MOUNT}.VolumeOptions.Labels`, what: 'volume labels (volume-label)', accepts: onlyStackLabel },
    { path: `${MOUNT}.VolumeOptions.DriverConfig.Name`, what: 'a volume driver other than local', allowed: ['local'] },
    { path: `${MOUNT}.VolumeOptions.DriverConfig.Options`, what: 'volume driver options (volume-opt)' },
  ],
  SwarmSpec: [
    ...SWARM_SPEC_ROWS,
    { path: 'CAConfig.ExternalCAs[].Options', what: 'options for an external CA (cfssl is used with none)' },
  ],
  SwarmInitRequest: [
    { path: 'DataPathAddr', what: 'a separate data path address (--data-path-addr)' },
    ...SWARM_SPEC_ROWS.map((r) => ({ ...r, path: `Spec.${r.path}` })),
    // Root rotation is `swarm update`'s (docker swarm ca --rotate); a new swarm makes its own root.
    { path: 'Spec.CAConfig.SigningCACert', what: 'a user-provided root CA at swarm init (rotate to it afterwards: docker swarm ca --rotate --ca-cert)' },
    { path: 'Spec.CAConfig.SigningCAKey', what: 'a user-provided root CA key at swarm init (rotate to it afterwards: docker swarm ca --rotate --ca-key)' },
    { path: 'Spec.CAConfig.ForceRotate', what: 'root CA rotation at swarm init (docker swarm ca --rotate rotates an existing swarm)' },
    { path: 'Spec.CAConfig.ExternalCAs', what: 'external CAs at swarm init (add them afterwards: docker swarm update --external-ca, or swarm ca --rotate --external-ca)' },
  ],
  SwarmJoinRequest: [{ path: 'DataPathAddr', what: 'a separate data path address (--data-path-addr)' }],
  NodeSpec: [],
};

/** Query parameters Shoal does not implement, by route: a true value is refused the same way. */
export const UNSUPPORTED_QUERY: Readonly<Record<string, readonly UnsupportedField[]>> = {
};

/**
 * Whether `v` asks for nothing: absent, null, '', 0, false, an empty array, or an
 * object whose values all ask for nothing (Go clients send zero values and empty structs).
 */
export function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).every(isEmptyValue);
  return false;
}

/** The row for `genericPath` (indices written as `[]`) in `kind`'s table, if any. */
export function unsupportedRow(kind: BodyKind, genericPath: string): UnsupportedField | undefined {
  return UNSUPPORTED[kind].find((r) => r.path === genericPath);
}

/** Whether `value` of `row` asks for something Shoal does not do. */
export function isRefused(row: UnsupportedField, value: unknown): boolean {
  if (isEmptyValue(value)) return false;
  if (row.accepts?.(value)) return false;
  return !(row.allowed ?? []).some((a) => a === value);
}

/** The message for a refused field: `TaskTemplate.ContainerSpec.TTY: a terminal for the task (--tty) is not supported by Shoal yet`. */
export function refusalReason(row: UnsupportedField): string {
  return `${row.what} is not supported by Shoal yet${row.allowed?.length ? ` (accepted: empty or ${row.allowed.map((a) => JSON.stringify(a)).join(', ')})` : ''}`;
}
