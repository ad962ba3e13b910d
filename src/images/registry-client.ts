/**
 * A pull-side client of the OCI distribution API v2: manifests (with the Accept
 * list for OCI and Docker types), blobs, bearer-token and basic auth, plain HTTP
 * for registries named insecure (`--insecure-registry HOST:PORT`). Uses Node's fetch.
 */
import { Readable } from 'node:stream';
import { MANIFEST_ACCEPT, parseChallenge } from './media.ts';
import { sha256 } from './content-store.ts';
import { checkDigest } from './digest.ts';
import { DigestMismatchError, ManifestUnknownError, RegistryAuthError, RegistryError, RegistryUnreachableError } from './errors.ts';
import { DEFAULT_DOMAIN, type ImageReference } from './reference.ts';

/** Username/password (or identity token as password) for one registry. */
export interface Credentials { username: string; password: string }

/** Options of a RegistryClient. */
export interface RegistryClientOptions {
  /** Registries (`host:port`) reached over plain HTTP. Loopback hosts are not implied. */
  insecure?: string[];
  /** Credentials per registry host, if any. */
  credentials?: (host: string) => Credentials | undefined;
  /** Per-request timeout for manifests and tokens, ms; default 30 000. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** A fetched manifest or index. */
export interface FetchedManifest { mediaType: string; digest: string; body: Buffer }

/** Talks to registries; keeps bearer tokens per host and scope. */
export class RegistryClient {
  private readonly tokens = new Map<string, string>();
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: RegistryClientOptions = {}) {
    this.fetch = opts.fetch ?? fetch;
  }

  /** Base URL of the API for a reference's registry. */
  baseUrl(ref: ImageReference): string {
    const host = ref.domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : ref.domain;
    const insecure = (this.opts.insecure ?? []).includes(ref.domain);
    return `${insecure ? 'http' : 'https'}://${host}/v2/${ref.path}`;
  }

  private async request(ref: ImageReference, url: string, init: { accept?: string; timeout?: boolean } = {}): Promise<Response> {
    const scope = `repository:${ref.path}:pull`;
    const key = `${ref.domain} ${scope}`;
    const headers: Record<string, string> = {};
    if (init.accept) headers.accept = init.accept;
    const send = async () => {
      const t = this.tokens.get(key);
      if (t) headers.authorization = t;
      try {
        return await this.fetch(url, { headers, redirect: 'follow', signal: init.timeout === false ? undefined : AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
      } catch (e) {
        throw new RegistryUnreachableError(ref.domain, e);
      }
    };
    let res = await send();
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
      await res.arrayBuffer().catch(() => {});
      if (!challenge) throw new RegistryAuthError(`${ref.domain}: unauthorized and no challenge`);
      this.tokens.set(key, await this.authorize(ref, challenge, scope));
      res = await send();
      if (res.status === 401) throw new RegistryAuthError(`${ref.domain}: pull access denied for ${ref.path}: unauthorized`);
    }
    return res;
  }

  private async authorize(ref: ImageReference, ch: { scheme: string; params: Record<string, string> }, scope: string): Promise<string> {
    const creds = this.opts.credentials?.(ref.domain);
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (ch.scheme === 'basic') {
      if (!basic) throw new RegistryAuthError(`${ref.domain}: basic auth required and no credentials`);
      return basic;
    }
    if (ch.scheme !== 'bearer' || !ch.params.realm) throw new RegistryAuthError(`${ref.domain}: unsupported auth challenge ${ch.scheme}`);
    const u = new URL(ch.params.realm);
    if (ch.params.service) u.searchParams.set('service', ch.params.service);
    u.searchParams.set('scope', ch.params.scope ?? scope);
    let res: Response;
    try {
      res = await this.fetch(u, { headers: basic ? { authorization: basic } : {}, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
    } catch (e) { throw new RegistryUnreachableError(u.host, e); }
    if (!res.ok) throw new RegistryAuthError(`${ref.domain}: token request failed with ${res.status}`);
    const j = (await res.json()) as { token?: string; access_token?: string };
    const tok = j.token ?? j.access_token;
    if (!tok) throw new RegistryAuthError(`${ref.domain}: token response without token`);
    return `Bearer ${tok}`;
  }

  /** GETs manifest `reference` (tag or digest); verifies the digest when one is known. */
  async manifest(ref: ImageReference, reference: string): Promise<FetchedManifest> {
    if (reference.startsWith('sha256:') || !/^[\w][\w.-]{0,127}$/.test(reference)) checkDigest(reference, `manifest of ${ref.domain}/${ref.path}`);
    const res = await this.request(ref, `${this.baseUrl(ref)}/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    const name = `${ref.domain}/${ref.path}:${reference}`;
    if (res.status === 404) {
      const body = await res.text().catch(() => '');
      throw new ManifestUnknownError(name, /NAME_UNKNOWN/.test(body) ? 'repository unknown' : 'manifest unknown');
    }
    if (!res.ok) throw new RegistryError(`${name}: registry answered ${res.status}`, res.status);
    const body = Buffer.from(await res.arrayBuffer());
    const digest = sha256(body);
    const expected = reference.startsWith('sha256:') ? reference : res.headers.get('docker-content-digest') ?? undefined;
    if (expected && expected !== digest) throw new DigestMismatchError(`manifest ${name}`, expected, digest);
    let mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    try { const j = JSON.parse(body.toString('utf8')); if (j.mediaType) mediaType = j.mediaType; if (j.schemaVersion === 1) throw new RegistryError(`${name}: schema 1 manifests are not supported`); } catch (e) { if (e instanceof RegistryError) throw e; }
    return { mediaType, digest, body };
  }

  /** A blob's body as a stream (the caller verifies the digest while storing it). */
  async blob(ref: ImageReference, digest: string): Promise<{ stream: Readable; size: number }> {
    checkDigest(digest, `blob of ${ref.domain}/${ref.path}`);
    const res = await this.request(ref, `${this.baseUrl(ref)}/blobs/${digest}`, { timeout: false });
    if (res.status === 404) throw new ManifestUnknownError(`${ref.domain}/${ref.path}@${digest}`, 'blob unknown');
    if (!res.ok || !res.body) throw new RegistryError(`blob ${digest}: registry answered ${res.status}`, res.status);
    return { stream: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), size: Number(res.headers.get('content-length') ?? -1) };
  }
}
