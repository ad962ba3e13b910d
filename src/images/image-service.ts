/**
 * The images of one daemon: pull, load, list, remove, prune, and the lookup the
 * executor runs tasks from. Concurrent pulls of one reference share one download
 * (each caller still sees the progress). A failed pull or load leaves no blob or
 * layer behind that no image references.
 *
 *   const images = new ImageService({ root: `${dataRoot}/images`, insecureRegistries: ['127.0.0.1:5000'] });
 *   await images.pull('127.0.0.1:5000/shoal/bb:v1', (p) => console.log(p.status));
 *   const { id, config, layers } = await images.resolveForRun('127.0.0.1:5000/shoal/bb:v1');
 */
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ContentStore } from './content-store.ts';
import { ImageInUseError, ImageNotFoundError } from './errors.ts';
import { ImageStore, type ImageRecord } from './image-store.ts';
import { loadImages } from './load.ts';
import { pullImage, type PullProgress } from './pull.ts';
import { familiarString, looksLikeId, parseReference } from './reference.ts';
import { RegistryClient, type Credentials, type RegistryClientOptions } from './registry-client.ts';
import { layerDir } from './unpack.ts';

/** Options of an ImageService. */
export interface ImageServiceOptions {
  /** Directory of the image store (e.g. `<data-root>/images`). */
  root: string;
  /** Registries (`host:port`) reached over plain HTTP (`--insecure-registry`). */
  insecureRegistries?: string[];
  credentials?: (host: string) => Credentials | undefined;
  /** Whether a task uses image `id` (rm refuses, prune skips); default never. */
  inUse?: (id: string) => boolean;
  fetch?: typeof fetch;
  /** Registry timeouts and caps (RegistryClientOptions); defaults there. */
  registry?: Pick<RegistryClientOptions, 'timeoutMs' | 'stallMs' | 'maxManifestBytes' | 'maxTokenBytes'>;
  /** Most uncompressed bytes of one layer (bounded decompression); default 64 GiB. */
  maxLayerBytes?: number;
}

/** Docker's prune answer. */
export interface PruneReport { ImagesDeleted: { Untagged?: string; Deleted?: string }[]; SpaceReclaimed: number }

export class ImageService {
  readonly root: string;
  readonly content: ContentStore;
  readonly store: ImageStore;
  private readonly client: RegistryClient;
  private readonly flights = new Map<string, { done: Promise<ImageRecord>; events: EventEmitter }>();
  private readonly pins = new Map<string, number>();
  /** Whether a task uses image `id`; the daemon sets it once the executor exists. */
  inUse: (id: string) => boolean;

  constructor(private readonly opts: ImageServiceOptions) {
    this.root = opts.root;
    rmSync(join(opts.root, 'tmp'), { recursive: true, force: true });
    this.content = new ContentStore(opts.root);
    this.store = new ImageStore(opts.root);
    this.client = new RegistryClient({ ...opts.registry, insecure: opts.insecureRegistries, credentials: opts.credentials, fetch: opts.fetch });
    this.inUse = opts.inUse ?? (() => false);
    this.collect();
  }

  private pin(d: string): () => void {
    this.pins.set(d, (this.pins.get(d) ?? 0) + 1);
    let done = false;
    return () => { if (done) return; done = true; const n = this.pins.get(d)! - 1; if (n) this.pins.set(d, n); else this.pins.delete(d); };
  }

  /**
   * Pulls `refStr`; `onProgress` gets Docker progress messages. A second pull of the
   * same reference while one runs joins it. Throws InvalidReferenceError,
   * RegistryUnreachableError, ManifestUnknownError, RegistryAuthError, DigestMismatchError.
   */
  async pull(refStr: string, onProgress: (p: PullProgress) => void = () => {}): Promise<ImageRecord> {
    const ref = parseReference(refStr);
    const key = familiarString(ref);
    let f = this.flights.get(key);
    if (f) {
      f.events.on('p', onProgress);
    } else {
      const events = new EventEmitter();
      events.on('p', onProgress);
      const done = pullImage({ root: this.root, content: this.content, store: this.store, client: this.client, pin: (d) => this.pin(d), maxLayerBytes: this.opts.maxLayerBytes }, ref, (p) => events.emit('p', p))
        .finally(() => { this.flights.delete(key); })
        .catch((e) => { this.collect(); throw e; });
      f = { done, events };
      this.flights.set(key, f);
    }
    try { return await f.done; } finally { f.events.off('p', onProgress); }
  }

  /** Loads a tarball (OCI layout or docker save). */
  async load(tarPath: string, onLine: (l: string) => void = () => {}): Promise<ImageRecord[]> {
    try {
      return await loadImages({ root: this.root, content: this.content, store: this.store, maxLayerBytes: this.opts.maxLayerBytes }, tarPath, onLine);
    } catch (e) {
      this.collect();
      throw e;
    }
  }

  list(): ImageRecord[] { return this.store.list(); }

  /** The image for `ref` (name, name:tag, name@digest, ID); throws ImageNotFoundError. */
  get(ref: string): ImageRecord {
    const r = this.store.find(ref);
    if (!r) throw new ImageNotFoundError(ref);
    return r;
  }

  /** Image config (the OCI config's `config` part) of an image. */
  runConfig(id: string): Record<string, any> {
    return (this.content.readJson<{ config?: Record<string, any> }>(id).config) ?? {};
  }

  /** ImageProvider for the executor: ID, run config, unpacked layer dirs bottom-most first. */
  async resolveForRun(ref: string): Promise<{ id: string; config: Record<string, any>; layers: string[] }> {
    const r = this.get(ref);
    return { id: r.id, config: this.runConfig(r.id), layers: r.layers.map((l) => layerDir(this.root, l.diffId)) };
  }

  /**
   * Docker's `image rm`: a tag of an image with other tags is only untagged; the last
   * tag or an ID deletes the image (ImageInUseError when a task uses it, unless force).
   */
  remove(ref: string, opts: { force?: boolean } = {}): PruneReport['ImagesDeleted'] {
    const r = this.get(ref);
    const out: PruneReport['ImagesDeleted'] = [];
    const byTag = !looksLikeId(ref) && !parseReference(ref).digest;
    if (byTag) {
      const tag = familiarString(parseReference(ref));
      if (r.repoTags.length > 1 || (this.inUse(r.id) && opts.force)) {
        this.store.untag(tag);
        return [{ Untagged: tag }];
      }
    }
    if (this.inUse(r.id)) throw new ImageInUseError(ref, r.id);
    for (const t of r.repoTags) out.push({ Untagged: t });
    for (const d of r.repoDigests) out.push({ Untagged: d });
    this.store.delete(r.id);
    out.push({ Deleted: r.id });
    this.collect();
    return out;
  }

  /** Removes unused images: dangling ones (no tag), or every unused one with `all`; `select`: only those it accepts. */
  prune(opts: { all?: boolean; select?: (r: ImageRecord) => boolean } = {}): PruneReport {
    const report: PruneReport = { ImagesDeleted: [], SpaceReclaimed: 0 };
    for (const r of this.store.list()) {
      if (this.inUse(r.id) || (!opts.all && r.repoTags.length > 0) || (opts.select && !opts.select(r))) continue;
      for (const t of r.repoTags) report.ImagesDeleted.push({ Untagged: t });
      this.store.delete(r.id);
      report.ImagesDeleted.push({ Deleted: r.id });
    }
    report.SpaceReclaimed = this.collect();
    return report;
  }

  /** Deletes blobs and layer dirs no image references (pins of running pulls kept); returns bytes freed. */
  collect(): number {
    const { blobs, diffIds } = this.store.referenced();
    for (const d of this.pins.keys()) blobs.add(d);
    let freed = this.content.gc(blobs);
    const ldir = join(this.root, 'layers');
    if (existsSync(ldir) && this.flights.size === 0) {
      for (const name of readdirSync(ldir)) {
        if (diffIds.has(`sha256:${name}`)) continue;
        try { freed += statSync(join(ldir, name)).size; } catch { /* gone */ }
        rmSync(join(ldir, name), { recursive: true, force: true });
      }
    }
    return freed;
  }
}
