/**
 * Host devices and the init process of a task, in OCI terms. A device the task asks for
 * (`--device /dev/net/tun`) becomes a node in the container's /dev (`linux.devices`,
 * made by runc with the host node's type, numbers, mode and owner) plus an allow rule
 * in the device cgroup (`linux.resources.devices`) with the asked permissions. The init
 * (`--init`) is the host's static `tini`, bind-mounted read-only at Docker's path
 * `/sbin/docker-init`, so it runs in any image (no libc needed).
 * Pure: the host's answers (stat of a device, which init binary exists) are passed in.
 */
import type { TaskDevice } from './types.ts';
import { SpecError } from './spec-error.ts';

/** What `stat` tells of a host path (bigint numbers as `fs.statSync(p, { bigint: true })`). */
export interface DeviceStat {
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  rdev: bigint;
  mode: bigint;
  uid: bigint;
  gid: bigint;
}

/** One device as the OCI spec wants it: the node (`linux.devices`) and its cgroup rule. */
export interface OciDevice {
  node: { path: string; type: 'c' | 'b'; major: number; minor: number; fileMode: number; uid: number; gid: number };
  rule: { allow: true; type: 'c' | 'b'; major: number; minor: number; access: string };
}

/** Linux's `major()` and `minor()` of a dev_t (glibc's encoding, 12+20 and 8+24 bits). */
export function devNumbers(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major & 0xffffffffn), minor: Number(minor & 0xffffffffn) };
}

/**
 * The OCI entries of `devices`; `stat` reads a host path (throws when absent). A path
 * that is not a character or block device is refused: Docker expands a directory to the
 * devices in it, Shoal asks for each device by name.
 */
export function ociDevices(devices: readonly TaskDevice[], stat: (path: string) => DeviceStat): OciDevice[] {
  return devices.map((d) => {
    let st: DeviceStat;
    try {
      st = stat(d.hostPath);
    } catch (e) {
      throw new SpecError(`device ${d.hostPath}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such device on this node' : (e as Error).message}`);
    }
    const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : undefined;
    if (!type) throw new SpecError(`device ${d.hostPath} is not a character or block device`);
    const { major, minor } = devNumbers(st.rdev);
    return {
      node: { path: d.containerPath || d.hostPath, type, major, minor, fileMode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid) },
      rule: { allow: true, type, major, minor, access: d.permissions || 'rwm' },
    };
  });
}

/** Where the init binary appears in the task (Docker's path, so `ps` looks the same). */
export const INIT_PATH = '/sbin/docker-init';

/** Host binaries that can serve as a task's init, best first: static, so any image runs them. */
export const INIT_CANDIDATES = ['/usr/bin/tini-static', '/usr/bin/docker-init', '/usr/libexec/docker/docker-init'];

/** The first of {@link INIT_CANDIDATES} that `exists`; throws a SpecError saying what to install when none does. */
export function findInit(exists: (path: string) => boolean): string {
  const found = INIT_CANDIDATES.find(exists);
  if (!found) throw new SpecError(`--init needs a static tini on the node (${INIT_CANDIDATES.join(' or ')}; Debian: apt install tini)`);
  return found;
}
