/**
 * `image load`: an OCI image layout tarball or a `docker save` tarball (both the
 * classic form with `<id>/layer.tar` files and the OCI-based form of Engine ≥ 25).
 * When the tarball has Docker's `manifest.json`, its RepoTags name the images;
 * otherwise names come from the index annotations (`io.containerd.image.name`, or a
 * full reference in `org.opencontainers.image.ref.name`). Every blob is checked
 * against its digest on the way into the store.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, openSync, readSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, normalize } from 'node:path';
import type { ContentStore } from './content-store.ts';
import { BadArchiveError } from './errors.ts';
import type { ImageRecord, ImageStore, LayerRecord } from './image-store.ts';
import { checkDiffIds, checkIndex, checkManifest, hostPlatform, isIndex, MT, type Manifest } from './media.ts';
import { digestHex } from './digest.ts';
import { familiarString, parseReference } from './reference.ts';
import { unpackLayer } from './unpack.ts';

interface Loaded { rec: ImageRecord; tags: string[] }

/** What load needs. */
export interface LoadDeps {
  root: string; content: ContentStore; store: ImageStore;
  /** Most uncompressed bytes of one layer; default unpack.ts's DEFAULT_MAX_LAYER_BYTES. */
  maxLayerBytes?: number;
}

function extract(tarPath: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn('tar', ['-x', '-f', tarPath, '-C', dir, '--no-same-owner', '--no-same-permissions'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr!.on('data', (d) => (err += d));
    c.on('close', (code) => (code === 0 ? resolve() : reject(new BadArchiveError(`not a tar archive: ${err.trim()}`))));
  });
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

function inside(dir: string, rel: string): string {
  const p = normalize(join(dir, rel));
  if (!p.startsWith(dir + '/')) throw new BadArchiveError(`path escapes the archive: ${rel}`);
  if (!existsSync(p)) throw new BadArchiveError(`missing file ${rel}`);
  return p;
}

/** Loads every image of the tarball at `tarPath`; `emit` gets Docker-style `Loaded image: …` lines. */
export async function loadImages(deps: LoadDeps, tarPath: string, emit: (line: string) => void = () => {}): Promise<ImageRecord[]> {
  const dir = deps.content.tempPath('load');
  mkdirSync(dir, { recursive: true });
  try {
    await extract(tarPath, dir);
    const out: Loaded[] = [];
    if (existsSync(join(dir, 'manifest.json'))) {
      const entries = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Config: string; RepoTags?: string[] | null; Layers: string[] }[];
      for (const e of entries) out.push(await importDockerEntry(deps, dir, e));
    } else if (existsSync(join(dir, 'index.json'))) {
      const index = checkIndex(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')), 'index.json');
      for (const d of index.manifests) out.push(...(await importOciDescriptor(deps, dir, d, d.annotations)));
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

async function importDockerEntry(deps: LoadDeps, dir: string, e: { Config: string; RepoTags?: string[] | null; Layers: string[] }): Promise<Loaded> {
  const cfgPath = inside(dir, e.Config);
  const cfgBytes = readFileSync(cfgPath);
  const configDigest = `sha256:${createHash('sha256').update(cfgBytes).digest('hex')}`;
  const config = JSON.parse(cfgBytes.toString('utf8')) as { created?: string; os?: string; architecture?: string; rootfs?: { diff_ids?: string[] } };
  if (!Array.isArray(e.Layers)) throw new BadArchiveError('manifest.json: Layers is not a list');
  const diffIds = checkDiffIds(config, e.Layers.length, `config ${e.Config}`);
  const layers: LayerRecord[] = [];
  for (const [i, rel] of e.Layers.entries()) {
    const p = inside(dir, rel);
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

async function importOciDescriptor(deps: LoadDeps, dir: string, d: { mediaType: string; digest: string }, ann: Record<string, string> | undefined): Promise<Loaded[]> {
  const blob = (digest: string) => inside(dir, `blobs/sha256/${digestHex(digest, 'blob')}`);
  const body = readFileSync(blob(d.digest));
  const parsed = JSON.parse(body.toString('utf8'));
  if (isIndex(d.mediaType, parsed)) {
    const idx = checkIndex(parsed, `index ${d.digest}`);
    const plat = hostPlatform();
    const pick = idx.manifests.find((m) => !m.platform || (m.platform.os === plat.os && m.platform.architecture === plat.architecture));
    if (!pick) throw new BadArchiveError(`no manifest for ${plat.os}/${plat.architecture}`);
    return importOciDescriptor(deps, dir, pick, ann ?? pick.annotations);
  }
  const m = checkManifest(parsed, `manifest ${d.digest}`);
  await deps.content.ingest(m.config.digest, createReadStream(blob(m.config.digest)), { size: m.config.size, what: 'config' });
  const config = deps.content.readJson<{ created?: string; os?: string; architecture?: string; rootfs?: { diff_ids?: string[] } }>(m.config.digest);
  const diffIds = checkDiffIds(config, m.layers.length, `config ${m.config.digest}`);
  const layers: LayerRecord[] = [];
  for (const [i, l] of m.layers.entries()) {
    await deps.content.ingest(l.digest, createReadStream(blob(l.digest)), { size: l.size, what: `layer ${l.digest.slice(7, 19)}` });
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
