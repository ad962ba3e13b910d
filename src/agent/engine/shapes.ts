/**
 * Docker Engine API v1.41 shapes of a task container: `ContainerSummary` (`docker ps`)
 * and `ContainerJSON` (`docker inspect`). Pure: values in, values out.
 */
import type { TaskMount } from '../exec/types.ts';
import { containerLabels, containerName, dockerState, statusText, type ContainerView } from './view.ts';

/** `sha256:…` as Docker writes image IDs. */
function imageId(id: string | undefined): string {
  if (!id) return '';
  return id.startsWith('sha256:') ? id : `sha256:${id}`;
}

function shellJoin(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

/** Docker's MountPoint of one task mount. */
export function mountPoint(m: TaskMount, volumePath: (name: string) => string): Record<string, unknown> {
  const rw = !m.readOnly;
  if (m.type === 'volume') {
    return { Type: 'volume', Name: m.source ?? '', Source: volumePath(m.source ?? ''), Destination: m.target, Driver: 'local', Mode: 'z', RW: rw, Propagation: '' };
  }
  if (m.type === 'tmpfs') return { Type: 'tmpfs', Source: '', Destination: m.target, Mode: '', RW: rw, Propagation: '' };
  return { Type: 'bind', Source: m.source ?? '', Destination: m.target, Mode: '', RW: rw, Propagation: 'rprivate' };
}

/** The task's overlay endpoints in Docker's `EndpointSettings` shape, keyed by network name. */
export function endpoints(v: ContainerView): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const a of v.task?.NetworksAttachments ?? []) {
    const [ip, len] = (a.Addresses[0] ?? '').split('/');
    out[a.Network.Spec.Name] = {
      IPAMConfig: ip ? { IPv4Address: ip } : null, Links: null,
      Aliases: [...(a.Aliases ?? []), v.spec.taskId.slice(0, 12)], NetworkID: a.Network.ID, EndpointID: '',
      Gateway: '', IPAddress: ip ?? '', IPPrefixLen: len ? Number(len) : 0, IPv6Gateway: '', GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null,
    };
  }
  return out;
}

/** `docker ps`'s row of one container. `sizes`: SizeRw and SizeRootFs when `size=true` was asked. */
export function summaryOf(v: ContainerView, now: number, sizes?: { rw: number; rootFs: number }): Record<string, unknown> {
  const args = v.process?.args ?? [];
  const mounts = (v.spec.mounts ?? []).map((m) => mountPoint(m, (n) => n));
  return {
    Id: v.cid,
    Names: [`/${containerName(v)}`],
    Image: v.spec.image,
    ImageID: imageId(v.record?.imageId),
    Command: shellJoin(args),
    Created: Math.floor(Date.parse(v.record?.createdAt ?? new Date(now).toISOString()) / 1000),
    Ports: [],
    ...(sizes ? { SizeRw: sizes.rw, SizeRootFs: sizes.rootFs } : {}),
    Labels: containerLabels(v),
    State: dockerState(v.state),
    Status: statusText(v, now),
    HostConfig: { NetworkMode: 'default' },
    NetworkSettings: { Networks: endpoints(v) },
    Mounts: mounts,
  };
}

/** `docker inspect`'s document of one container. */
export function inspectOf(v: ContainerView, volumePath: (name: string) => string): Record<string, unknown> {
  const r = v.record;
  const s = v.spec;
  const p = v.process;
  const state = dockerState(v.state);
  const exit = r?.exit;
  const zero = '0001-01-01T00:00:00Z';
  const res = s.resources ?? {};
  const health = v.health ? { Status: v.health.status, FailingStreak: v.health.failingStreak, Log: [] } : undefined;
  const user = s.user ?? r?.image.User ?? '';
  return {
    Id: v.cid,
    Created: r?.createdAt ?? zero,
    Path: p?.args[0] ?? '',
    Args: p?.args.slice(1) ?? [],
    State: {
      Status: state, Running: state === 'running', Paused: false, Restarting: false,
      OOMKilled: exit?.oomKilled ?? false, Dead: false, Pid: state === 'running' ? r?.pid ?? 0 : 0,
      ExitCode: exit?.exitCode ?? 0, Error: '', StartedAt: r?.startedAt ?? zero, FinishedAt: r?.finishedAt ?? zero,
      ...(health ? { Health: health } : {}),
    },
    Image: imageId(r?.imageId),
    ResolvConfPath: v.paths.resolvConf, HostnamePath: v.paths.hostname, HostsPath: v.paths.hosts, LogPath: v.paths.logFile,
    Name: `/${containerName(v)}`,
    RestartCount: 0, Driver: 'overlay2', Platform: 'linux', MountLabel: '', ProcessLabel: '',
    AppArmorProfile: p?.apparmorProfile ?? '',
    ExecIDs: v.execIds.length ? v.execIds : null,
    HostConfig: {
      Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: 'default', PortBindings: {},
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: '', VolumesFrom: null,
      CapAdd: s.capAdd ?? null, CapDrop: s.capDrop ?? null, CgroupnsMode: 'private', Dns: null, DnsOptions: null, DnsSearch: null,
      ExtraHosts: s.hosts ?? null, GroupAdd: null, IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '',
      Privileged: !!s.privileged, PublishAllPorts: false, ReadonlyRootfs: !!s.readOnly,
      SecurityOpt: s.seccompMode === 'unconfined' ? ['seccomp=unconfined'] : null, UTSMode: '', UsernsMode: '', ShmSize: 67108864,
      Runtime: 'runc', Isolation: '', CpuShares: 0, Memory: res.memoryBytes ?? 0, NanoCpus: res.nanoCpus ?? 0,
      CgroupParent: r?.cgroup ? r.cgroup.slice(0, r.cgroup.lastIndexOf('/')) : '', PidsLimit: res.pidsLimit ?? null,
      Ulimits: s.ulimits?.map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard })) ?? null,
      Sysctls: s.sysctls ?? undefined, Init: false,
      Mounts: (s.mounts ?? []).map((m) => ({ Type: m.type, Source: m.source ?? '', Target: m.target, ReadOnly: !!m.readOnly })),
      MaskedPaths: null, ReadonlyPaths: null,
    },
    GraphDriver: { Name: 'overlay2', Data: { MergedDir: v.paths.rootfs, UpperDir: v.paths.upper, WorkDir: v.paths.work } },
    Mounts: (s.mounts ?? []).map((m) => mountPoint(m, volumePath)),
    Config: {
      Hostname: s.hostname || v.cid.slice(0, 12), Domainname: '', User: user,
      AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false, StdinOnce: false,
      Env: p?.env ?? s.env ?? [],
      Cmd: s.args ?? r?.image.Cmd ?? null,
      ...(health && s.healthcheck ? { Healthcheck: { Test: s.healthcheck.test } } : {}),
      Image: s.image, Volumes: null, WorkingDir: p?.cwd ?? s.dir ?? '',
      Entrypoint: s.command ?? r?.image.Entrypoint ?? null, OnBuild: null,
      Labels: containerLabels(v),
      StopSignal: s.stopSignal || r?.image.StopSignal || 'SIGTERM',
      StopTimeout: Math.round((s.stopGracePeriodMs ?? 10_000) / 1000),
    },
    NetworkSettings: {
      Bridge: '', SandboxID: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0, Ports: {},
      SandboxKey: r?.netnsPath ?? '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '', Gateway: '',
      GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '',
      Networks: endpoints(v),
    },
  };
}
