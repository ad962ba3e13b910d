/**
 * The secret and config flags of `service create` (`--secret`, `--config`) and
 * `service update` (`--secret-add/--secret-rm`, `--config-add/--config-rm`), and how
 * they change a spec. A reference names the object; the daemon resolves the name to an
 * ID and fills the File defaults (target = name, uid/gid 0, mode 0444).
 */
import { Flags } from '@oclif/core';
import type { ConfigReference, ContainerSpec, FileReference, SecretReference } from '../../../src/api/types/service.ts';

const many = { multiple: true, multipleNonGreedy: true } as const;

/** `service create` flags. */
export const payloadCreateFlags = {
  secret: Flags.string({ summary: 'Specify secrets to expose to the service: NAME or source=NAME[,target=T][,uid=U][,gid=G][,mode=M]; repeatable.', ...many }),
  config: Flags.string({ summary: 'Specify configurations to expose to the service: NAME or source=NAME[,target=/PATH][,uid=U][,gid=G][,mode=M]; repeatable.', ...many }),
};

/** `service update` flags. */
export const payloadUpdateFlags = {
  'secret-add': Flags.string({ summary: 'Add or update a secret on a service (NAME or source=…,target=…); repeatable.', ...many }),
  'secret-rm': Flags.string({ summary: 'Remove a secret (by name or ID); repeatable.', ...many }),
  'config-add': Flags.string({ summary: 'Add or update a config file on a service (NAME or source=…,target=…); repeatable.', ...many }),
  'config-rm': Flags.string({ summary: 'Remove a configuration file (by name or ID); repeatable.', ...many }),
};

type Kind = 'secret' | 'config';

/** Docker's `--secret` value: `NAME`, or `source=NAME,target=T,uid=U,gid=G,mode=M` (mode as Go's ParseUint base 0: `0400` is octal). */
export function parsePayloadRef(kind: Kind, value: string): { name: string; file?: Partial<FileReference> } {
  if (!value.includes('=')) {
    if (!value) throw new Error(`invalid ${kind}: empty value`);
    return { name: value };
  }
  let name = '';
  const file: Partial<FileReference> = {};
  for (const part of value.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) throw new Error(`invalid field '${part}' must be a key=value pair`);
    const k = part.slice(0, i).toLowerCase();
    const v = part.slice(i + 1);
    if (k === 'source' || k === 'src') name = v;
    else if (k === 'target') file.Name = v;
    else if (k === 'uid') file.UID = v;
    else if (k === 'gid') file.GID = v;
    else if (k === 'mode') {
      const m = /^0[0-7]+$/.test(v) ? parseInt(v, 8) : /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : /^\d+$/.test(v) ? Number(v) : NaN;
      if (!Number.isInteger(m)) throw new Error(`invalid mode specified: ${v}`);
      file.Mode = m;
    } else throw new Error(`invalid field in ${kind} request: ${k}`);
  }
  if (!name) throw new Error(`source is required`);
  return { name, ...(Object.keys(file).length ? { file } : {}) };
}

function refOf(kind: Kind, value: string): SecretReference | ConfigReference {
  const { name, file } = parsePayloadRef(kind, value);
  const f = file ? ({ ...file } as FileReference) : undefined;
  return kind === 'secret'
    ? ({ SecretID: '', SecretName: name, ...(f ? { File: f } : {}) } as SecretReference)
    : ({ ConfigID: '', ConfigName: name, ...(f ? { File: f } : {}) } as ConfigReference);
}

/** Applies `--secret` / `--config` to a new service's container spec. Throws on a malformed value. */
export function applyPayloadCreateFlags(c: ContainerSpec, flags: { secret?: string[]; config?: string[] }): void {
  if (flags.secret?.length) c.Secrets = flags.secret.map((v) => refOf('secret', v) as SecretReference);
  if (flags.config?.length) c.Configs = flags.config.map((v) => refOf('config', v) as ConfigReference);
}

const nameOf = (r: SecretReference | ConfigReference) => ('SecretName' in r ? r.SecretName : r.ConfigName);
const idOf = (r: SecretReference | ConfigReference) => ('SecretID' in r ? r.SecretID : r.ConfigID);

/**
 * Applies `--secret-rm`, then `--secret-add` (and the config pair) to a service's
 * container spec, as docker does: removal by name or ID; an added reference replaces
 * one of the same name. Throws on a malformed value.
 */
export function applyPayloadUpdateFlags(c: ContainerSpec, flags: Record<string, unknown>): void {
  for (const kind of ['secret', 'config'] as const) {
    const add = (flags[`${kind}-add`] as string[] | undefined) ?? [];
    const rm = (flags[`${kind}-rm`] as string[] | undefined) ?? [];
    if (!add.length && !rm.length) continue;
    const list = ((kind === 'secret' ? c.Secrets : c.Configs) ?? []) as (SecretReference | ConfigReference)[];
    const added = add.map((v) => refOf(kind, v));
    const addedNames = new Set(added.map(nameOf));
    const kept = list.filter((r) => !rm.includes(nameOf(r)) && !rm.includes(idOf(r)) && !addedNames.has(nameOf(r)));
    const next = [...kept, ...added];
    if (kind === 'secret') c.Secrets = next as SecretReference[];
    else c.Configs = next as ConfigReference[];
  }
}
