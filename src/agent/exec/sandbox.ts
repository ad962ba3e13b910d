/**
 * The sandbox part of a container's OCI spec, as Docker (20.10 and later) sets it
 * for `docker run` and swarm tasks: Docker's 14 default capabilities (bounding,
 * effective, permitted; inheritable and ambient empty since CVE-2022-24769), its
 * default seccomp profile, its masked and read-only /proc and /sys paths, the host's
 * `docker-default` AppArmor profile when one is loaded, and `no_new_privs` only when
 * asked. Shoal's privileged mode turns all of that off, as `docker run --privileged`.
 * Pure: host facts come in as {@link SandboxHost}.
 */
import { ALL_CAPABILITIES, normalizeCapability } from '../../api/spec/privileges.ts';
import { decodeProfileField, parseSeccompProfile } from '../../api/spec/seccomp-format.ts';
import { DOCKER_DEFAULT_PROFILE } from './seccomp-default.ts';
import { ociSeccomp, type SeccompHost } from './seccomp.ts';
import type { TaskContainerSpec } from './types.ts';

/** Docker's default capability set (moby `oci/caps/defaults.go`). */
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Paths Docker hides from containers (bind of /dev/null, or an empty read-only tmpfs for folders). */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
  '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

/** Paths Docker makes read-only inside containers. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** What the host offers, found once by the executor. */
export interface SandboxHost extends SeccompHost {
  /** A loaded AppArmor profile to confine containers with (`docker-default`), or undefined when AppArmor is off or has none. */
  apparmorProfile?: string;
  /**
   * The daemon's own bounding set; undefined: every capability. `ALL` and privileged
   * give what is in it (runc cannot grant more); naming a capability outside it fails.
   */
  caps?: string[];
}

/** A sandbox that cannot be built on this host. */
export class SandboxError extends Error {
  override readonly name = 'SandboxError';
  readonly retryable = false;
  constructor(message: string) { super(`exec: ${message}`); }
}

/**
 * Capabilities after `add` and `drop`, with Docker's rules: names with or without
 * `CAP_`, any case; `add ALL` is every capability minus the dropped ones; `drop ALL`
 * keeps only the added ones; otherwise the defaults minus drops plus adds.
 */
export function capabilities(add: string[] = [], drop: string[] = []): string[] {
  const a = add.map(normalizeCapability);
  const d = drop.map(normalizeCapability);
  let caps: string[];
  if (a.includes('ALL')) caps = ALL_CAPABILITIES.filter((c) => !d.includes(c));
  else if (d.includes('ALL')) caps = a;
  else caps = [...DEFAULT_CAPS.filter((c) => !d.includes(c)), ...a];
  return [...new Set(caps)];
}

/** The sandbox fields of one container's spec. */
export interface SandboxSpec {
  /** `process.capabilities`. */
  capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
  noNewPrivileges: boolean;
  /** `linux.seccomp`, or undefined for none (unconfined, privileged). */
  seccomp?: Record<string, unknown>;
  apparmorProfile?: string;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** Privileged: /sys and the cgroup mount writable, every device allowed. */
  privileged: boolean;
}

/**
 * The sandbox of `task` on `host`. Throws the profile's SeccompProfileError when a
 * custom profile is bad (the API checks it first; this guards records made before).
 */
export function sandboxSpec(task: Pick<TaskContainerSpec, 'capAdd' | 'capDrop' | 'privileged' | 'seccompMode' | 'seccompProfile' | 'apparmorMode' | 'noNewPrivileges'>, host: SandboxHost): SandboxSpec {
  const privileged = !!task.privileged;
  const wanted = privileged ? [...ALL_CAPABILITIES] : capabilities(task.capAdd, task.capDrop);
  const all = privileged || (task.capAdd ?? []).some((c) => normalizeCapability(c) === 'ALL');
  const caps = host.caps ? wanted.filter((c) => all ? host.caps!.includes(c) : true) : wanted;
  const missing = host.caps ? caps.filter((c) => !host.caps!.includes(c)) : [];
  if (missing.length) throw new SandboxError(`${missing.join(', ')} not in the daemon's own capability bounding set: cannot grant`);
  let seccomp: Record<string, unknown> | undefined;
  if (!privileged && task.seccompMode !== 'unconfined') {
    const profile = task.seccompMode === 'custom' ? parseSeccompProfile(decodeProfileField(task.seccompProfile ?? '')) : DOCKER_DEFAULT_PROFILE;
    seccomp = ociSeccomp(profile, { caps, host });
  }
  const apparmor = !privileged && task.apparmorMode !== 'disabled' ? host.apparmorProfile : undefined;
  return {
    // Inheritable stays empty (CVE-2022-24769): an execve'd file with inheritable
    // file capabilities must not gain them; ambient is empty as in Docker.
    capabilities: { bounding: caps, effective: [...caps], permitted: [...caps], inheritable: [], ambient: [] },
    noNewPrivileges: !!task.noNewPrivileges,
    ...(seccomp ? { seccomp } : {}),
    ...(apparmor ? { apparmorProfile: apparmor } : {}),
    maskedPaths: privileged ? [] : [...MASKED_PATHS],
    readonlyPaths: privileged ? [] : [...READONLY_PATHS],
    privileged,
  };
}
