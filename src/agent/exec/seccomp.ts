/**
 * From a Docker seccomp profile to the OCI runtime spec's `linux.seccomp` for one
 * container, as moby's `profiles/seccomp` does: a rule applies only when every
 * capability it `includes` is in the container's bounding set, none it `excludes`
 * is, the native architecture matches, and the host kernel is new enough. Pure:
 * the host's architecture and kernel release come in as arguments.
 */
import type { SeccompProfile, SeccompRule } from '../../api/spec/seccomp-format.ts';

/** The host facts a profile is resolved against. */
export interface SeccompHost {
  /** Go's name of the native architecture (`amd64`, `arm64`, …); see {@link goArch}. */
  arch: string;
  /** `uname -r` (`6.1.0-18-amd64`); only MAJOR.MINOR is read. */
  kernelRelease: string;
}

/** Go architecture names → libseccomp's. */
const SCMP_ARCH: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64', '386': 'SCMP_ARCH_X86', x86: 'SCMP_ARCH_X86', x32: 'SCMP_ARCH_X32',
  arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM', mips64: 'SCMP_ARCH_MIPS64', mips64le: 'SCMP_ARCH_MIPSEL64',
  ppc64le: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X', riscv64: 'SCMP_ARCH_RISCV64',
};

/** Node's `process.arch` → Go's name, as Docker's profiles spell architectures. */
export function goArch(nodeArch: string): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', s390x: 's390x', ppc64: 'ppc64le', riscv64: 'riscv64', mips: 'mips64', mipsel: 'mips64le' } as Record<string, string>)[nodeArch] ?? nodeArch;
}

function kernelAtLeast(release: string, min: string): boolean {
  const [a = 0, b = 0] = release.split(/[.-]/).map(Number);
  const [x = 0, y = 0] = min.split('.').map(Number);
  return a > x || (a === x && b >= y);
}

function applies(rule: SeccompRule, caps: Set<string>, host: SeccompHost): boolean {
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (inc.arches?.length && !inc.arches.includes(host.arch)) return false;
  if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) return false;
  if (inc.minKernel && !kernelAtLeast(host.kernelRelease, inc.minKernel)) return false;
  if (exc.arches?.includes(host.arch)) return false;
  if (exc.caps?.some((c) => caps.has(c))) return false;
  if (exc.minKernel && kernelAtLeast(host.kernelRelease, exc.minKernel)) return false;
  return true;
}

function architectures(p: SeccompProfile, host: SeccompHost): string[] {
  if (p.architectures?.length) return [...p.architectures];
  const native = SCMP_ARCH[host.arch];
  const m = p.archMap?.find((a) => a.architecture === native);
  return m ? [m.architecture, ...(m.subArchitectures ?? [])] : [];
}

/**
 * `linux.seccomp` for a container whose bounding set is `caps`. Rules that do not
 * apply are left out; the rest keep their order, names, action, errno and arguments.
 */
export function ociSeccomp(profile: SeccompProfile, opts: { caps: string[]; host: SeccompHost }): Record<string, unknown> {
  const caps = new Set(opts.caps);
  const syscalls = [];
  for (const r of profile.syscalls ?? []) {
    if (!applies(r, caps, opts.host)) continue;
    const names = r.names?.length ? [...r.names] : r.name ? [r.name] : [];
    syscalls.push({
      names,
      action: r.action,
      ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
      ...(r.args?.length ? { args: r.args.map((a) => ({ index: a.index, value: a.value, ...(a.valueTwo !== undefined ? { valueTwo: a.valueTwo } : {}), op: a.op })) } : {}),
    });
  }
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures: architectures(profile, opts.host),
    ...(profile.flags?.length ? { flags: [...profile.flags] } : {}),
    syscalls,
  };
}
