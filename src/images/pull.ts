/**
 * Pulling one image: resolve the tag (index → this host's platform), fetch config
 * and layers into the content store (sha256 checked on arrival), unpack each
 * layer once, then record the image. Progress is reported as Docker's JSON
 * progress messages so the HTTP route can stream them as they come.
 */
import type { ContentStore } from './content-store.ts';
import { BadDocumentError, PlatformError } from './errors.ts';
import type { ImageRecord, ImageStore, LayerRecord } from './image-store.ts';
import { checkDiffIds, checkIndex, checkManifest, hostPlatform, isIndex, type ImageConfigDoc } from './media.ts';
import { familiarName, familiarString, type ImageReference } from './reference.ts';
import type { RegistryClient } from './registry-client.ts';
import { layerPresent, unpackLayer } from './unpack.ts';

/** Largest image config a pull fetches, bytes (8 MiB). */
export const MAX_CONFIG_BYTES = 8 << 20;

/** One progress message (Docker's jsonmessage shape). */
export interface PullProgress {
  status: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
}

/** What a pull needs. */
export interface PullDeps {
  root: string;
  content: ContentStore;
  store: ImageStore;
  client: RegistryClient;
  /** Digests a failed pull must not collect because another pull is using them. */
  pin: (digest: string) => () => void;
  /** Most uncompressed bytes of one layer; default unpack.ts's DEFAULT_MAX_LAYER_BYTES. */
  maxLayerBytes?: number;
}

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

function parseJson(body: Buffer, what: string): unknown {
  try { return JSON.parse(body.toString('utf8')); } catch { throw new BadDocumentError(`${what}: not JSON`); }
}

/** Runs `fn` over `items` with at most `width` at a time. */
async function eachLimited<T>(items: T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => { while (i < items.length) await fn(items[i++]); };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** Pulls `ref`; `emit` receives progress. Resolves with the stored record. */
export async function pullImage(deps: PullDeps, ref: ImageReference, emit: (p: PullProgress) => void): Promise<ImageRecord> {
  const { content, store, client } = deps;
  const name = familiarName(ref);
  const unpins: (() => void)[] = [];
  const pin = (d: string) => unpins.push(deps.pin(d));
  try {
    const top = await client.manifest(ref, ref.digest ?? ref.tag!);
    // Only now, as Docker does: a reference that does not resolve fails before any output.
    emit({ status: `Pulling from ${ref.domain === 'docker.io' ? name : ref.path}`, id: ref.tag ?? ref.digest });
    let fetched = top;
    const topDoc = parseJson(top.body, `manifest ${familiarString(ref)}`);
    if (isIndex(top.mediaType, topDoc)) {
      const idx = checkIndex(topDoc, `index ${familiarString(ref)}`);
      const plat = hostPlatform();
      const desc = idx.manifests.find((m) => m.platform?.os === plat.os && m.platform?.architecture === plat.architecture && (!plat.variant || !m.platform.variant || m.platform.variant === plat.variant))
        ?? idx.manifests.find((m) => m.platform?.os === plat.os && m.platform?.architecture === plat.architecture);
      if (!desc) throw new PlatformError(familiarString(ref), `${plat.os}/${plat.architecture}`);
      fetched = await client.manifest(ref, desc.digest);
    }
    const what = `manifest ${familiarString(ref)}`;
    const manifest = checkManifest(parseJson(fetched.body, what), what);
    pin(manifest.config.digest);
    if (manifest.config.size > MAX_CONFIG_BYTES) throw new BadDocumentError(`${what}: config of ${manifest.config.size} bytes, at most ${MAX_CONFIG_BYTES}`);
    if (!content.has(manifest.config.digest)) {
      const b = await client.blob(ref, manifest.config.digest, { size: manifest.config.size, what: 'image config' });
      await content.ingest(manifest.config.digest, b.stream, { size: manifest.config.size, what: 'image config' });
    }
    const config = parseJson(content.read(manifest.config.digest), `image config of ${familiarString(ref)}`) as ImageConfigDoc;
    const diffIds = checkDiffIds(config, manifest.layers.length, `image config of ${familiarString(ref)}`);
    const layers: LayerRecord[] = manifest.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: diffIds[i] }));
    for (const l of layers) emit({ status: layerPresent(deps.root, l.diffId) ? 'Already exists' : 'Pulling fs layer', id: short(l.digest) });
    await eachLimited(layers, 3, async (l) => {
      pin(l.digest);
      if (layerPresent(deps.root, l.diffId)) return;
      if (!content.has(l.digest)) {
        const b = await client.blob(ref, l.digest, { size: l.size, what: `layer ${short(l.digest)}` });
        let last = 0;
        await content.ingest(l.digest, b.stream, {
          size: l.size, what: `layer ${short(l.digest)}`,
          onBytes: (n) => { if (n - last >= 512 * 1024 || n === l.size) { last = n; emit({ status: 'Downloading', id: short(l.digest), progressDetail: { current: n, total: l.size } }); } },
        });
        emit({ status: 'Download complete', id: short(l.digest) });
      }
      emit({ status: 'Extracting', id: short(l.digest) });
      await unpackLayer(deps.root, { blob: content.path(l.digest), mediaType: l.mediaType, diffId: l.diffId }, { maxBytes: deps.maxLayerBytes });
      emit({ status: 'Pull complete', id: short(l.digest) });
    });
    pin(fetched.digest);
    await content.ingest(fetched.digest, fetched.body, { what: 'manifest' });
    const existed = !!store.get(manifest.config.digest)?.repoTags.includes(familiarString(ref));
    const rec = store.put({
      id: manifest.config.digest,
      repoTags: ref.tag ? [`${name}:${ref.tag}`] : [],
      repoDigests: [`${name}@${top.digest}`],
      manifestDigest: fetched.digest,
      layers,
      created: config.created ?? new Date(0).toISOString(),
      size: layers.reduce((n, l) => n + l.size, 0),
      os: config.os ?? 'linux',
      architecture: config.architecture ?? hostPlatform().architecture,
    });
    emit({ status: `Digest: ${top.digest}` });
    emit({ status: existed ? `Status: Image is up to date for ${familiarString(ref)}` : `Status: Downloaded newer image for ${familiarString(ref)}` });
    return rec;
  } finally {
    for (const u of unpins) u();
  }
}
