/**
 * What `shoal secret …` and `shoal config …` share: the API calls for either kind and
 * the output docker prints (`ls` table, `inspect --pretty`). A secret's data never
 * comes back from the daemon, so nothing here can print it.
 */
import { readFileSync } from 'node:fs';
import type { ApiClient } from '../../../src/api/client.ts';
import { ApiError } from '../../../src/api/errors.ts';
import type { Config, Secret } from '../../../src/api/types/secret-config.ts';
import { SwarmApi, describeError } from '../../swarm-api.ts';
import { goTime, inspectOutput } from '../../swarm-format.ts';
import { table, timeAgo } from '../../format.ts';

/** `secret` or `config`. */
export type PayloadKind = 'secret' | 'config';
export type Payload = Secret | Config;

/** The calls of one kind. */
export class PayloadApi extends SwarmApi {
  constructor(client: ApiClient, readonly kind: PayloadKind) {
    super(client);
  }

  /** `POST /KINDs/create`; resolves with the new ID. */
  async create(spec: { Name: string; Labels: Record<string, string>; Data: string; Templating?: { Name: string } }): Promise<string> {
    return (await this.call<{ ID: string }>('POST', `/${this.kind}s/create`, { body: spec })).ID;
  }

  list(filters?: Record<string, string[]>): Promise<Payload[]> {
    return this.call('GET', `/${this.kind}s`, { query: { filters: filters && Object.keys(filters).length ? JSON.stringify(filters) : undefined } });
  }

  /** By ID, name or ID prefix; a 404 reads as docker's `Error: No such KIND: REF`. */
  async get(ref: string): Promise<Payload> {
    try {
      return await this.call<Payload>('GET', `/${this.kind}s/${encodeURIComponent(ref)}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) throw new Error(`Error: No such ${this.kind}: ${ref}`, { cause: err });
      throw err;
    }
  }

  remove(ref: string): Promise<void> {
    return this.call('DELETE', `/${this.kind}s/${encodeURIComponent(ref)}`);
  }
}

/** The data of `FILE`, or of stdin for `-`. */
export function readPayload(file: string): Buffer {
  return file === '-' ? readFileSync(0) : readFileSync(file);
}

/** `--label k=v` flags as a map (`k` alone: empty value, as docker does). */
export function labelMap(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of values ?? []) {
    const i = l.indexOf('=');
    if (i < 0) out[l] = '';
    else out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** One `ls` row; field names are docker's `--format` fields. */
export interface PayloadRow {
  ID: string;
  Name: string;
  Driver: string;
  CreatedAt: string;
  UpdatedAt: string;
  Labels: string;
}

export function payloadRow(o: Payload, now = Date.now()): PayloadRow {
  const driver = (o.Spec as Secret['Spec']).Driver?.Name ?? '';
  return {
    ID: o.ID, Name: o.Spec.Name, Driver: driver,
    CreatedAt: timeAgo(o.CreatedAt, now), UpdatedAt: timeAgo(o.UpdatedAt, now),
    Labels: Object.entries(o.Spec.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
  };
}

/** docker's `secret ls` / `config ls` table (configs have no DRIVER column). */
export function payloadTable(kind: PayloadKind, rows: PayloadRow[]): string {
  if (kind === 'secret') return table(['ID', 'NAME', 'DRIVER', 'CREATED', 'UPDATED'], rows.map((r) => [r.ID, r.Name, r.Driver, r.CreatedAt, r.UpdatedAt]));
  return table(['ID', 'NAME', 'CREATED', 'UPDATED'], rows.map((r) => [r.ID, r.Name, r.CreatedAt, r.UpdatedAt]));
}

/** docker's `inspect --pretty` text; a config shows its data, a secret cannot. */
export function prettyPayload(kind: PayloadKind, o: Payload): string {
  const lines = [`ID:              ${o.ID}`, `Name:              ${o.Spec.Name}`];
  const labels = Object.entries(o.Spec.Labels ?? {});
  if (labels.length) lines.push('Labels:', ...labels.map(([k, v]) => ` - ${k}=${v}`));
  if (kind === 'secret') lines.push(`Driver:            ${(o.Spec as Secret['Spec']).Driver?.Name ?? ''}`);
  if (o.Spec.Templating?.Name) lines.push(`Template Driver:   ${o.Spec.Templating.Name}`);
  lines.push(`Created at:        ${goTime(o.CreatedAt)}`, `Updated at:        ${goTime(o.UpdatedAt)}`);
  // Shoal's rotation without renaming: every version, the current one last.
  if (o.Versions?.length) lines.push('Versions:', ...o.Versions.map((v) => ` - ${v.Version}  ${v.ID}  ${goTime(v.CreatedAt)}${v.ID === o.ID ? '  (current)' : ''}`));
  if (o.RetiredFrom) lines.push(`Retired from:      ${o.RetiredFrom}`);
  if (kind === 'config') lines.push('Data:', Buffer.from((o.Spec as Config['Spec']).Data ?? '', 'base64').toString('utf8'));
  return lines.join('\n') + '\n';
}

/**
 * The body of `secret inspect` and `config inspect`: prints every ref found (JSON or
 * `--format`, or docker's `--pretty` text) and, to stderr, why the others failed.
 * Resolves false when any ref failed, so the command exits 1 as docker does.
 */
export async function printInspect(api: PayloadApi, refs: string[], flags: { format?: string; pretty?: boolean }): Promise<boolean> {
  const found: Payload[] = [];
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      found.push(await api.get(ref));
    } catch (err) {
      errors.push(describeError(err));
    }
  }
  if (flags.pretty) process.stdout.write(found.map((o) => prettyPayload(api.kind, o)).join('\n'));
  else process.stdout.write(inspectOutput(found, flags.format));
  if (errors.length) process.stderr.write(errors.join('\n') + '\n');
  return errors.length === 0;
}
