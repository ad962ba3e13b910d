/**
 * `/secrets…` of the control API in Docker's shapes (SwarmKit `controlapi/secret.go`):
 * create (201 `{ID}`; 409 on a name in use), list (filters id, name, names, label),
 * inspect by ID, name or ID prefix, update (labels only) and delete (refused while a
 * service references it, naming the services). The same routes serve `/configs…`
 * (`configs.ts`); the one difference is that a secret's Data is never sent back —
 * not in inspect, list, update answers or any error — while a config's is.
 *
 * Also here: service references to secrets and configs, resolved by name to IDs inside
 * the service's writing transaction (`resolvePayloadRefs`).
 */
import type { Router, RequestContext } from '../../common/router.ts';
import { sendJson } from '../../common/router.ts';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../api/errors.ts';
import type { Config, Secret } from '../../api/types/secret-config.ts';
import type { ConfigReference, ContainerSpec, SecretReference, Service } from '../../api/types/service.ts';
import {
  checkRefExtras, configSpecFromBody, fileWithDefaults, inUseMessage, labelsOnlyUpdate, notFoundMessage,
  secretSpecFromBody, targetPath, type PayloadKind,
} from '../../api/spec/secret-spec.ts';
import type { Manager } from '../../manager/manager.ts';
import type { ReadTx, WriteTx } from '../../store/index.ts';
import { filterValues, matchLabels, readBarrier, requireManager, requireVersion, type SwarmRef } from './lookup.ts';
import { addRotateRoute } from './payload-rotate.ts';

type Payload = Secret | Config;

/** Bodies of secret requests are parsed here, not by the router: its JSON errors quote the text. */
const MAX_BODY = 4 * 1024 * 1024;

async function readBody(ctx: RequestContext): Promise<unknown> {
  const raw = await ctx.rawBody(MAX_BODY);
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new InvalidArgumentError('invalid JSON body');
  }
}

/** What the API shows of a stored object: a secret without its Data. */
export function redact<T extends Payload>(kind: PayloadKind, o: T): T {
  if (kind !== 'secret') return o;
  const { Data: _data, ...spec } = o.Spec as Secret['Spec'];
  return { ...o, Spec: spec } as T;
}

/** The object named by full ID, exact name, or unique ID prefix (Docker's `getSecret` order). */
export function resolvePayload<K extends PayloadKind>(tx: ReadTx, kind: K, ref: string): K extends 'secret' ? Secret : Config {
  const found = tx.get(kind, ref) ?? tx.getByName(kind, ref);
  if (found) return found as K extends 'secret' ? Secret : Config;
  const byPrefix = ref ? (tx.list(kind) as Payload[]).filter((o) => o.ID.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0] as K extends 'secret' ? Secret : Config;
  if (byPrefix.length > 1) throw new InvalidArgumentError(`${kind} ${ref} is ambiguous (${byPrefix.length} matches found)`);
  throw new NotFoundError(`${kind} ${ref} not found`);
}

/** The services whose spec references `id` (by SecretID / ConfigID). */
export function servicesUsing(tx: ReadTx, kind: PayloadKind, id: string): Service[] {
  return tx.list('service', (s) => {
    const c = s.Spec.TaskTemplate.ContainerSpec;
    return kind === 'secret' ? (c?.Secrets ?? []).some((r) => r.SecretID === id) : (c?.Configs ?? []).some((r) => r.ConfigID === id);
  });
}

function matches(o: Payload, filters: Map<string, string[]>): boolean {
  const ids = filters.get('id');
  if (ids && !ids.some((p) => o.ID.startsWith(p))) return false;
  const names = filters.get('name');
  if (names && !names.some((p) => o.Spec.Name.startsWith(p))) return false;
  const exact = filters.get('names');
  if (exact && !exact.includes(o.Spec.Name)) return false;
  const labels = filters.get('label');
  if (labels && !matchLabels(o.Spec.Labels, labels)) return false;
  return true;
}

const FILTERS = ['id', 'name', 'names', 'label'];

/** Adds `/secrets…` or `/configs…`. */
export function addPayloadRoutes(router: Router, swarm: SwarmRef, kind: PayloadKind): void {
  const base = `/${kind}s`;
  const fromBody = kind === 'secret' ? secretSpecFromBody : configSpecFromBody;

  router.post(`${base}/create`, async (ctx) => {
    const manager = requireManager(swarm);
    const spec = fromBody(await readBody(ctx));
    const { value: created } = await manager.store.update((tx) => {
      if (tx.getByName(kind, spec.Name)) throw new ConflictError(`rpc error: code = AlreadyExists desc = ${kind} ${spec.Name} already exists`);
      return tx.create(kind, { Spec: spec } as never) as Payload;
    });
    sendJson(ctx.res, 201, { ID: created.ID });
  });

  router.get(base, async (ctx) => {
    const manager = requireManager(swarm);
    const filters = filterValues(ctx.query);
    for (const k of filters.keys()) if (!FILTERS.includes(k)) throw new InvalidArgumentError(`invalid filter '${k}'`);
    await readBarrier(manager, ctx.res);
    // Versions replaced by `rotate` and kept for their tasks are not listed (see payload-rotate.ts).
    return manager.store.view((tx) => (tx.list(kind) as Payload[]).filter((o) => !o.RetiredFrom && matches(o, filters)).map((o) => redact(kind, o)));
  });

  router.get(`${base}/:id`, async (ctx) => {
    const manager = requireManager(swarm);
    await readBarrier(manager, ctx.res);
    return redact(kind, manager.store.view((tx) => resolvePayload(tx, kind, ctx.params.id)));
  });

  router.post(`${base}/:id/update`, async (ctx) => {
    const manager = requireManager(swarm);
    const version = requireVersion(ctx.query);
    const body = await readBody(ctx);
    await manager.store.update((tx) => {
      const current = resolvePayload(tx, kind, ctx.params.id) as Payload;
      const spec = labelsOnlyUpdate(kind, current.Spec, body);
      tx.update(kind, { ...current, Version: { Index: version }, Spec: spec } as never);
    });
    ctx.res.writeHead(200).end();
  });

  router.delete(`${base}/:id`, async (ctx) => {
    const manager = requireManager(swarm);
    await deletePayload(manager, kind, ctx.params.id);
    ctx.res.writeHead(204).end();
  });

  addRotateRoute(router, swarm, kind, (tx, ref) => resolvePayload(tx, kind, ref) as Payload);
}

async function deletePayload(manager: Manager, kind: PayloadKind, ref: string): Promise<void> {
  await manager.store.update((tx) => {
    const o = resolvePayload(tx, kind, ref) as Payload;
    const users = servicesUsing(tx, kind, o.ID).map((s) => s.Spec.Name).sort();
    if (users.length) throw new InvalidArgumentError(inUseMessage(kind, o.Spec.Name, users));
    tx.delete(kind, o.ID);
  });
}

/**
 * `/secrets…` of the control API, and `GET /shoal/debug/agent-payloads`: what this
 * node's agent holds in memory (any role; `{Secrets, Configs}` of `{ID, Name}`). That
 * route is read-only and built from names and IDs alone, so it cannot show data; it lets
 * tests check delivery on the node itself instead of trusting the manager.
 */
export function addSecretRoutes(router: Router, swarm: SwarmRef): void {
  addPayloadRoutes(router, swarm, 'secret');
  router.get('/shoal/debug/agent-payloads', () => {
    const held = swarm()?.agentPayloads() ?? { secrets: [], configs: [] };
    const names = (l: { ID: string; Name: string }[]) => l.map((o) => ({ ID: String(o.ID), Name: String(o.Name) }));
    return { Secrets: names(held.secrets), Configs: names(held.configs) };
  });
}

type Ref = SecretReference | ConfigReference;

function refName(kind: PayloadKind, r: Ref): string {
  return kind === 'secret' ? (r as SecretReference).SecretName : (r as ConfigReference).ConfigName;
}

function refId(kind: PayloadKind, r: Ref): string {
  return kind === 'secret' ? (r as SecretReference).SecretID : (r as ConfigReference).ConfigID;
}

/**
 * Resolves the secret and config references of a container spec inside a service's
 * writing transaction, in place: each is found by SecretID (which must name an object
 * of that name) or else by name, its ID filled in, its File given Docker's defaults
 * (target = the name, uid/gid "0", mode 0444). Unknown names are refused with Docker's
 * `secret not found: NAME` (400); two references to one target path with Docker's
 * conflicting-target message.
 */
export function resolvePayloadRefs(tx: WriteTx | ReadTx, c: ContainerSpec | undefined): void {
  if (!c) return;
  for (const kind of ['secret', 'config'] as const) {
    const list = (kind === 'secret' ? c.Secrets : c.Configs) as Ref[] | undefined;
    if (!list?.length) continue;
    const missing: string[] = [];
    const targets = new Map<string, string>();
    for (const [i, r] of list.entries()) {
      const field = `TaskTemplate.ContainerSpec.${kind === 'secret' ? 'Secrets' : 'Configs'}[${i}]`;
      checkRefExtras(field, r);
      const name = refName(kind, r);
      const id = refId(kind, r);
      const byId = id ? (tx.get(kind, id) as Payload | undefined) : undefined;
      const o = id ? (byId && byId.Spec.Name === name ? byId : undefined) : (tx.getByName(kind, name) as Payload | undefined);
      if (!o) {
        missing.push(name);
        continue;
      }
      r.File = fileWithDefaults(kind, field, name, r.File);
      if (kind === 'secret') (r as SecretReference).SecretID = o.ID;
      else (r as ConfigReference).ConfigID = o.ID;
      const path = targetPath(kind, r.File.Name);
      const prev = targets.get(path);
      if (prev !== undefined) throw new InvalidArgumentError(`rpc error: code = InvalidArgument desc = ${kind} references '${prev}' and '${name}' have a conflicting target: '${r.File.Name}'`);
      targets.set(path, name);
    }
    if (missing.length) throw new InvalidArgumentError(notFoundMessage(kind, missing));
  }
}
