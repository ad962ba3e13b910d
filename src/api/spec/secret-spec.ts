/**
 * Docker's rules for secrets and configs (SwarmKit `controlapi/secret.go`, `config.go`):
 * create bodies → stored specs, the labels-only update rule, and the defaults and
 * checks of the references a service makes to them. Pure; the routes look names up.
 *
 * A secret's data never appears in an error message made here.
 */
import { ApiError, InvalidArgumentError } from '../errors.ts';
import type { ConfigReference, FileReference, SecretReference } from '../types/service.ts';
import { MAX_CONFIG_BYTES, MAX_SECRET_BYTES, type ConfigSpec, type SecretSpec } from '../types/secret-config.ts';

/** Which of the two kinds; used in messages exactly as Docker spells them. */
export type PayloadKind = 'secret' | 'config';

/** SwarmKit's name rule for secrets and configs (not the service name rule). */
export const SECRET_NAME = /^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$/;
export const MAX_SECRET_NAME_LENGTH = 64;
/** The only templating driver Docker knows. */
export const TEMPLATE_DRIVER = 'golang';
/** Default file mode of a mounted secret or config (Docker: 0444). */
export const DEFAULT_FILE_MODE = 0o444;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const rpc = (code: string, desc: string) => `rpc error: code = ${code} desc = ${desc}`;

/** 400 with Docker's gRPC-shaped text, as the daemon passes SwarmKit's errors on. */
export function invalid(desc: string): InvalidArgumentError {
  return new InvalidArgumentError(rpc('InvalidArgument', desc));
}

/** SwarmKit's annotation check for secrets and configs. */
export function checkPayloadName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw invalid('name must be provided');
  if (name.length > MAX_SECRET_NAME_LENGTH || !SECRET_NAME.test(name)) {
    throw invalid('invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]');
  }
  return name;
}

function labels(kind: PayloadKind, v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError(`invalid ${kind} Labels: must map names to strings`);
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw new InvalidArgumentError(`invalid ${kind} Labels: the value of "${k}" must be a string`);
  }
  return { ...(v as Record<string, string>) };
}

/** Decoded length of base64 `Data`; the data itself is never quoted. */
function dataBytes(kind: PayloadKind, v: unknown, max: number): number {
  if (v !== undefined && v !== null && typeof v !== 'string') throw new InvalidArgumentError(`invalid ${kind} Data: must be base64 text`);
  const text = (v ?? '') as string;
  if (!BASE64.test(text)) throw new InvalidArgumentError(`invalid ${kind} Data: not valid base64`);
  const n = Buffer.byteLength(text, 'base64');
  if (n >= max || n < 1) throw invalid(`${kind} data must be larger than 0 and less than ${max} bytes`);
  return n;
}

function templating(kind: PayloadKind, v: unknown): { Name: string; Options?: Record<string, string> } | undefined {
  if (v === undefined || v === null) return undefined;
  const d = v as { Name?: unknown; Options?: unknown };
  if (typeof d !== 'object' || Array.isArray(d)) throw new InvalidArgumentError(`invalid ${kind} Templating: must be a driver object`);
  if (d.Name === undefined || d.Name === '') return undefined;
  if (d.Name !== TEMPLATE_DRIVER) throw invalid(`${kind} Templating: unsupported template driver "${String(d.Name)}" (only ${TEMPLATE_DRIVER})`);
  if (d.Options && Object.keys(d.Options).length) throw new ApiError(`${kind} Templating.Options are not supported`, 501);
  return { Name: TEMPLATE_DRIVER };
}

/** `POST /secrets/create` body → the stored spec. External secret drivers are refused (501). */
export function secretSpecFromBody(body: unknown): SecretSpec {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError('invalid SecretSpec: body must be a SecretSpec object');
  const b = body as Record<string, unknown>;
  const name = checkPayloadName(b.Name);
  const driver = b.Driver as { Name?: unknown } | undefined | null;
  if (driver && driver.Name) throw new ApiError('secret Driver: external secret drivers are not supported', 501);
  dataBytes('secret', b.Data, MAX_SECRET_BYTES);
  const t = templating('secret', b.Templating);
  return { Name: name, Labels: labels('secret', b.Labels), Data: b.Data as string, ...(t ? { Templating: t } : {}) };
}

/** `POST /configs/create` body → the stored spec. */
export function configSpecFromBody(body: unknown): ConfigSpec {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError('invalid ConfigSpec: body must be a ConfigSpec object');
  const b = body as Record<string, unknown>;
  const name = checkPayloadName(b.Name);
  dataBytes('config', b.Data, MAX_CONFIG_BYTES);
  const t = templating('config', b.Templating);
  return { Name: name, Labels: labels('config', b.Labels), Data: b.Data as string, ...(t ? { Templating: t } : {}) };
}

/**
 * The spec after `POST /KIND/{id}/update`: only Labels may change (SwarmKit's rule); a
 * different Name, or Data that differs from the stored data, is refused. Data is compared,
 * never echoed.
 */
export function labelsOnlyUpdate<S extends SecretSpec | ConfigSpec>(kind: PayloadKind, current: S, body: unknown): S {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError(`invalid ${kind === 'secret' ? 'SecretSpec' : 'ConfigSpec'}: body must be an object`);
  const b = body as Record<string, unknown>;
  const dataChanged = b.Data !== undefined && b.Data !== null && b.Data !== '' && b.Data !== current.Data;
  if (b.Name !== current.Name || dataChanged) throw invalid('only updates to Labels are allowed');
  return { ...current, Labels: labels(kind, b.Labels) };
}

/** Docker's message when an in-use secret or config is removed. */
export function inUseMessage(kind: PayloadKind, name: string, services: string[]): string {
  return rpc('InvalidArgument', `${kind} '${name}' is in use by the following ${services.length === 1 ? 'service' : 'services'}: ${services.join(', ')}`);
}

/** Docker's message when references name secrets or configs that do not exist. */
export function notFoundMessage(kind: PayloadKind, names: string[]): string {
  return rpc('InvalidArgument', `${kind}${names.length === 1 ? '' : 's'} not found: ${names.join(', ')}`);
}

/** The file a reference mounts, with Docker's defaults (target = the name, uid/gid "0", mode 0444). */
export function fileWithDefaults(kind: PayloadKind, field: string, name: string, file: Partial<FileReference> | undefined): FileReference {
  const f = file ?? {};
  const out: FileReference = {
    Name: f.Name === undefined || f.Name === '' ? name : f.Name,
    UID: f.UID === undefined || f.UID === '' ? '0' : f.UID,
    GID: f.GID === undefined || f.GID === '' ? '0' : f.GID,
    Mode: f.Mode === undefined ? DEFAULT_FILE_MODE : f.Mode,
  };
  if (!/^\d+$/.test(out.UID)) throw new InvalidArgumentError(`invalid ${field}.File.UID: "${out.UID}" must be a numeric user ID`);
  if (!/^\d+$/.test(out.GID)) throw new InvalidArgumentError(`invalid ${field}.File.GID: "${out.GID}" must be a numeric group ID`);
  if (!Number.isInteger(out.Mode) || out.Mode < 0 || out.Mode > 0o7777) throw new InvalidArgumentError(`invalid ${field}.File.Mode: must be a file mode between 0 and 07777`);
  checkTarget(kind, field, out.Name);
  return out;
}

/**
 * Target rules: a secret's relative target lands under `/run/secrets/`, a config's under
 * `/`; no `..` segment (it would leave that directory), no NUL; an absolute target must
 * not be `/` itself.
 */
export function checkTarget(kind: PayloadKind, field: string, target: string): void {
  if (target.includes('\0')) throw new InvalidArgumentError(`invalid ${field}.File.Name: must not contain NUL`);
  if (target.split('/').includes('..')) throw new InvalidArgumentError(`invalid ${field}.File.Name: "${target}" must not contain ".." (the ${kind} would land outside its directory)`);
  if (target.replace(/\/+/g, '/') === '/') throw new InvalidArgumentError(`invalid ${field}.File.Name: "${target}" is not a file path`);
}

/** Where the file appears in the container: Docker's `/run/secrets/NAME` and `/NAME` rules. */
export function targetPath(kind: PayloadKind, target: string): string {
  if (target.startsWith('/')) return target;
  return kind === 'secret' ? `/run/secrets/${target}` : `/${target}`;
}

/** A reference's fields other than File, refused when set (Runtime: credential specs, Windows only). */
export function checkRefExtras(field: string, ref: SecretReference | ConfigReference): void {
  const r = ref as unknown as Record<string, unknown>;
  if (r.Runtime !== undefined && r.Runtime !== null) throw new ApiError(`${field}.Runtime: runtime config references (credential specs) are not supported`, 501);
}
