/**
 * The local driver's options (`docker volume create -o type=… -o o=… -o device=…`), and
 * which of them Shoal does: a tmpfs (`type=tmpfs`, device `tmpfs`) and a bind of a host
 * directory (`type=none`, `o=bind`, an absolute `device`). Anything else is refused with
 * the option named, never accepted and ignored. Pure except for the check that a bind
 * device exists.
 */
import { statSync } from 'node:fs';
import { VolumeInvalidError } from './errors.ts';

/** What to mount on a volume's `_data`. */
export interface LocalMount {
  /** Filesystem type for mount(8): `tmpfs`, or `none` for a bind. */
  type: 'tmpfs' | 'none';
  device: string;
  /** mount(8) `-o` options, validated. */
  options: string[];
}

const KEYS = new Set(['type', 'o', 'device']);
/** tmpfs options Shoal passes on: sizes, modes and owners, and the flags that only restrict. */
const TMPFS_KV = /^(size|mode|uid|gid|nr_inodes|nr_blocks)=[0-9A-Za-z%]+$/;
const FLAGS = new Set(['ro', 'rw', 'nosuid', 'nodev', 'noexec']);
const BIND_FLAGS = new Set(['bind', 'rbind', 'ro', 'rw']);

/**
 * Checks a local volume's driver options; returns what to mount, or undefined for a
 * plain volume (no options). Throws VolumeInvalidError naming the first option refused.
 */
export function validateLocalOptions(opts: Record<string, string>): LocalMount | undefined {
  for (const k of Object.keys(opts)) if (!KEYS.has(k)) throw new VolumeInvalidError(`invalid option key: "${k}" (the local driver of shoal takes type, o and device)`);
  if (Object.keys(opts).length === 0) return undefined;
  const type = opts.type ?? '';
  const device = opts.device ?? '';
  const o = (opts.o ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  if (type === 'tmpfs') {
    for (const x of o) if (!TMPFS_KV.test(x) && !FLAGS.has(x)) throw new VolumeInvalidError(`invalid option o: "${x}" is not supported by shoal for a tmpfs volume`);
    return { type: 'tmpfs', device: device || 'tmpfs', options: o };
  }
  if (type === 'none') {
    if (!o.includes('bind') && !o.includes('rbind')) throw new VolumeInvalidError('invalid option o: a volume of type none needs o=bind (shoal mounts no other kind)');
    for (const x of o) if (!BIND_FLAGS.has(x)) throw new VolumeInvalidError(`invalid option o: "${x}" is not supported by shoal for a bind volume`);
    if (!device.startsWith('/')) throw new VolumeInvalidError(`invalid option device: "${device}" must be an absolute host path for a bind volume`);
    let dir = false;
    try { dir = statSync(device).isDirectory(); } catch { /* reported below */ }
    if (!dir) throw new VolumeInvalidError(`invalid option device: ${device}: no such directory`);
    return { type: 'none', device, options: o };
  }
  if (!type) throw new VolumeInvalidError('invalid option: type is required with o or device (tmpfs, or none with o=bind)');
  throw new VolumeInvalidError(`invalid option type: "${type}" is not supported by shoal (tmpfs, or none with o=bind)`);
}
