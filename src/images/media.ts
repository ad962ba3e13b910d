/** OCI and Docker media types, and pure choices over manifests. */

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
