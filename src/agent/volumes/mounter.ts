/**
 * How the volume store mounts a local volume's device on its `_data`: a narrow
 * interface so the store's tests run without root, and the kernel's implementation.
 */
import { readFileSync } from 'node:fs';
import { mustRun, runCommand } from '../exec/cmd.ts';
import type { LocalMount } from './local-options.ts';

/** Mounts and unmounts volume devices. */
export interface VolumeMounter {
  /** Mounts `how` on `target` (an existing directory); rejects when mount fails. */
  mount(how: LocalMount, target: string): Promise<void>;
  /** Unmounts `target`; rejects when it stays mounted. */
  unmount(target: string): Promise<void>;
  /** Whether `target` is a mount point now. */
  isMounted(target: string): boolean;
}

function mounted(path: string): boolean {
  const esc = path.replace(/ /g, '\\040');
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === esc);
}

/** The kernel's mounter: `mount(8)` and `umount(8)`. */
export const kernelMounter: VolumeMounter = {
  async mount(how, target) {
    const o = how.options.length ? ['-o', how.options.join(',')] : [];
    await mustRun(['mount', '-t', how.type, ...o, how.device, target]);
  },
  async unmount(target) {
    if (!mounted(target)) return;
    const r = await runCommand(['umount', target]);
    if (r.code !== 0 && mounted(target)) throw new Error(`volumes: umount ${target}: ${r.stderr.trim()}`);
  },
  isMounted: mounted,
};
