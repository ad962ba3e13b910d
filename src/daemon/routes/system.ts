/**
 * `/_ping`, `/version`, `/info`: the endpoints every Docker client calls first.
 * Shapes follow the Docker Engine API v1.41.
 */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import type { Router } from '../../common/router.ts';
import { API_VERSION, MIN_API_VERSION, type InfoResponse, type SwarmInfo, type VersionResponse } from '../../api/types/system.ts';
import type { DaemonConfig } from '../config.ts';

/** The version of Shoal itself, from package.json. */
export const SHOAL_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** What the system routes need to know of the rest of the daemon. */
export interface SystemFacts {
  config: DaemonConfig;
  /** A stable ID of this engine (kept in the data root). */
  engineId: string;
  /** The swarm part of `/info`; the membership component fills it in. */
  swarmInfo(): SwarmInfo;
  containerCounts(): { running: number; paused: number; stopped: number };
  imageCount(): number;
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

export function goArch(): string {
  return ARCH[process.arch] ?? process.arch;
}

function osPrettyName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

function cgroupVersion(): string {
  try {
    readFileSync('/sys/fs/cgroup/cgroup.controllers');
    return '2';
  } catch {
    return '1';
  }
}

export function versionResponse(): VersionResponse {
  const common = { GitCommit: 'shoal', GoVersion: `node${process.versions.node}`, Os: 'linux', Arch: goArch(), KernelVersion: os.release() };
  return {
    Platform: { Name: 'Shoal Engine' },
    Components: [
      {
        Name: 'Engine',
        Version: SHOAL_VERSION,
        Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, ...common, BuildTime: '', Experimental: 'false' },
      },
    ],
    Version: SHOAL_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    ...common,
    BuildTime: '',
  };
}

export function infoResponse(facts: SystemFacts): InfoResponse {
  const counts = facts.containerCounts();
  const { config } = facts;
  return {
    ID: facts.engineId,
    Containers: counts.running + counts.paused + counts.stopped,
    ContainersRunning: counts.running,
    ContainersPaused: counts.paused,
    ContainersStopped: counts.stopped,
    Images: facts.imageCount(),
    Driver: 'overlay2',
    DriverStatus: [['Backing Filesystem', 'overlayfs']],
    Plugins: { Volume: ['local'], Network: ['overlay', 'null'], Authorization: [], Log: ['json-file'] },
    MemoryLimit: true,
    SwapLimit: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    Debug: Boolean(process.env.SHOAL_DEBUG),
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: cgroupVersion(),
    NEventsListener: 0,
    KernelVersion: os.release(),
    OperatingSystem: osPrettyName(),
    OSVersion: '',
    OSType: 'linux',
    Architecture: os.machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { InsecureRegistryCIDRs: [], IndexConfigs: {}, Mirrors: [] },
    NCPU: os.availableParallelism(),
    MemTotal: os.totalmem(),
    DockerRootDir: config.dataRoot,
    Name: config.hostname,
    Labels: config.labels,
    ExperimentalBuild: false,
    ServerVersion: SHOAL_VERSION,
    Runtimes: { runc: { path: 'runc' }, crun: { path: 'crun' } },
    DefaultRuntime: config.runtime,
    Swarm: facts.swarmInfo(),
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    SecurityOptions: ['name=seccomp,profile=default'],
    Warnings: [],
  };
}

export function addSystemRoutes(router: Router, facts: SystemFacts): void {
  router.get('/_ping', ({ res }) => {
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'OSType': 'linux',
      'Docker-Experimental': 'false',
      Swarm: swarmHeader(facts.swarmInfo()),
    });
    res.end(res.req.method === 'HEAD' ? undefined : 'OK');
  });
  router.get('/version', () => versionResponse());
  router.get('/info', () => infoResponse(facts));
}

/** The `Swarm` header of `/_ping` (API ≥ 1.40): `inactive` or `active/manager|worker`. */
function swarmHeader(s: SwarmInfo): string {
  if (s.LocalNodeState !== 'active') return s.LocalNodeState;
  return `active/${s.ControlAvailable ? 'manager' : 'worker'}`;
}
