/**
 * `POST /secrets/{id}/rotate` and `POST /configs/{id}/rotate` (a Shoal extension, beyond
 * Swarm: moby#35803): new data under the same name, without renaming. Body `{Data}`
 * (base64, the limits of create). In one transaction:
 *
 *   - the current object is retired: renamed `NAME@vN` (a name no user can give),
 *     `RetiredFrom: NAME`, kept while tasks still mount it;
 *   - a new object named NAME holds the new data, with `Versions` (every version so far);
 *   - every service referencing the old ID is pointed at the new one (a new spec, so the
 *     updater rolls its tasks with the service's own update config: order, parallelism,
 *     health gate, failure action and rollback).
 *
 * Answers `{ID, Version, Services}`. The retired object is deleted by the leader's
 * `PayloadGcController` once no service or live task refers to it.
 */
import type { Router } from '../../common/router.ts';
import { sendJson } from '../../common/router.ts';
import { InvalidArgumentError } from '../../api/errors.ts';
import type { Config, PayloadVersion, Secret } from '../../api/types/secret-config.ts';
import type { Service } from '../../api/types/service.ts';
import { configSpecFromBody, secretSpecFromBody, type PayloadKind } from '../../api/spec/secret-spec.ts';
import type { WriteTx } from '../../store/index.ts';
import { requireManager, type SwarmRef } from './lookup.ts';

type Payload = Secret | Config;

/** The answer of a rotation. */
export interface RotateResponse {
  ID: string;
  Version: number;
  /** Names of the services that now roll onto the new version. */
  Services: string[];
}

/** The name a retired version is kept under. */
export function retiredName(name: string, version: number): string {
  return `${name}@v${version}`;
}

/** `service` with every reference to `from` pointed at `to` (undefined when it has none). */
export function repointService(kind: PayloadKind, service: Service, from: string, to: string): Service | undefined {
  const c = service.Spec.TaskTemplate.ContainerSpec;
  const refs = kind === 'secret' ? c?.Secrets : c?.Configs;
  if (!refs?.some((r) => (kind === 'secret' ? (r as { SecretID: string }).SecretID : (r as { ConfigID: string }).ConfigID) === from)) return undefined;
  const next = structuredClone(service);
  const nc = next.Spec.TaskTemplate.ContainerSpec!;
  if (kind === 'secret') nc.Secrets = nc.Secrets!.map((r) => (r.SecretID === from ? { ...r, SecretID: to } : r));
  else nc.Configs = nc.Configs!.map((r) => (r.ConfigID === from ? { ...r, ConfigID: to } : r));
  next.PreviousSpec = service.Spec;
  // A new spec starts a new update, as `service update` does.
  delete next.UpdateStatus;
  return next;
}

/** The rotation inside `tx`; `data` is the new base64 data. */
export function rotatePayload(tx: WriteTx, kind: PayloadKind, current: Payload, data: string, now: Date): RotateResponse {
  if (current.RetiredFrom) throw new InvalidArgumentError(`${kind} ${current.ID} is a retired version of ${current.RetiredFrom}: rotate ${current.RetiredFrom}`);
  const name = current.Spec.Name;
  // The spec checks of create: name, size limits, base64, templating.
  const body = { Name: name, Labels: current.Spec.Labels, Data: data, ...(current.Spec.Templating ? { Templating: current.Spec.Templating } : {}) };
  const spec = kind === 'secret' ? secretSpecFromBody(body) : configSpecFromBody(body);
  const versions: PayloadVersion[] = current.Versions?.length ? current.Versions : [{ Version: 1, ID: current.ID, CreatedAt: current.CreatedAt }];
  const version = versions[versions.length - 1].Version + 1;
  const { Versions: _v, ...rest } = current;
  tx.update(kind, { ...rest, Spec: { ...current.Spec, Name: retiredName(name, version - 1) }, RetiredFrom: name } as never);
  const created = tx.create(kind, { Spec: spec } as never) as Payload;
  const all = [...versions, { Version: version, ID: created.ID, CreatedAt: created.CreatedAt ?? now.toISOString() }];
  tx.update(kind, { ...created, Versions: all } as never);
  const services: string[] = [];
  for (const s of tx.list('service')) {
    const next = repointService(kind, s, current.ID, created.ID);
    if (!next) continue;
    tx.update('service', next);
    services.push(s.Spec.Name);
  }
  return { ID: created.ID, Version: version, Services: services.sort() };
}

/** Adds `POST /KINDs/{id}/rotate`. */
export function addRotateRoute(router: Router, swarm: SwarmRef, kind: PayloadKind, resolve: (tx: WriteTx, ref: string) => Payload): void {
  router.post(`/${kind}s/:id/rotate`, async (ctx) => {
    const manager = requireManager(swarm);
    const raw = await ctx.rawBody(4 * 1024 * 1024);
    let body: { Data?: unknown };
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new InvalidArgumentError('invalid JSON body');
    }
    if (!body || typeof body.Data !== 'string') throw new InvalidArgumentError(`invalid ${kind} rotation: Data must be the new data in base64`);
    const data = body.Data;
    const { value } = await manager.store.update((tx) => rotatePayload(tx, kind, resolve(tx, ctx.params.id), data, new Date()));
    sendJson(ctx.res, 200, value);
  });
}
