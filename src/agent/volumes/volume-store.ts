/**
 * The node-local volume store: every named volume of this node, whether made by
 * `docker volume create` or by a service's `Type: volume` mount, is one object here.
 * Layout (Docker's): `<dataRoot>/volumes/<name>/_data` is what containers see, beside
 * `volume.json` (driver, labels, options, creation time). `volumes/` and each
 * `volumes/<name>` are 0700; `_data` is 0755 as Docker makes it, since its mode is the
 * mode of the mount point inside the container.
 *
 *   const store = new VolumeStore({ dataRoot });
 *   await store.create('data', { labels: { a: 'b' } });
 *   const hostPath = await store.ensure('data');   // what a task mount binds
 *   await store.remove('data', []);                 // ids of containers using it
 *
 * Volumes with the local driver's `type`/`o`/`device` options (tmpfs, bind) are
 * mounted on `_data` when first used (ensure) and unmounted when removed; a tmpfs
 * volume's content is gone on reboot, as with Docker.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
export { NoSuchVolumeError, VolumeInUseError, VolumeInvalidError } from './errors.ts';
import { privateDir, writePrivateFile } from '../exec/private-fs.ts';
import { validateLocalOptions, type LocalMount } from './local-options.ts';
import { NoSuchVolumeError, VolumeInUseError, VolumeInvalidError } from './errors.ts';
import { kernelMounter, type VolumeMounter } from './mounter.ts';

/** Docker's rule for local volume names. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** A volume, as kept in `volume.json` plus its mount point. */
export interface VolumeRecord {
  name: string;
  /** Always `local`: no other driver exists here. */
  driver: 'local';
  labels: Record<string, string>;
  /** The local driver's options (`type`, `o`, `device`), as given. */
  options: Record<string, string>;
  /** RFC 3339. */
  createdAt: string;
  /** Host path of `_data`. */
  mountpoint: string;
}

/** Options of a VolumeStore. */
export interface VolumeStoreOptions {
  /** The daemon's data root; volumes live in `<dataRoot>/volumes`. */
  dataRoot: string;
  /** Mounts tmpfs/bind volumes and tells what is mounted; default the kernel's (needs root to mount). */
  mounter?: VolumeMounter;
  /** Clock for `CreatedAt`; default Date.now. */
  now?: () => number;
}

/**
 * The store. Methods are synchronous on disk except where a mount is involved; calls
 * for one name are not serialised against each other, the daemon's single thread does it
 * for the synchronous parts.
 */
export class VolumeStore {
  readonly root: string;
  private readonly now: () => number;
  private readonly mounter: VolumeMounter;
  /** Mounts in flight, so two tasks starting at once mount a volume once. */
  private readonly mounting = new Map<string, Promise<void>>();

  constructor(private readonly opts: VolumeStoreOptions) {
    this.root = join(opts.dataRoot, 'volumes');
    this.now = opts.now ?? Date.now;
    this.mounter = opts.mounter ?? kernelMounter;
  }

  private dir(name: string): string { return join(this.root, name); }
  /** Host path of a volume's data (whether or not it exists). */
  dataPath(name: string): string { return join(this.dir(name), '_data'); }

  /**
   * Makes a volume, or returns the existing one of that name (Docker does the same,
   * as long as the options agree). Throws VolumeInvalidError for a bad name or option.
   */
  create(name: string, req: { labels?: Record<string, string>; options?: Record<string, string> } = {}): VolumeRecord {
    if (!NAME_RE.test(name)) {
      throw new VolumeInvalidError(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    }
    const options = req.options ?? {};
    validateLocalOptions(options);
    const existing = this.find(name);
    if (existing) {
      if (Object.keys(options).length && JSON.stringify(sorted(options)) !== JSON.stringify(sorted(existing.options))) {
        throw new VolumeInvalidError(`create ${name}: a volume of that name exists with other options`);
      }
      return existing;
    }
    privateDir(this.root);
    privateDir(this.dir(name));
    mkdirSync(this.dataPath(name), { recursive: true, mode: 0o755 });
    chmodSync(this.dataPath(name), 0o755);
    const meta = { name, driver: 'local' as const, labels: { ...(req.labels ?? {}) }, options: { ...options }, createdAt: new Date(this.now()).toISOString() };
    writePrivateFile(join(this.dir(name), 'volume.json'), JSON.stringify(meta));
    return { ...meta, mountpoint: this.dataPath(name) };
  }

  /** The volume, or undefined. */
  find(name: string): VolumeRecord | undefined {
    if (!NAME_RE.test(name)) return undefined;
    const dir = this.dir(name);
    let meta: Omit<VolumeRecord, 'mountpoint'>;
    try {
      meta = JSON.parse(readFileSync(join(dir, 'volume.json'), 'utf8'));
    } catch {
      // A volume made by an older executor (only `_data`): adopt it with what its directory says.
      if (!existsSync(join(dir, '_data'))) return undefined;
      meta = { name, driver: 'local', labels: {}, options: {}, createdAt: statSync(dir).birthtime.toISOString() };
    }
    return { name, driver: 'local', labels: meta.labels ?? {}, options: meta.options ?? {}, createdAt: meta.createdAt, mountpoint: this.dataPath(name) };
  }

  /** The volume; throws NoSuchVolumeError. */
  get(name: string): VolumeRecord {
    const v = this.find(name);
    if (!v) throw new NoSuchVolumeError(name);
    return v;
  }

  /** Every volume, by name. */
  list(): VolumeRecord[] {
    let names: string[];
    try { names = readdirSync(this.root); } catch { return []; }
    return names.sort().map((n) => this.find(n)).filter((v): v is VolumeRecord => v !== undefined);
  }

  /**
   * What a task's `volume` mount binds: makes the volume when absent (as Docker does
   * for a service mount naming an unknown volume, with the mount's `ifNew` labels and
   * driver options; an existing volume keeps its own), mounts its tmpfs/bind device if it
   * has one and it is not mounted yet, and returns the host path of `_data`.
   */
  async ensure(name: string, ifNew: { labels?: Record<string, string>; options?: Record<string, string> } = {}): Promise<string> {
    const v = this.find(name) ?? this.create(name, ifNew);
    const how = validateLocalOptions(v.options);
    if (how) await this.maybeMount(v, how);
    return v.mountpoint;
  }

  private maybeMount(v: VolumeRecord, how: LocalMount): Promise<void> {
    const m = this.mounter;
    if (m.isMounted(v.mountpoint)) return Promise.resolve();
    let p = this.mounting.get(v.name);
    if (!p) {
      p = m.mount(how, v.mountpoint).finally(() => this.mounting.delete(v.name));
      this.mounting.set(v.name, p);
    }
    return p;
  }

  /**
   * Removes a volume and its data. `users` are the IDs of containers that reference it
   * (running or not); any makes this throw VolumeInUseError, as Docker does. A mounted
   * device is unmounted first, and nothing is deleted unless that worked: a bind
   * volume's source must never be emptied.
   */
  async remove(name: string, users: string[]): Promise<void> {
    const v = this.get(name);
    if (users.length) throw new VolumeInUseError(name, users);
    const m = this.mounter;
    if (m.isMounted(v.mountpoint)) {
      await m.unmount(v.mountpoint);
      if (m.isMounted(v.mountpoint)) throw new Error(`volumes: remove ${name}: ${v.mountpoint} is still mounted`);
    }
    rmSync(this.dir(name), { recursive: true, force: true });
  }
}

function sorted(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
}
