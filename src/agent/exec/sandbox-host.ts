/**
 * Finds, once per executor, the host facts the sandbox depends on: the native
 * architecture and kernel release (which seccomp rules apply) and whether AppArmor
 * is on with a `docker-default`-like profile loaded. Shoal does not load AppArmor
 * profiles itself: with AppArmor off or no such profile, containers get none.
 */
import { readFileSync } from 'node:fs';
import { arch, release } from 'node:os';
import { ALL_CAPABILITIES } from '../../api/spec/privileges.ts';
import { goArch } from './seccomp.ts';
import type { SandboxHost } from './sandbox.ts';

/** Profile names used, first loaded one wins: Shoal's own name, then Docker's. */
export const APPARMOR_PROFILES = ['shoal-default', 'docker-default'];

/** The loaded AppArmor profile to use, from `enabled` and `profiles` file contents (pure). */
export function pickApparmorProfile(enabled: string | undefined, profiles: string | undefined): string | undefined {
  if (!enabled?.trim().startsWith('Y') || !profiles) return undefined;
  // Lines read `name (enforce)`; a profile in complain mode does not confine.
  const loaded = new Set(profiles.split('\n').filter((l) => /\(enforce\)\s*$/.test(l)).map((l) => l.replace(/\s*\(enforce\)\s*$/, '')));
  return APPARMOR_PROFILES.find((p) => loaded.has(p));
}

/** Capability names of the `CapBnd:` line of a /proc/PID/status text (pure); undefined when absent. */
export function boundingCaps(status: string | undefined): string[] | undefined {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status ?? '');
  if (!m) return undefined;
  const bits = BigInt(`0x${m[1]}`);
  // ALL_CAPABILITIES is in bit order: index = capability number.
  return ALL_CAPABILITIES.filter((_, i) => (bits >> BigInt(i)) & 1n);
}

function read(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

/** The running host's facts. */
export function detectSandboxHost(): SandboxHost {
  const profile = pickApparmorProfile(read('/sys/module/apparmor/parameters/enabled'), read('/sys/kernel/security/apparmor/profiles'));
  const caps = boundingCaps(read('/proc/self/status'));
  return { arch: goArch(arch()), kernelRelease: release(), ...(profile ? { apparmorProfile: profile } : {}), ...(caps ? { caps } : {}) };
}
