/**
 * `/etc/shoal/daemon.json`, the daemon's flags in a file, as dockerd's `daemon.json`: keys
 * are the flags' long names, plural for the repeatable ones (`hosts`, `labels`,
 * `insecure-registries`). An unknown key, a value of the wrong type, or a setting given
 * both here and as a flag is refused with an error naming it: nothing is silently ignored.
 * Pure: the caller reads the file.
 */
import { ConfigError, type DaemonFlags } from './config.ts';

/** Where the installed daemon reads its configuration (`--config-file` changes it). */
export const DEFAULT_CONFIG_FILE = '/etc/shoal/daemon.json';

type Kind = 'string' | 'string[]' | 'boolean';

/** Each daemon.json key: its value type and the flag field it sets. */
const KEYS: Record<string, { kind: Kind; field: keyof DaemonFlags; flag: string }> = {
  'data-root': { kind: 'string', field: 'dataRoot', flag: '--data-root' },
  hosts: { kind: 'string[]', field: 'host', flag: '--host' },
  'listen-addr': { kind: 'string', field: 'listenAddr', flag: '--listen-addr' },
  'advertise-addr': { kind: 'string', field: 'advertiseAddr', flag: '--advertise-addr' },
  hostname: { kind: 'string', field: 'hostname', flag: '--hostname' },
  'insecure-registries': { kind: 'string[]', field: 'insecureRegistry', flag: '--insecure-registry' },
  runtime: { kind: 'string', field: 'runtime', flag: '--runtime' },
  labels: { kind: 'string[]', field: 'label', flag: '--label' },
  'node-generic-resources': { kind: 'string[]', field: 'nodeGenericResource', flag: '--node-generic-resource' },
  tlsverify: { kind: 'boolean', field: 'tlsverify', flag: '--tlsverify' },
  tlscacert: { kind: 'string', field: 'tlscacert', flag: '--tlscacert' },
  tlscert: { kind: 'string', field: 'tlscert', flag: '--tlscert' },
  tlskey: { kind: 'string', field: 'tlskey', flag: '--tlskey' },
  'insecure-tcp-host': { kind: 'boolean', field: 'insecureTcpHost', flag: '--insecure-tcp-host' },
};

/** The keys daemon.json accepts, for docs and error messages. */
export const DAEMON_JSON_KEYS = Object.keys(KEYS);

function typeOk(kind: Kind, v: unknown): boolean {
  if (kind === 'string') return typeof v === 'string';
  if (kind === 'boolean') return typeof v === 'boolean';
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Parses daemon.json text into flags; `path` only names the file in errors. */
export function parseDaemonJson(text: string, path: string): DaemonFlags {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config: ${path}: invalid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(`config: ${path}: expected a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    const k = KEYS[key];
    if (!k) throw new ConfigError(`config: ${path}: unknown key "${key}" (known: ${DAEMON_JSON_KEYS.join(', ')})`);
    if (!typeOk(k.kind, value)) throw new ConfigError(`config: ${path}: "${key}" must be a ${k.kind === 'string[]' ? 'list of strings' : k.kind}`);
    out[k.field] = value;
  }
  return out as DaemonFlags;
}

/**
 * Flags from the command line over those from the file. As dockerd, a setting given in
 * both places is an error (which one was meant is not ours to guess).
 */
export function mergeDaemonFlags(fromFile: DaemonFlags, fromFlags: DaemonFlags, path: string): DaemonFlags {
  const both = Object.values(KEYS)
    .filter((k) => fromFile[k.field] !== undefined && fromFlags[k.field] !== undefined)
    .map((k) => k.flag);
  if (both.length) throw new ConfigError(`config: ${both.join(', ')} given both as a flag and in ${path}: remove one`);
  const merged: DaemonFlags = { ...fromFile };
  for (const [k, v] of Object.entries(fromFlags)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  return merged;
}
