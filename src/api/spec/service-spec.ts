/**
 * Docker's defaults for a ServiceSpec (SwarmKit `api/defaults`, plus what the docker CLI
 * fills in) and the validation a spec passes before it is proposed. Both are pure.
 */
import { ApiError, InvalidArgumentError } from '../errors.ts';
import type { ServiceMode, ServiceSpec, UpdateConfig } from '../types/service.ts';
import { validateServiceSpecFields } from './validate.ts';
import { updatePolicyOf, UpdatePolicyError } from './update-policy.ts';
import { autoscalePolicyOf, AutoscalePolicyError, checkAutoscaleBasis } from './autoscale-policy.ts';
import { checkRebalanceLabel } from './rebalance-policy.ts';
import { checkMeshTrafficPolicyLabel } from './mesh-traffic-policy.ts';
import { checkShape, normalizeNulls } from './shape.ts';

/** Nanoseconds per second, the unit Docker's API uses for durations. */
export const SECOND_NS = 1_000_000_000;

/** Docker's defaults: restart any after 5 s; stop grace 10 s; update/rollback one at a time, pause on failure, monitor 5 s, stop-first. */
export const DEFAULTS = {
  replicas: 1,
  restartCondition: 'any',
  /** Jobs restart on failure only (docker CLI default for job modes). */
  jobRestartCondition: 'on-failure',
  restartDelayNs: 5 * SECOND_NS,
  stopGracePeriodNs: 10 * SECOND_NS,
  update: { Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5 * SECOND_NS, MaxFailureRatio: 0, Order: 'stop-first' } as Required<UpdateConfig>,
  endpointMode: 'vip',
  maxConcurrent: 1,
  /** Docker's TaskHistoryRetentionLimit default: tasks kept per slot (or per node for global services). */
  taskHistoryRetention: 5,
} as const;

/** Which of the four modes a spec uses (replicated when none is given). */
export type ModeKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

/** The mode of `spec`; a spec without a mode is replicated, as in Docker. */
export function modeKind(mode: ServiceMode | undefined): ModeKind {
  if (mode?.Global) return 'global';
  if (mode?.ReplicatedJob) return 'replicated-job';
  if (mode?.GlobalJob) return 'global-job';
  return 'replicated';
}

/** Whether the mode runs tasks to completion (jobs) rather than keeping them running. */
export function isJob(kind: ModeKind): boolean {
  return kind === 'replicated-job' || kind === 'global-job';
}

/**
 * Returns a copy of `spec` with Docker's defaults filled in where a field is absent.
 * Fields that are present are kept as given (even zero). Jobs get no UpdateConfig or
 * RollbackConfig and restart on failure by default. The input is not modified.
 */
export function withServiceDefaults(spec: ServiceSpec): ServiceSpec {
  const s = structuredClone(spec);
  s.Labels ??= {};
  const kind = modeKind(s.Mode);
  if (!s.Mode || Object.keys(s.Mode).length === 0) s.Mode = { Replicated: { Replicas: DEFAULTS.replicas } };
  if (s.Mode.Replicated) s.Mode.Replicated.Replicas ??= DEFAULTS.replicas;
  if (s.Mode.ReplicatedJob) {
    const j = s.Mode.ReplicatedJob;
    j.MaxConcurrent ??= DEFAULTS.maxConcurrent;
    j.TotalCompletions ??= j.MaxConcurrent;
  }
  const t = (s.TaskTemplate ??= { ContainerSpec: { Image: '' } });
  t.ContainerSpec ??= { Image: '' };
  t.ContainerSpec.StopGracePeriod ??= DEFAULTS.stopGracePeriodNs;
  t.Resources ??= {};
  const r = (t.RestartPolicy ??= {});
  r.Condition ??= isJob(kind) ? DEFAULTS.jobRestartCondition : DEFAULTS.restartCondition;
  r.Delay ??= DEFAULTS.restartDelayNs;
  r.MaxAttempts ??= 0;
  r.Window ??= 0;
  t.Placement ??= {};
  t.ForceUpdate ??= 0;
  if (!isJob(kind)) {
    s.UpdateConfig = { ...DEFAULTS.update, ...s.UpdateConfig };
    s.RollbackConfig = { ...DEFAULTS.update, ...s.RollbackConfig };
    // Docker's clients send "" for an unset FailureAction or Order (docker stack deploy
    // does); Docker reads it as the default.
    for (const u of [s.UpdateConfig, s.RollbackConfig]) {
      if ((u.FailureAction as string) === '') u.FailureAction = DEFAULTS.update.FailureAction;
      if ((u.Order as string) === '') u.Order = DEFAULTS.update.Order;
    }
  }
  s.EndpointSpec ??= {};
  s.EndpointSpec.Mode ??= DEFAULTS.endpointMode;
  for (const p of s.EndpointSpec.Ports ?? []) {
    p.Protocol ??= 'tcp';
    p.PublishMode ??= 'ingress';
  }
  return s;
}

/**
 * Checks `spec` and throws {@link InvalidArgumentError} naming the first bad field:
 * `invalid ServiceSpec: TaskTemplate.ContainerSpec.Image: must not be empty`.
 * Accepts specs with or without defaults applied. Returns nothing on success.
 */
export function validateServiceSpec(spec: ServiceSpec): void {
  const problem = validateServiceSpecFields(spec);
  if (!problem) {
    // Shoal's update strategies (com.shoal.update.* labels): a bad one is refused, never ignored.
    try {
      updatePolicyOf(spec.Labels);
    } catch (err) {
      if (err instanceof UpdatePolicyError) throw new InvalidArgumentError(`invalid ServiceSpec: Labels: ${err.message}`);
      throw err;
    }
    // Shoal's autoscaling (com.shoal.autoscale.* labels): replicated services only, valid settings only.
    try {
      const autoscale = autoscalePolicyOf(spec.Labels);
      if (autoscale && !spec.Mode?.Replicated) throw new AutoscalePolicyError('com.shoal.autoscale.*: only replicated services are autoscaled');
      if (autoscale) checkAutoscaleBasis(autoscale, spec.TaskTemplate?.Resources);
    } catch (err) {
      if (err instanceof AutoscalePolicyError) throw new InvalidArgumentError(`invalid ServiceSpec: Labels: ${err.message}`);
      throw err;
    }
    const rebalance = checkRebalanceLabel(spec.Labels);
    if (rebalance) throw new InvalidArgumentError(`invalid ServiceSpec: Labels: ${rebalance}`);
    const meshPolicy = checkMeshTrafficPolicyLabel(spec.Labels);
    if (meshPolicy) throw new InvalidArgumentError(`invalid ServiceSpec: Labels: ${meshPolicy}`);
    return;
  }
  const message = `invalid ServiceSpec: ${problem.field}: ${problem.reason}`;
  throw problem.status === 501 ? new ApiError(message, 501) : new InvalidArgumentError(message);
}

/**
 * A request body as a ServiceSpec, before defaults are applied: its JSON types are
 * checked (400 naming the field) and fields Shoal does not implement are refused (501),
 * then null fields are dropped (Go reads null as absent). The input is not modified.
 */
export function serviceSpecOfBody(body: unknown): ServiceSpec {
  const problem = checkShape('ServiceSpec', body);
  if (problem) {
    const message = `invalid ServiceSpec: ${problem.field}: ${problem.reason}`;
    throw problem.status === 501 ? new ApiError(message, 501) : new InvalidArgumentError(message);
  }
  return normalizeNulls(body as ServiceSpec);
}
