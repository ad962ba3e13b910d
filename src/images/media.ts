/** OCI and Docker media types, and pure choices over manifests. */
import { checkDigest } from './digest.ts';
import { BadDocumentError } from './errors.ts';

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

/** Accept header for manifest requests: indexes and image manifests, OCI and Docker. */
export const MANIFEST_ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ');

/** A content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

/** An image manifest (OCI or Docker schema 2). */
export interface Manifest { schemaVersion: number; mediaType?: string; config: Descriptor; layers: Descriptor[] }
/** An image index / manifest list. */
export interface Index { schemaVersion: number; mediaType?: string; manifests: Descriptor[] }

/** True for index / manifest-list media types (or a body that has `manifests`). */
export function isIndex(mediaType: string | undefined, body?: unknown): boolean {
  if (mediaType === MT.ociIndex || mediaType === MT.dockerList) return true;
  if (mediaType === MT.ociManifest || mediaType === MT.dockerManifest) return false;
  return !!body && typeof body === 'object' && Array.isArray((body as Index).manifests);
}

/** How a layer blob is compressed. */
export function layerCompression(mediaType: string): 'gzip' | 'zstd' | 'none' {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar') || mediaType.endsWith('tar')) return 'none';
  throw new Error(`images: unsupported layer media type ${mediaType}`);
}

/** The host platform as OCI names it. */
export function hostPlatform(arch: string = process.arch): { os: string; architecture: string; variant?: string } {
  const map: Record<string, { architecture: string; variant?: string }> = {
    x64: { architecture: 'amd64' }, arm64: { architecture: 'arm64', variant: 'v8' }, arm: { architecture: 'arm', variant: 'v7' },
    ia32: { architecture: '386' }, ppc64: { architecture: 'ppc64le' }, s390x: { architecture: 's390x' }, riscv64: { architecture: 'riscv64' },
  };
  return { os: 'linux', ...(map[arch] ?? { architecture: arch }) };
}

/** Picks the manifest for `platform` from an index (variant must match when both give one). */
export function selectPlatform(index: Index, platform = hostPlatform()): Descriptor | undefined {
  const cands = index.manifests.filter((m) => m.platform?.os === platform.os && m.platform?.architecture === platform.architecture);
  return cands.find((m) => !platform.variant || !m.platform?.variant || m.platform.variant === platform.variant) ?? cands[0];
}

/**
 * Parses a `WWW-Authenticate` challenge: scheme plus its parameters
 * (`Bearer realm="https://auth",service="reg",scope="repository:a/b:pull"`).
 */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]))) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}

/** Most layers an image may have (overlayfs stacks fail far earlier in practice). */
export const MAX_LAYERS = 256;


function checkSize(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new BadDocumentError(`${what}: size must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Checks the shape of an image manifest: a config descriptor and at most MAX_LAYERS
 * layer descriptors, each with a well-formed digest (InvalidDigestError otherwise),
 * a non-negative integer size and a media type. Throws BadDocumentError.
 */
export function checkManifest(m: unknown, what: string): Manifest {
  const o = m as Manifest;
  if (!o || typeof o !== 'object' || !o.config || typeof o.config !== 'object' || !Array.isArray(o.layers)) throw new BadDocumentError(`${what}: not an image manifest`);
  checkDigest(o.config.digest, `${what}: config`);
  checkSize(o.config.size, `${what}: config`);
  if (o.layers.length > MAX_LAYERS) throw new BadDocumentError(`${what}: ${o.layers.length} layers, at most ${MAX_LAYERS}`);
  o.layers.forEach((l, i) => {
    if (!l || typeof l !== 'object' || typeof l.mediaType !== 'string') throw new BadDocumentError(`${what}: layer ${i} has no media type`);
    checkDigest(l.digest, `${what}: layer ${i}`);
    checkSize(l.size, `${what}: layer ${i}`);
  });
  return o;
}

/** Checks an index: a `manifests` array whose entries have well-formed digests. */
export function checkIndex(x: unknown, what: string): Index {
  const o = x as Index;
  if (!o || typeof o !== 'object' || !Array.isArray(o.manifests)) throw new BadDocumentError(`${what}: not an image index`);
  o.manifests.forEach((d, i) => {
    if (!d || typeof d !== 'object') throw new BadDocumentError(`${what}: manifests[${i}] is not a descriptor`);
    checkDigest(d.digest, `${what}: manifests[${i}]`);
  });
  return o;
}

/** The parts of an image config Shoal reads. */
export interface ImageConfigDoc { created?: string; os?: string; architecture?: string; rootfs?: { diff_ids?: string[] } }

/**
 * The config's `rootfs.diff_ids`, each checked (InvalidDigestError names
 * `diff_ids[i]`), and exactly `layers` of them (BadDocumentError otherwise).
 */
export function checkDiffIds(config: ImageConfigDoc, layers: number, what: string): string[] {
  const ids = config?.rootfs?.diff_ids ?? [];
  if (!Array.isArray(ids)) throw new BadDocumentError(`${what}: rootfs.diff_ids is not a list`);
  if (ids.length !== layers) throw new BadDocumentError(`${what}: config lists ${ids.length} layers, manifest ${layers}`);
  return ids.map((d, i) => checkDigest(d, `${what}: diff_ids[${i}]`));
}
