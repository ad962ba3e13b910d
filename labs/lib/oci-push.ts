// Pushes tags of an OCI image layout to a registry over the OCI distribution API (plain
// HTTP, no auth: the lab registry). Blobs first (HEAD to skip existing ones, then a
// monolithic POST + PUT upload), then each manifest by tag.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobPath, type Descriptor } from './test-image.ts';

/** Thrown when the registry refuses a request. */
export class PushError extends Error {
  override name = 'PushError';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Options of {@link pushLayout}. */
export interface PushLayoutOptions {
  /** Tags (index ref names) to push; default every tagged manifest in the layout. */
  tags?: string[];
  /** The fetch to use (tests may inject one). Default the global fetch. */
  fetch?: typeof fetch;
}

/** One pushed tag: `registry/repo:tag` and its manifest digest. */
export interface PushedTag {
  ref: string;
  tag: string;
  digest: string;
}

const REF = 'org.opencontainers.image.ref.name';

/**
 * Pushes the tagged manifests of `layoutDir` to `http://<registry>/v2/<repo>/…`.
 * `registry` is `host:port`. Idempotent. Throws {@link PushError} on a refused request.
 */
export async function pushLayout(registry: string, repo: string, layoutDir: string, opts: PushLayoutOptions = {}): Promise<PushedTag[]> {
  const f = opts.fetch ?? fetch;
  const base = `http://${registry}/v2/${repo}`;
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const wanted = index.manifests.filter((d) => d.annotations?.[REF] && (!opts.tags || opts.tags.includes(d.annotations[REF])));
  if (opts.tags && wanted.length !== opts.tags.length) throw new PushError(`push: tags missing in ${layoutDir}: ${opts.tags.join(',')}`);
  const out: PushedTag[] = [];
  for (const d of wanted) {
    const manifestBytes = readFileSync(blobPath(layoutDir, d.digest));
    const m = JSON.parse(manifestBytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    for (const b of [m.config, ...m.layers]) await pushBlob(f, base, b.digest, readFileSync(blobPath(layoutDir, b.digest)));
    const tag = d.annotations![REF];
    const res = await f(`${base}/manifests/${tag}`, {
      method: 'PUT',
      headers: { 'content-type': d.mediaType },
      body: manifestBytes,
    });
    await res.arrayBuffer();
    if (res.status !== 201) throw new PushError(`push: manifest ${repo}:${tag} refused: ${res.status}`, res.status);
    const got = res.headers.get('docker-content-digest');
    if (got && got !== d.digest) throw new PushError(`push: registry stored ${got}, expected ${d.digest}`);
    out.push({ ref: `${registry}/${repo}:${tag}`, tag, digest: d.digest });
  }
  return out;
}

async function pushBlob(f: typeof fetch, base: string, digest: string, data: Buffer): Promise<void> {
  const head = await f(`${base}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return;
  const start = await f(`${base}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  const location = start.headers.get('location');
  if (start.status !== 202 || !location) throw new PushError(`push: upload start refused: ${start.status}`, start.status);
  const url = new URL(location, base);
  url.searchParams.set('digest', digest);
  const put = await f(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    body: data,
  });
  await put.arrayBuffer();
  if (put.status !== 201) throw new PushError(`push: blob ${digest} refused: ${put.status}`, put.status);
}
