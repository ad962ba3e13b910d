/**
 * `/services…` of the control API (Docker Engine API v1.41): create, list (filters id,
 * name, label, mode; `status=true` fills ServiceStatus), inspect by ID, name or prefix,
 * update (a new spec at a quoted version, 409 when stale; the old spec becomes PreviousSpec
 * and the updater rolls the tasks over; `rollback=previous` swaps Spec and PreviousSpec
 * and starts a rollback) and delete (no version quoted, so never "out of sequence"; its
 * tasks are then set to desired state `remove`, so their nodes stop and remove the
 * containers). Specs get Docker's defaults and are validated
 * before anything is proposed.
 */
import { randomInt } from 'node:crypto';
import type { Router } from '../../common/router.ts';
import { sendJson } from '../../common/router.ts';
import { ConflictError, InvalidArgumentError } from '../../api/errors.ts';
import type { Service, ServiceSpec, ServiceStatus } from '../../api/types/service.ts';
import type { Task } from '../../api/types/task.ts';
import { modeKind, serviceSpecOfBody, validateServiceSpec, withServiceDefaults } from '../../api/spec/service-spec.ts';
import { withDesiredState } from '../../common/task-state.ts';
import { manualRollback } from '../../manager/orchestrator/updater.ts';
import { nextJobStatus } from '../../manager/orchestrator/replicated-job.ts';
import { filterValues, findService, matchLabels, readBarrier, requireManager, requireVersion, resolveService, type SwarmRef } from './lookup.ts';
import type { WriteTx } from '../../store/index.ts';
import { resolveNetwork } from './networks.ts';
import { checkPublishedPorts } from '../../manager/allocator/index.ts';
import { resolvePayloadRefs } from './secrets.ts';
import { addServicePromoteRoute } from './services-promote.ts';

const ADJECTIVES = ['brave', 'calm', 'eager', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nimble', 'quiet', 'swift'];
const NOUNS = ['bass', 'carp', 'dace', 'eel', 'goby', 'hake', 'ide', 'koi', 'ling', 'perch', 'roach', 'shad'];

/** A name for a service created without one (Docker picks `adjective_surname`). */
function randomName(): string {
  const pick = (a: string[]) => a[randomInt(a.length)];
  return `${pick(ADJECTIVES)}_${pick(NOUNS)}${randomInt(100)}`;
}

function specFromBody(body: ServiceSpec | undefined, named = false): ServiceSpec {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InvalidArgumentError('invalid ServiceSpec: body must be a ServiceSpec object');
  const spec = withServiceDefaults(serviceSpecOfBody(body));
  if (named && !spec.Name) spec.Name = randomName();
  validateServiceSpec(spec);
  return spec;
}

/**
 * Checks what a spec refers to in the store, inside the writing transaction: every
 * attached network (TaskTemplate.Networks, and the deprecated Spec.Networks) named by
 * ID, name or ID prefix is stored by its full ID; unknown → 404; the ingress network
 * cannot be attached explicitly (Docker's rule: published ports attach it); published
 * ports must not clash with another service's (the allocator's check). Returns the spec
 * to store; `spec` is not modified.
 */
function resolveReferences(tx: WriteTx, spec: ServiceSpec, serviceId: string | undefined): ServiceSpec {
  const out = structuredClone(spec);
  if (out.Networks?.length && out.TaskTemplate.Networks?.length) {
    throw new InvalidArgumentError('invalid ServiceSpec: networks may be given in TaskTemplate.Networks or in the deprecated Networks, not in both');
  }
  for (const [field, list] of [['TaskTemplate.Networks', out.TaskTemplate.Networks], ['Networks', out.Networks]] as const) {
    const seen = new Set<string>();
    for (const att of list ?? []) {
      const n = resolveNetwork(tx, att.Target);
      if (n.Spec.Ingress) throw new InvalidArgumentError(`rpc error: code = InvalidArgument desc = Service cannot be explicitly attached to the ingress network "${n.Spec.Name}"`);
      if (seen.has(n.ID)) throw new InvalidArgumentError(`invalid ServiceSpec: ${field}: network "${n.Spec.Name}" attached more than once`);
      seen.add(n.ID);
      att.Target = n.ID;
    }
  }
  checkPublishedPorts(tx.list('service'), serviceId, out.EndpointSpec);
  resolvePayloadRefs(tx, out.TaskTemplate.ContainerSpec);
  return out;
}

/** Running and desired task counts, as `docker service ls` shows them. */
export function serviceStatus(service: Service, tasks: readonly Task[]): ServiceStatus {
  const kind = modeKind(service.Spec.Mode);
  const running = tasks.filter((t) => t.Status.State === 'running' && t.DesiredState === 'running').length;
  const completed = tasks.filter((t) => t.Status.State === 'complete').length;
  let desired: number;
  if (kind === 'replicated') desired = service.Spec.Mode?.Replicated?.Replicas ?? 0;
  else if (kind === 'replicated-job') desired = service.Spec.Mode?.ReplicatedJob?.MaxConcurrent ?? 0;
  else desired = tasks.filter((t) => t.DesiredState === 'running' || t.DesiredState === 'complete').length;
  return { RunningTasks: running, DesiredTasks: desired, CompletedTasks: completed };
}

function matches(s: Service, filters: Map<string, string[]>): boolean {
  const ids = filters.get('id');
  if (ids && !ids.some((p) => s.ID.startsWith(p))) return false;
  const names = filters.get('name');
  if (names && !names.some((p) => s.Spec.Name.startsWith(p))) return false;
  const labels = filters.get('label');
  if (labels && !matchLabels(s.Spec.Labels, labels)) return false;
  const modes = filters.get('mode');
  if (modes && !modes.includes(modeKind(s.Spec.Mode))) return false;
  return true;
}

export function addServiceRoutes(router: Router, swarm: SwarmRef): void {
  addServicePromoteRoute(router, swarm); // Shoal extension: promote a canary
  router.post('/services/create', async (ctx) => {
    const manager = requireManager(swarm);
    const spec = specFromBody(await ctx.body<ServiceSpec>(), true);
    const { value: created } = await manager.store.update((tx) => {
      if (tx.getByName('service', spec.Name)) throw new ConflictError(`rpc error: code = AlreadyExists desc = name conflicts with an existing object: service ${spec.Name} already exists`);
      const resolved = resolveReferences(tx, spec, undefined);
      // Endpoint.Ports and VirtualIPs are the allocator's to fill in.
      const jobStatus = nextJobStatus(resolved, undefined, Date.now());
      return tx.create('service', { Spec: resolved, Endpoint: { Spec: resolved.EndpointSpec ?? {} }, ...(jobStatus ? { JobStatus: jobStatus } : {}) });
    });
    sendJson(ctx.res, 201, { ID: created.ID });
  });

  router.get('/services', async (ctx) => {
    const manager = requireManager(swarm);
    const filters = filterValues(ctx.query);
    const withStatus = ctx.query.get('status') === 'true' || ctx.query.get('status') === '1';
    await readBarrier(manager, ctx.res);
    return manager.store.view((tx) =>
      tx.list('service', (s) => matches(s, filters)).map((s) => (withStatus ? { ...s, ServiceStatus: serviceStatus(s, tx.find('task', { serviceId: s.ID })) } : s)),
    );
  });

  router.get('/services/:id', async (ctx) => {
    const manager = requireManager(swarm);
    await readBarrier(manager, ctx.res);
    return resolveService(manager, ctx.params.id);
  });

  router.post('/services/:id/update', async (ctx) => {
    const manager = requireManager(swarm);
    const version = requireVersion(ctx.query);
    // registryAuthFrom (and X-Registry-Auth) only say where the client found registry
    // credentials; Shoal's nodes pull with their own, so both are read and left aside.
    const rollback = ctx.query.get('rollback') ?? '';
    if (rollback !== '' && rollback !== 'previous') throw new InvalidArgumentError(`invalid rollback "${rollback}": only "previous" is supported`);
    const body = await ctx.body<ServiceSpec>();
    const spec = rollback ? undefined : specFromBody(body);
    await manager.store.update((tx) => {
      // Looked up in the transaction: the store confirms a 404 after a read barrier.
      const current = findService(tx, ctx.params.id);
      // Docker's optimistic concurrency: the update quotes the version it read.
      if (current.Version.Index !== version) throw new ConflictError('rpc error: code = Unknown desc = update out of sequence');
      if (!spec) {
        const back = manualRollback(current, Date.now());
        if (!back) throw new InvalidArgumentError(`rpc error: code = FailedPrecondition desc = service ${current.ID} does not have a previous spec`);
        tx.update('service', back);
        return;
      }
      if (spec.Name !== current.Spec.Name) throw new InvalidArgumentError('rpc error: code = Unimplemented desc = renaming services is not supported');
      if (modeKind(spec.Mode) !== modeKind(current.Spec.Mode)) throw new InvalidArgumentError('rpc error: code = Unimplemented desc = service mode change is not allowed');
      const next = structuredClone(current);
      const resolved = resolveReferences(tx, spec, current.ID);
      next.PreviousSpec = current.Spec;
      next.Spec = resolved;
      next.Endpoint = { ...(next.Endpoint ?? {}), Spec: resolved.EndpointSpec ?? {} };
      // A new spec starts a new update (a paused one resumes towards it), as SwarmKit.
      delete next.UpdateStatus;
      // A job runs again with every update: a new iteration (SwarmKit's JobStatus).
      const jobStatus = nextJobStatus(resolved, current, Date.now());
      if (jobStatus) next.JobStatus = jobStatus;
      tx.update('service', next);
    });
    return { Warnings: [] };
  });

  router.delete('/services/:id', async (ctx) => {
    const manager = requireManager(swarm);
    // The service is read inside the transaction (the store confirms a 404 after a read
    // barrier) and removed without quoting a version, so a controller's write committed
    // meanwhile (the allocator, right after a create) is no conflict: the removal cannot lose a race.
    const { value: ID } = await manager.store.update((tx) => {
      const { ID } = findService(tx, ctx.params.id);
      tx.delete('service', ID);
      return ID;
    });
    // Its tasks are the orchestrator's, which sets them to desired state `remove` on the
    // deletion (SwarmKit's split). Done here too, so that once this returns a task that
    // never reached a node no longer holds its networks; if an agent's report of one of
    // them wins the race, the orchestrator's pass does it instead.
    await manager.store.update((tx) => {
      for (const t of tx.find('task', { serviceId: ID })) {
        if (t.DesiredState !== 'remove') tx.update('task', withDesiredState(t, 'remove'));
      }
    }).catch(() => {});
    ctx.res.writeHead(200).end();
  });
}
