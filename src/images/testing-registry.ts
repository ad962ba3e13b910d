/**
 * A tiny in-process OCI registry on 127.0.0.1 for the image tests: it serves
 * manifests and blobs from memory, and its `handle` hook lets a test answer a
 * request itself (stall, oversize, auth challenges, redirects). Test support only:
 * nothing in the daemon imports it.
 *
 *   const reg = await startTestingRegistry();
 *   const img = reg.addImage('evil/x', 'v1', { layers: [tarBytes], diffIds: ['sha256:../../swarm'] });
 *   … pull `${reg.host}/evil/x:v1` …
 *   await reg.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { MT } from './media.ts';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** What addImage stored. */
export interface TestingImage { manifestDigest: string; configDigest: string; layerDigests: string[]; manifest: Buffer; config: Buffer }

/** A running testing registry. */
export interface TestingRegistry {
  /** `127.0.0.1:PORT`. */
  host: string;
  server: Server;
  blobs: Map<string, Buffer>;
  /** `repo:tag` or `repo@digest` → manifest bytes and media type. */
  manifests: Map<string, { body: Buffer; mediaType: string }>;
  /** Requests seen, as `METHOD URL auth=…`. */
  log: string[];
  /** When set and returning true, the request was answered by the test. */
  handle?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Stores an image of raw tar layers; `diffIds` and `config` override what the config says. */
  addImage(repo: string, tag: string, opts: { layers: Buffer[]; diffIds?: string[]; config?: Record<string, unknown>; mediaType?: string }): TestingImage;
  close(): Promise<void>;
}

/** Starts a testing registry on 127.0.0.1 (a free port). */
export async function startTestingRegistry(): Promise<TestingRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { body: Buffer; mediaType: string }>();
  const reg = { blobs, manifests, log: [] as string[] } as TestingRegistry;
  reg.server = createServer(async (req, res) => {
    reg.log.push(`${req.method} ${req.url} auth=${req.headers.authorization ?? ''}`);
    if (reg.handle && (await reg.handle(req, res))) return;
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(req.url ?? '');
    if (!m) { res.writeHead(404).end(); return; }
    const [, repo, kind, ref] = m;
    if (kind === 'blobs') {
      const b = blobs.get(ref);
      if (!b) { res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}'); return; }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(b.length), 'docker-content-digest': ref }).end(b);
      return;
    }
    const man = manifests.get(ref.startsWith('sha256:') ? `${repo}@${ref}` : `${repo}:${ref}`);
    if (!man) { res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'); return; }
    res.writeHead(200, { 'content-type': man.mediaType, 'content-length': String(man.body.length), 'docker-content-digest': sha(man.body) }).end(man.body);
  });
  await new Promise<void>((r) => reg.server.listen(0, '127.0.0.1', r));
  reg.host = `127.0.0.1:${(reg.server.address() as { port: number }).port}`;
  reg.addImage = (repo, tag, opts) => {
    const layerDigests = opts.layers.map((l) => { const d = sha(l); blobs.set(d, l); return d; });
    const config = Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux', config: { Cmd: ['true'] },
      rootfs: { type: 'layers', diff_ids: opts.diffIds ?? opts.layers.map(sha) }, ...opts.config,
    }));
    const configDigest = sha(config);
    blobs.set(configDigest, config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MT.ociManifest,
      config: { mediaType: MT.ociConfig, digest: configDigest, size: config.length },
      layers: opts.layers.map((l, i) => ({ mediaType: opts.mediaType ?? MT.ociLayerTar, digest: layerDigests[i], size: l.length })),
    }));
    const manifestDigest = sha(manifest);
    manifests.set(`${repo}:${tag}`, { body: manifest, mediaType: MT.ociManifest });
    manifests.set(`${repo}@${manifestDigest}`, { body: manifest, mediaType: MT.ociManifest });
    return { manifestDigest, configDigest, layerDigests, manifest, config };
  };
  reg.close = async () => {
    reg.server.closeAllConnections();
    await new Promise((r) => reg.server.close(r));
  };
  return reg;
}
