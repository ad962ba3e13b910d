// The lab's test image: an OCI image layout holding Debian's static busybox, built by our
// own code (a ustar writer + node:zlib, sha256 digests), deterministic for a given busybox.
//
//   const img = buildTestImage('/tmp/x/layout', { version: 'v1' });
//   // img.layoutDir has oci-layout, index.json (ref name "v1"), blobs/sha256/...
//   writeOciTarball(img.layoutDir, '/tmp/x/bb.tar');   // for `image load` tests
//
// The image: /bin/busybox plus a symlink per applet (sh, httpd, nc, wget, nslookup, sleep,
// ip, ping, ...), /etc/passwd and /etc/group with root and nobody (65534), /etc/hosts,
// /www/index.html and /www/VERSION (`v1` or `v2`: the only difference between the tags),
// default Cmd `httpd -f -p 80 -h /www`.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeTar, type TarEntry } from './tar.ts';

/** OCI media types used by the test image. */
export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** Versions of the test image; they differ only in /www/VERSION. */
export type TestImageVersion = 'v1' | 'v2';

/** Repository (without registry host) the lab pushes the test image to. */
export const TEST_IMAGE_REPO = 'shoal/bb';

/** Path of the static busybox the image is built from (Debian's busybox-static). */
export const BUSYBOX_PATH = '/bin/busybox';

/** Options of {@link buildTestImage}. */
export interface BuildTestImageOptions {
  /** Content of /www/VERSION, also the tag (ref name) in the layout's index. Default 'v1'. */
  version?: TestImageVersion;
  /** Static busybox binary to put in. Default {@link BUSYBOX_PATH}. */
  busybox?: string;
}

/** A descriptor as OCI writes it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** What {@link buildTestImage} wrote. All digests are `sha256:<hex>`. */
export interface TestImage {
  /** The OCI image layout directory (may hold other tags too). */
  layoutDir: string;
  /** The tag of this image in the layout's index.json (ref name annotation). */
  tag: TestImageVersion;
  manifestDigest: string;
  manifestSize: number;
  configDigest: string;
  /** Digest of the gzip-compressed layer blob. */
  layerDigest: string;
  /** Digest of the uncompressed layer tar (the config's rootfs.diff_ids[0]). */
  diffId: string;
  /** Paths of every blob written, relative to layoutDir, ordered config, layer, manifest. */
  blobs: string[];
}

/** `sha256:<hex>` of bytes. */
export function sha256Digest(data: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

const APPLETS_FALLBACK = [
  'sh', 'ash', 'httpd', 'nc', 'nslookup', 'wget', 'sleep', 'cat', 'echo', 'ls', 'hostname', 'ip',
  'ifconfig', 'ping', 'env', 'id', 'touch', 'mkdir', 'rm', 'head', 'tail', 'grep', 'dd', 'yes',
  'timeout', 'kill', 'ps', 'true', 'false', 'sed', 'awk', 'wc', 'date', 'uname', 'cp', 'mv', 'ln',
  'chmod', 'chown', 'df', 'du', 'find', 'xargs', 'sort', 'uniq', 'tr', 'cut', 'test', 'printf',
  'seq', 'usleep', 'whoami', 'netstat', 'route', 'traceroute', 'telnet', 'vi', 'tee', 'stat',
];

/** The applets of a busybox binary (`busybox --list`), sorted; a fixed list if it cannot run. */
function applets(busybox: string): string[] {
  try {
    const out = execFileSync(busybox, ['--list'], { encoding: 'utf8' });
    const names = out.split('\n').map((s) => s.trim()).filter((s) => s && s !== 'busybox' && !s.includes('/'));
    return [...new Set(names)].sort();
  } catch {
    return [...APPLETS_FALLBACK].sort();
  }
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';
const HOSTS = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';
const INDEX_HTML = '<html><body><h1>shoal test image</h1></body></html>\n';

/** The layer's entries, in a fixed order (directories before their content). */
export function testImageEntries(version: TestImageVersion, busybox = BUSYBOX_PATH): TarEntry[] {
  const text = (s: string) => Buffer.from(s, 'utf8');
  const entries: TarEntry[] = [
    { type: 'dir', path: 'bin' },
    { type: 'file', path: 'bin/busybox', data: readFileSync(busybox), mode: 0o755 },
    ...applets(busybox).map((a): TarEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    { type: 'dir', path: 'dev' },
    { type: 'dir', path: 'etc' },
    { type: 'file', path: 'etc/group', data: text(GROUP) },
    { type: 'file', path: 'etc/hosts', data: text(HOSTS) },
    { type: 'file', path: 'etc/passwd', data: text(PASSWD) },
    { type: 'dir', path: 'proc', mode: 0o555 },
    { type: 'dir', path: 'root', mode: 0o700 },
    { type: 'dir', path: 'run' },
    { type: 'dir', path: 'sys', mode: 0o555 },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'dir', path: 'usr' },
    { type: 'dir', path: 'usr/bin' },
    { type: 'symlink', path: 'usr/bin/env', target: '../../bin/busybox' },
    { type: 'dir', path: 'var' },
    { type: 'dir', path: 'www' },
    { type: 'file', path: 'www/VERSION', data: text(version + '\n') },
    { type: 'file', path: 'www/index.html', data: text(INDEX_HTML) },
  ];
  return entries;
}

/** Fixed creation time of the image config, so digests are stable. */
const CREATED = '2024-01-01T00:00:00Z';

function writeBlob(layoutDir: string, data: Uint8Array): { digest: string; rel: string } {
  const digest = sha256Digest(data);
  const rel = join('blobs', 'sha256', digest.slice('sha256:'.length));
  const path = join(layoutDir, rel);
  if (!existsSync(path)) writeFileSync(path, data);
  return { digest, rel };
}

/** Canonical JSON bytes (keys in insertion order, no whitespace). */
function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/**
 * Writes the test image into the OCI image layout at `layoutDir` (created if missing; an
 * existing layout keeps its other tags, a same-named tag is replaced) and returns its
 * digests. Deterministic: the same busybox and version always give the same manifest digest,
 * and v1 and v2 always differ. Synchronous; takes about 0.2 s (gzip of ~2 MB).
 */
export function buildTestImage(layoutDir: string, opts: BuildTestImageOptions = {}): TestImage {
  const version = opts.version ?? 'v1';
  mkdirSync(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  const tar = writeTar(testImageEntries(version, opts.busybox));
  const diffId = sha256Digest(tar);
  const gz = gzipSync(tar, { level: 9 });
  const layer = writeBlob(layoutDir, gz);

  const config = {
    created: CREATED,
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['httpd', '-f', '-p', '80', '-h', '/www'],
      WorkingDir: '/',
      ExposedPorts: { '80/tcp': {} },
      Labels: { 'org.opencontainers.image.version': version },
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: CREATED, created_by: `shoal labs/lib/test-image.ts (busybox, ${version})` }],
  };
  const configBytes = jsonBytes(config);
  const cfg = writeBlob(layoutDir, configBytes);

  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: cfg.digest, size: configBytes.length },
    layers: [{ mediaType: MEDIA_TYPES.layerGzip, digest: layer.digest, size: gz.length }],
    annotations: { 'org.opencontainers.image.version': version },
  };
  const manifestBytes = jsonBytes(manifest);
  const man = writeBlob(layoutDir, manifestBytes);

  const indexPath = join(layoutDir, 'index.json');
  const old: { manifests?: Descriptor[] } = existsSync(indexPath) ? JSON.parse(readFileSync(indexPath, 'utf8')) : {};
  const REF = 'org.opencontainers.image.ref.name';
  const manifests = (old.manifests ?? []).filter((d) => d.annotations?.[REF] !== version);
  manifests.push({
    mediaType: MEDIA_TYPES.manifest,
    digest: man.digest,
    size: manifestBytes.length,
    annotations: { [REF]: version },
  });
  manifests.sort((a, b) => (a.annotations?.[REF] ?? '').localeCompare(b.annotations?.[REF] ?? ''));
  writeFileSync(indexPath, JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests }));

  return {
    layoutDir,
    tag: version,
    manifestDigest: man.digest,
    manifestSize: manifestBytes.length,
    configDigest: cfg.digest,
    layerDigest: layer.digest,
    diffId,
    blobs: [cfg.rel, layer.rel, man.rel],
  };
}

/** Options of {@link writeOciTarball}. */
export interface OciTarballOptions {
  /**
   * Also write Docker's `manifest.json` (as `docker save` since Engine 25 does), with
   * RepoTags `<repoTag>:<ref name>` per tagged manifest. Default 'shoal/bb'; null to omit.
   */
  repoTag?: string | null;
}

/**
 * Writes the OCI image layout at `layoutDir` as one uncompressed tarball at `tarPath`
 * (`oci-layout`, `index.json`, optional `manifest.json`, then every blob, sorted), the
 * format `image load` accepts. Deterministic. Returns the tarball's size in bytes.
 */
export function writeOciTarball(layoutDir: string, tarPath: string, opts: OciTarballOptions = {}): number {
  const repoTag = opts.repoTag === undefined ? TEST_IMAGE_REPO : opts.repoTag;
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const entries: TarEntry[] = [
    { type: 'file', path: 'oci-layout', data: readFileSync(join(layoutDir, 'oci-layout')) },
    { type: 'file', path: 'index.json', data: readFileSync(join(layoutDir, 'index.json')) },
  ];
  if (repoTag !== null) {
    const docker = index.manifests.map((d) => {
      const m = JSON.parse(readFileSync(blobPath(layoutDir, d.digest), 'utf8')) as {
        config: Descriptor; layers: Descriptor[];
      };
      const ref = d.annotations?.['org.opencontainers.image.ref.name'];
      return {
        Config: blobRel(m.config.digest),
        RepoTags: ref ? [`${repoTag}:${ref}`] : [],
        Layers: m.layers.map((l) => blobRel(l.digest)),
      };
    });
    entries.push({ type: 'file', path: 'manifest.json', data: jsonBytes(docker) });
  }
  entries.push({ type: 'dir', path: 'blobs' }, { type: 'dir', path: 'blobs/sha256' });
  for (const name of readdirSync(join(layoutDir, 'blobs', 'sha256')).sort()) {
    entries.push({ type: 'file', path: `blobs/sha256/${name}`, data: readFileSync(join(layoutDir, 'blobs', 'sha256', name)) });
  }
  const tar = writeTar(entries);
  writeFileSync(tarPath, tar);
  return tar.length;
}

function blobRel(digest: string): string {
  return `blobs/sha256/${digest.replace(/^sha256:/, '')}`;
}

/** Path of a blob inside an OCI layout. */
export function blobPath(layoutDir: string, digest: string): string {
  return join(layoutDir, blobRel(digest));
}
