/**
 * `image load`: an OCI image layout tarball or a `docker save` tarball (both the
 * classic form with `<id>/layer.tar` files and the OCI-based form of Engine ≥ 25).
 * When the tarball has Docker's `manifest.json`, its RepoTags name the images;
 * otherwise names come from the index annotations (`io.containerd.image.name`, or a
 * full reference in `org.opencontainers.image.ref.name`). Every blob is checked
 * against its digest on the way into the store.
 *
 * The tarball is unpacked by `archive.ts` (regular files only; links resolved
 * inside the archive, devices and FIFOs refused), so no file read here can be a
 * host file or block; JSON documents are read with a size cap.
 */
import { createReadStream, mkdirSync, openSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { ContentStore } from './content-store.ts';
import { BadArchiveError } from './errors.ts';
import type { ImageRecord, ImageStore, LayerRecord } from './image-store.ts';
import { checkDiffIds, checkIndex, checkManifest, hostPlatform, isIndex, MT, type ImageConfigDoc, type Manifest } from './media.ts';
import { familiarString, parseReference } from './reference.ts';
import { unpackLayer } from './unpack.ts';
import { digestHex } from './digest.ts';
import { hasEntry, readCapped, resolve, unpackArchive, type Archive } from './archive.ts';

/** Largest JSON document (manifest.json, index.json, manifest, config) load reads, bytes. */
export const MAX_JSON_BYTES = 8 << 20;

interface Loaded { rec: ImageRecord; tags: string[] }
interface DockerEntry { Config: string; RepoTags?: string[] | null; Layers: string[] }

/** What load needs. */
export interface LoadDeps {
  root: string; content: ContentStore; store: ImageStore;
  /** Most uncompressed bytes of one layer; default unpack.ts's DEFAULT_MAX_LAYER_BYTES. */
  maxLayerBytes?: number;
}

async function fileDigest(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(p)) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

function sniffMediaType(p: string): string {
  const b = Buffer.alloc(4);
  const fd = openSync(p, 'r');
  try { readSync(fd, b, 0, 4, 0); } finally { closeSync(fd); }
  if (b[0] === 0x1f && b[1] === 0x8b) return MT.ociLayerGzip;
  if (b.readUInt32LE(0) === 0xfd2fb528) return MT.ociLayerZstd;
  return MT.ociLayerTar;
}

function readJson(a: Archive, rel: string): { bytes: Buffer; doc: unknown } {
  const bytes = readCapped(a, rel, MAX_JSON_BYTES);
  try { return { bytes, doc: JSON.parse(bytes.toString('utf8')) }; } catch { throw new BadArchiveError(`${rel} is not JSON`); }
}

/** Loads every image of the tarball at `tarPath`; `emit` gets Docker-style `Loaded image: …` lines. */
export async function loadImages(deps: LoadDeps, tarPath: string, emit: (line: string) => void = () => {}): Promise<ImageRecord[]> {
  const dir = deps.content.tempPath('load');
  mkdirSync(dir, { recursive: true });
  try {
    const a = await unpackArchive(tarPath, dir);
    const out: Loaded[] = [];
    if (hasEntry(a, 'manifest.json')) {
      const { doc } = readJson(a, 'manifest.json');
      if (!Array.isArray(doc)) throw new BadArchiveError('manifest.json is not a list');
      for (const e of doc as DockerEntry[]) out.push(await importDockerEntry(deps, a, e));
    } else if (hasEntry(a, 'index.json')) {
      const index = checkIndex(readJson(a, 'index.json').doc, 'index.json');
      for (const d of index.manifests) out.push(...(await importOciDescriptor(deps, a, d, d.annotations)));
    } else {
      throw new BadArchiveError('neither manifest.json (docker save) nor index.json (OCI layout) found');
    }
    for (const { rec, tags } of out) {
      if (tags.length) for (const t of tags) emit(`Loaded image: ${t}`);
      else emit(`Loaded image ID: ${rec.id}`);
    }
    return out.map((o) => o.rec);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function importDockerEntry(deps: LoadDeps, a: Archive, e: DockerEntry): Promise<Loaded> {
  if (!e || typeof e.Config !== 'string' || !Array.isArray(e.Layers)) throw new BadArchiveError('manifest.json: an entry needs Config and Layers');
  const { bytes: cfgBytes, doc } = readJson(a, e.Config);
  const configDigest = `sha256:${createHash('sha256').update(cfgBytes).digest('hex')}`;
  const config = doc as ImageConfigDoc;
  const diffIds = checkDiffIds(config, e.Layers.length, `config ${e.Config}`);
  const layers: LayerRecord[] = [];
  for (const [i, rel] of e.Layers.entries()) {
    const p = resolve(a, rel);
    const digest = await fileDigest(p);
    const mediaType = sniffMediaType(p);
    await deps.content.ingest(digest, createReadStream(p), { what: `layer ${rel}` });
    await unpackLayer(deps.root, { blob: deps.content.path(digest), mediaType, diffId: diffIds[i] }, { maxBytes: deps.maxLayerBytes });
    layers.push({ digest, mediaType, size: statSync(p).size, diffId: diffIds[i] });
  }
  await deps.content.ingest(configDigest, cfgBytes, { what: 'config' });
  const manifest: Manifest = {
    schemaVersion: 2, mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: configDigest, size: cfgBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const mBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = `sha256:${createHash('sha256').update(mBytes).digest('hex')}`;
  await deps.content.ingest(manifestDigest, mBytes, { what: 'manifest' });
  const tags = (e.RepoTags ?? []).map((t) => familiarString(parseReference(t)));
  return { tags, rec: deps.store.put({
    id: configDigest, repoTags: tags, repoDigests: [], manifestDigest, layers,
    created: config.created ?? new Date(0).toISOString(), size: layers.reduce((n, l) => n + l.size, 0),
    os: config.os ?? 'linux', architecture: config.architecture ?? hostPlatform().architecture,
  }) };
}

function nameFrom(ann: Record<string, string> | undefined): string | undefined {
  const full = ann?.['io.containerd.image.name'] ?? ann?.['org.opencontainers.image.ref.name'];
  if (!full || !/[/:]/.test(full)) return undefined;
  try { return familiarString(parseReference(full)); } catch { return undefined; }
}

async function importOciDescriptor(deps: LoadDeps, a: Archive, d: { mediaType: string; digest: string }, ann: Record<string, string> | undefined, depth = 0): Promise<Loaded[]> {
  if (depth > 4) throw new BadArchiveError('indexes nested too deep');
  const blob = (digest: string) => `blobs/sha256/${digestHex(digest, 'blob')}`;
  const { bytes: body, doc: parsed } = readJson(a, blob(d.digest));
  if (isIndex(d.mediaType, parsed)) {
    const idx = checkIndex(parsed, `index ${d.digest}`);
    const plat = hostPlatform();
    const pick = idx.manifests.find((m) => !m.platform || (m.platform.os === plat.os && m.platform.architecture === plat.architecture));
    if (!pick) throw new BadArchiveError(`no manifest for ${plat.os}/${plat.architecture}`);
    return importOciDescriptor(deps, a, pick, ann ?? pick.annotations, depth + 1);
  }
  const m = checkManifest(parsed, `manifest ${d.digest}`);
  await deps.content.ingest(m.config.digest, readCapped(a, blob(m.config.digest), MAX_JSON_BYTES), { size: m.config.size, what: 'config' });
  const config = deps.content.readJson<ImageConfigDoc>(m.config.digest);
  const diffIds = checkDiffIds(config, m.layers.length, `config ${m.config.digest}`);
  const layers: LayerRecord[] = [];
  for (const [i, l] of m.layers.entries()) {
    await deps.content.ingest(l.digest, createReadStream(resolve(a, blob(l.digest))), { size: l.size, what: `layer ${l.digest.slice(7, 19)}` });
    await unpackLayer(deps.root, { blob: deps.content.path(l.digest), mediaType: l.mediaType, diffId: diffIds[i] }, { maxBytes: deps.maxLayerBytes });
    layers.push({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: diffIds[i] });
  }
  await deps.content.ingest(d.digest, body, { what: 'manifest' });
  const name = nameFrom(ann);
  return [{ tags: name ? [name] : [], rec: deps.store.put({
    id: m.config.digest, repoTags: name ? [name] : [], repoDigests: [], manifestDigest: d.digest, layers,
    created: config.created ?? new Date(0).toISOString(), size: layers.reduce((n, l) => n + l.size, 0),
    os: config.os ?? 'linux', architecture: config.architecture ?? hostPlatform().architecture,
  }) }];
}
