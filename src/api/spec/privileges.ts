/**
 * The sandbox fields of a ContainerSpec: `CapabilityAdd`/`CapabilityDrop` and
 * `Privileges` (Docker's Seccomp, AppArmor, NoNewPrivileges; Shoal's `Privileged`
 * extension). Checks before a spec is stored; what Shoal cannot do (Windows
 * credential specs, SELinux labels) is refused naming the field. Pure.
 */
import type { ContainerSpec, Privileges } from '../types/service.ts';
import { SeccompProfileError, decodeProfileField, parseSeccompProfile } from './seccomp-format.ts';

/** Every Linux capability (as of 5.9), Docker's spelling, in bit order (index = capability number). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** `net_admin` → `CAP_NET_ADMIN`; `all` → `ALL`. Does not check the name. */
export function normalizeCapability(name: string): string {
  const u = name.trim().toUpperCase();
  if (u === 'ALL') return 'ALL';
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

/** A problem with one field (same shape as validate.ts's SpecProblem). */
export interface PrivilegeProblem { field: string; reason: string }

function checkCaps(field: string, list: unknown): PrivilegeProblem | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) return { field, reason: 'must be a list of capability names' };
  for (const [i, c] of list.entries()) {
    if (typeof c !== 'string' || !c.trim()) return { field: `${field}[${i}]`, reason: 'must be a capability name' };
    const n = normalizeCapability(c);
    if (n !== 'ALL' && !ALL_CAPABILITIES.includes(n)) return { field: `${field}[${i}]`, reason: `unknown capability: "${c}"` };
  }
  return undefined;
}

/** True when a value is "empty" in Docker's sense (absent, null, '', false, 0, {} or [] of empties). */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return true;
  if (Array.isArray(v)) return v.every(isEmpty);
  if (typeof v === 'object') return Object.values(v as object).every(isEmpty);
  return false;
}

function checkPrivileges(p: Privileges | undefined): PrivilegeProblem | undefined {
  const f = 'TaskTemplate.ContainerSpec.Privileges';
  if (p === undefined || p === null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p)) return { field: f, reason: 'must be an object' };
  // Docker's CLI sends both as empty objects; a non-empty one asks for what Shoal cannot do.
  if (!isEmpty(p.CredentialSpec)) return { field: `${f}.CredentialSpec`, reason: 'is not supported (Windows gMSA credential specs only apply to Windows containers)' };
  if (!isEmpty(p.SELinuxContext)) return { field: `${f}.SELinuxContext`, reason: 'is not supported: Shoal does not apply SELinux labels' };
  const s = p.Seccomp;
  if (s !== undefined && s !== null) {
    if (typeof s !== 'object') return { field: `${f}.Seccomp`, reason: 'must be an object' };
    const mode = s.Mode ?? '';
    if (!['', 'default', 'unconfined', 'custom'].includes(mode)) return { field: `${f}.Seccomp.Mode`, reason: `unknown mode "${String(mode)}" (default, unconfined, custom)` };
    if (mode === 'custom') {
      if (typeof s.Profile !== 'string' || !s.Profile) return { field: `${f}.Seccomp.Profile`, reason: 'must hold the profile when Mode is custom' };
      try {
        parseSeccompProfile(decodeProfileField(s.Profile));
      } catch (e) {
        if (e instanceof SeccompProfileError) return { field: `${f}.Seccomp.Profile`, reason: e.message };
        throw e;
      }
    } else if (s.Profile) return { field: `${f}.Seccomp.Profile`, reason: 'is only allowed when Mode is custom' };
  }
  const a = p.AppArmor;
  if (a !== undefined && a !== null) {
    if (typeof a !== 'object') return { field: `${f}.AppArmor`, reason: 'must be an object' };
    if (!['', 'default', 'disabled', undefined].includes(a.Mode)) return { field: `${f}.AppArmor.Mode`, reason: `unknown mode "${String(a.Mode)}" (default, disabled)` };
  }
  if (p.NoNewPrivileges !== undefined && typeof p.NoNewPrivileges !== 'boolean') return { field: `${f}.NoNewPrivileges`, reason: 'must be a boolean' };
  if (p.Privileged !== undefined && typeof p.Privileged !== 'boolean') return { field: `${f}.Privileged`, reason: 'must be a boolean' };
  return undefined;
}

/** The first problem with the sandbox fields of `c`, or undefined. */
export function checkSandboxFields(c: ContainerSpec): PrivilegeProblem | undefined {
  return (
    checkCaps('TaskTemplate.ContainerSpec.CapabilityAdd', c.CapabilityAdd) ??
    checkCaps('TaskTemplate.ContainerSpec.CapabilityDrop', c.CapabilityDrop) ??
    checkPrivileges(c.Privileges)
  );
}
