/**
 * From a Swarm task to what the executor runs: the task's `ContainerSpec` with its
 * templates expanded (`{{.Service.Name}}`, `{{.Task.Slot}}`, `{{.Node.Hostname}}`, …)
 * and Docker's units (nanoseconds) turned into the executor's (milliseconds). Pure.
 * Secrets and configs are not mapped yet: their payloads do not travel to agents yet.
 */
import type { Node } from '../api/types/node.ts';
import type { Service } from '../api/types/service.ts';
import type { Task } from '../api/types/task.ts';
import { expandContainerSpec, templateContext } from '../api/spec/template.ts';
import type { TaskContainerSpec, TaskMount } from './exec/types.ts';

const NS_PER_MS = 1e6;

/** The executor's spec for `task` on `node`. Throws `TemplateError` for a bad template. */
export function containerSpecOf(task: Task, node: Pick<Node, 'ID' | 'Description'>): TaskContainerSpec {
  const service = {
    ID: task.ServiceID,
    Spec: { Name: task.ServiceAnnotations?.Name ?? '', Labels: task.ServiceAnnotations?.Labels ?? {}, TaskTemplate: task.Spec },
  } as Pick<Service, 'ID' | 'Spec'>;
  const c = expandContainerSpec(task.Spec.ContainerSpec, templateContext(service, task, node));
  const out: TaskContainerSpec = { taskId: task.ID, image: c.Image };
  if (c.Command?.length) out.command = [...c.Command];
  if (c.Args?.length) out.args = [...c.Args];
  if (c.Env?.length) out.env = [...c.Env];
  if (c.User) out.user = c.User;
  if (c.Dir) out.dir = c.Dir;
  if (c.Hostname) out.hostname = c.Hostname;
  if (c.ReadOnly) out.readOnly = true;
  if (c.CapabilityAdd?.length) out.capAdd = [...c.CapabilityAdd];
  if (c.CapabilityDrop?.length) out.capDrop = [...c.CapabilityDrop];
  const pv = c.Privileges;
  if (pv?.Privileged) out.privileged = true;
  if (pv?.Seccomp?.Mode === 'unconfined') out.seccompMode = 'unconfined';
  if (pv?.Seccomp?.Mode === 'custom') { out.seccompMode = 'custom'; out.seccompProfile = pv.Seccomp.Profile ?? ''; }
  if (pv?.AppArmor?.Mode === 'disabled') out.apparmorMode = 'disabled';
  if (pv?.NoNewPrivileges) out.noNewPrivileges = true;
  if (c.Sysctls && Object.keys(c.Sysctls).length) out.sysctls = { ...c.Sysctls };
  if (c.Ulimits?.length) out.ulimits = c.Ulimits.map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard }));
  if (c.Hosts?.length) out.hosts = [...c.Hosts];
  if (c.Devices?.length) out.devices = c.Devices.map((d) => ({ hostPath: d.PathOnHost, containerPath: d.PathInContainer || d.PathOnHost, permissions: d.CgroupPermissions || 'rwm' }));
  if (c.ShmSize) out.shmSize = c.ShmSize;
  if (c.Init) out.init = true;
  out.labels = {
    ...(c.Labels ?? {}),
    'com.docker.swarm.task.id': task.ID,
    'com.docker.swarm.service.id': task.ServiceID,
    'com.docker.swarm.node.id': node.ID,
    ...(task.ServiceAnnotations?.Name ? { 'com.docker.swarm.service.name': task.ServiceAnnotations.Name } : {}),
  };
  if (c.Mounts?.length) out.mounts = c.Mounts.map(mountOf);
  const limits = task.Spec.Resources?.Limits;
  if (limits && (limits.NanoCPUs || limits.MemoryBytes || limits.Pids)) {
    out.resources = {
      ...(limits.NanoCPUs ? { nanoCpus: limits.NanoCPUs } : {}),
      ...(limits.MemoryBytes ? { memoryBytes: limits.MemoryBytes } : {}),
      ...(limits.Pids ? { pidsLimit: limits.Pids } : {}),
    };
  }
  if (c.StopSignal) out.stopSignal = c.StopSignal;
  if (c.StopGracePeriod !== undefined) out.stopGracePeriodMs = Math.round(c.StopGracePeriod / NS_PER_MS);
  const h = c.Healthcheck;
  if (h?.Test?.length) {
    out.healthcheck = {
      test: [...h.Test],
      ...(h.Interval ? { intervalMs: h.Interval / NS_PER_MS } : {}),
      ...(h.Timeout ? { timeoutMs: h.Timeout / NS_PER_MS } : {}),
      ...(h.Retries ? { retries: h.Retries } : {}),
      ...(h.StartPeriod ? { startPeriodMs: h.StartPeriod / NS_PER_MS } : {}),
    };
  }
  // Created while the data plane wires the task's netns: start is then only `runc start`.
  out.createEarly = true;
  return out;
}

function mountOf(m: NonNullable<Task['Spec']['ContainerSpec']['Mounts']>[number]): TaskMount {
  const out: TaskMount = { type: m.Type, target: m.Target };
  if (m.Source) out.source = m.Source;
  if (m.ReadOnly) out.readOnly = true;
  if (m.TmpfsOptions?.SizeBytes) out.tmpfsSize = m.TmpfsOptions.SizeBytes;
  if (m.TmpfsOptions?.Mode) out.tmpfsMode = m.TmpfsOptions.Mode;
  if (m.VolumeOptions?.Labels && Object.keys(m.VolumeOptions.Labels).length) out.volumeLabels = { ...m.VolumeOptions.Labels };
  if (m.VolumeOptions?.NoCopy) out.volumeNoCopy = true;
  if (m.VolumeOptions?.DriverConfig?.Options && Object.keys(m.VolumeOptions.DriverConfig.Options).length) out.volumeDriverOptions = { ...m.VolumeOptions.DriverConfig.Options };
  return out;
}
