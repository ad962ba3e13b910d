/**
 * `stack deploy` against the API, in docker's order and with docker's messages:
 * prune (with --prune), networks (created when missing; external ones must exist),
 * secrets and configs (created, or their labels updated), then services (created, or
 * updated at their current version so the orchestrator rolls them).
 */
import type { ServiceSpec } from '../../../src/api/types/service.ts';
import type { StackPlan } from '../../compose/convert.ts';
import { LABEL_IMAGE } from '../../compose/convert-service.ts';
import { stackFilters, type StackApi } from './stack-api.ts';

/** How images are resolved on update (docker's --resolve-image). */
export type ResolveImage = 'always' | 'changed' | 'never';

/** The calls a deploy makes (StackApi; a fake in tests). */
export type DeployApi = Pick<StackApi, 'services' | 'remove' | 'networks' | 'network' | 'createNetwork' | 'payload' | 'createPayload' | 'updatePayload' | 'createService' | 'updateService'>;

/** What a deploy prints: progress lines (stdout) and warnings (stderr). */
export interface DeployOptions {
  prune: boolean;
  resolveImage: ResolveImage;
  log: (line: string) => void;
  warn: (text: string) => void;
}

/**
 * Docker's warning when an image's digest cannot be recorded. Shoal has no registry
 * lookup on the managers yet, so it is printed whenever docker would have asked.
 */
export function digestWarning(image: string): string {
  return `image ${image} could not be accessed on a registry to record\nits digest. Each node will access ${image} independently,\npossibly leading to different nodes running different\nversions of the image.\n`;
}

/** The services a deploy touched, by ID (for waiting on them with --detach=false). */
export interface DeployResult {
  created: { id: string; name: string }[];
  updated: { id: string; name: string }[];
}

/** Deploys `plan`. Throws on the first failure, as docker does. */
export async function deployStack(api: DeployApi, plan: StackPlan, opts: DeployOptions): Promise<DeployResult> {
  const result: DeployResult = { created: [], updated: [] };
  const { stack } = plan;
  const { log } = opts;
  const warned = new Set<string>();
  const unresolved = (image: string) => {
    if (!warned.has(image)) opts.warn(digestWarning(image));
    warned.add(image);
  };
  const existing = await api.services(stackFilters(stack));
  if (opts.prune) {
    const wanted = new Set(plan.services.map((s) => s.spec.Name));
    for (const s of existing.filter((x) => !wanted.has(x.Spec.Name)).sort((a, b) => a.Spec.Name.localeCompare(b.Spec.Name))) {
      log(`Removing service ${s.Spec.Name}`);
      await api.remove('service', s.ID);
    }
  }

  const ours = new Set((await api.networks(stackFilters(stack))).map((n) => n.Name));
  for (const n of plan.networks) {
    if (n.external) {
      const found = await api.network(n.name);
      if (!found) throw new Error(`network "${n.name}" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed`);
      if (found.Scope !== 'swarm') throw new Error(`network "${n.name}" is declared as external, but it is not in the right scope: "${found.Scope}" instead of "swarm"`);
      continue;
    }
    if (ours.has(n.name)) continue;
    log(`Creating network ${n.name}`);
    await api.createNetwork(n.body!);
  }

  const ids = { secret: new Map<string, string>(), config: new Map<string, string>() };
  for (const [kind, list] of [['secret', plan.secrets], ['config', plan.configs]] as const) {
    for (const p of list) {
      const found = await api.payload(kind, p.name);
      if (p.external) {
        if (!found) throw new Error(`${kind} not found: ${p.name}`);
        ids[kind].set(p.name, found.ID);
        continue;
      }
      const spec = { Name: p.name, Labels: p.labels, Data: p.data!.toString('base64'), ...(p.templateDriver ? { Templating: { Name: p.templateDriver } } : {}) };
      if (found) {
        log(`Updating ${kind} ${p.name}`);
        await api.updatePayload(kind, found, spec);
        ids[kind].set(p.name, found.ID);
      } else {
        log(`Creating ${kind} ${p.name}`);
        ids[kind].set(p.name, await api.createPayload(kind, spec));
      }
    }
  }

  const byName = new Map(existing.map((s) => [s.Spec.Name, s]));
  for (const { spec: planned } of plan.services) {
    const spec = withIds(planned, ids);
    const current = byName.get(spec.Name!);
    if (!current) {
      log(`Creating service ${spec.Name}`);
      if (opts.resolveImage !== 'never') unresolved(spec.TaskTemplate.ContainerSpec.Image);
      result.created.push({ id: await api.createService(spec), name: spec.Name! });
      continue;
    }
    log(`Updating service ${spec.Name} (id: ${current.ID})`);
    // As docker: an unchanged image keeps the image the service runs (no needless restart).
    const unchanged = current.Spec.Labels?.[LABEL_IMAGE] === spec.TaskTemplate.ContainerSpec.Image;
    if (opts.resolveImage === 'changed' && unchanged) {
      spec.TaskTemplate.ContainerSpec.Image = current.Spec.TaskTemplate.ContainerSpec.Image;
    } else if (opts.resolveImage !== 'never') {
      unresolved(spec.TaskTemplate.ContainerSpec.Image);
    }
    // A redeploy must not undo `service update --force`.
    if (current.Spec.TaskTemplate.ForceUpdate !== undefined) spec.TaskTemplate.ForceUpdate = current.Spec.TaskTemplate.ForceUpdate;
    await api.updateService(current, spec);
    result.updated.push({ id: current.ID, name: spec.Name! });
  }
  return result;
}

/** The spec with the IDs of the secrets and configs it names. */
function withIds(spec: ServiceSpec, ids: { secret: Map<string, string>; config: Map<string, string> }): ServiceSpec {
  const out = structuredClone(spec);
  const c = out.TaskTemplate.ContainerSpec;
  for (const s of c.Secrets ?? []) s.SecretID = ids.secret.get(s.SecretName) ?? '';
  for (const s of c.Configs ?? []) s.ConfigID = ids.config.get(s.ConfigName) ?? '';
  return out;
}
