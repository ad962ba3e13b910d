/**
 * A pull-side client of the OCI distribution API v2: manifests (with the Accept
 * list for OCI and Docker types), blobs, bearer-token and basic auth, plain HTTP
 * for registries named insecure (`--insecure-registry HOST:PORT`). Uses Node's fetch.
 *
 * A registry is not trusted with the daemon's memory, time or secrets:
 * - manifests and token replies are read up to a cap (4 MiB, 1 MiB);
 * - every request has a timeout, and a blob body that stalls (no bytes for
 *   `stallMs`) is aborted; a blob is counted and hashed while it streams, so one
 *   longer than its descriptor says stops at once, and one that does not match
 *   its digest fails at its end;
 * - redirects are followed by hand (at most 5): the Authorization header goes to
 *   the registry's own origin only, and never from HTTPS down to HTTP;
 * - Basic credentials go to a token realm only on the registry's own host (or
 *   Docker Hub's auth.docker.io for docker.io), and over plain HTTP only when the
 *   registry is marked insecure; otherwise the token is asked for anonymously.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
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
  /** Per-request timeout for manifests and tokens (whole answer), and for a blob's headers, ms; default 30 000. */
  timeoutMs?: number;
  /** A blob body that sends nothing for this long is aborted, ms; default 60 000. */
  stallMs?: number;
  /** Largest manifest or index, bytes; default 4 MiB. */
  maxManifestBytes?: number;
  /** Largest token reply, bytes; default 1 MiB. */
  maxTokenBytes?: number;
  fetch?: typeof fetch;
}

/** A fetched manifest or index. */
export interface FetchedManifest { mediaType: string; digest: string; body: Buffer }

const MAX_REDIRECTS = 5;

/** Reads `res`'s body, at most `max` bytes (RegistryError beyond). */
async function readCapped(res: Response, max: number, what: string): Promise<Buffer> {
  const len = Number(res.headers.get('content-length') ?? NaN);
  if (len > max) { await res.body?.cancel().catch(() => {}); throw new RegistryError(`${what}: ${len} bytes, at most ${max}`); }
  if (!res.body) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  let n = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) { await reader.cancel().catch(() => {}); throw new RegistryError(`${what}: more than ${max} bytes`); }
    parts.push(Buffer.from(value));
  }
  return Buffer.concat(parts);
}

/** Talks to registries; keeps bearer tokens per host and scope. */
export class RegistryClient {
  private readonly tokens = new Map<string, string>();
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: RegistryClientOptions = {}) {
    this.fetch = opts.fetch ?? fetch;
  }

  private get timeoutMs(): number { return this.opts.timeoutMs ?? 30_000; }

  private insecure(host: string): boolean { return (this.opts.insecure ?? []).includes(host); }

  /** Base URL of the API for a reference's registry. */
  baseUrl(ref: ImageReference): string {
    const host = ref.domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : ref.domain;
    return `${this.insecure(ref.domain) ? 'http' : 'https'}://${host}/v2/${ref.path}`;
  }

  /** GET with redirects followed by hand: `authorization` only to `url`'s own origin, never HTTPS → HTTP. */
  private async get(ref: ImageReference, url: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    const origin = new URL(url).origin;
    let at = new URL(url);
    for (let hop = 0; ; hop++) {
      const h = { ...headers };
      if (at.origin !== origin) delete h.authorization;
      let res: Response;
      try { res = await this.fetch(at, { headers: h, redirect: 'manual', signal }); } catch (e) { throw new RegistryUnreachableError(ref.domain, e); }
      const loc = res.headers.get('location');
      if (res.status < 300 || res.status > 399 || !loc) return res;
      await res.body?.cancel().catch(() => {});
      if (hop >= MAX_REDIRECTS) throw new RegistryError(`${ref.domain}: too many redirects`);
      const next = new URL(loc, at);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new RegistryError(`${ref.domain}: redirect to ${next.protocol} refused`);
      if (next.protocol === 'http:' && at.protocol === 'https:') throw new RegistryError(`${ref.domain}: redirect from HTTPS to plain HTTP refused`);
      at = next;
    }
  }

  private async request(ref: ImageReference, url: string, init: { accept?: string; signal: () => AbortSignal }): Promise<Response> {
    const scope = `repository:${ref.path}:pull`;
    const key = `${ref.domain} ${scope}`;
    const headers: Record<string, string> = {};
    if (init.accept) headers.accept = init.accept;
    const send = () => {
      const t = this.tokens.get(key);
      if (t) headers.authorization = t;
      return this.get(ref, url, headers, init.signal());
    };
    let res = await send();
    if (res.status === 401) {
      const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
      await res.body?.cancel().catch(() => {});
      if (!challenge) throw new RegistryAuthError(`${ref.domain}: unauthorized and no challenge`);
      this.tokens.set(key, await this.authorize(ref, challenge, scope));
      res = await send();
      if (res.status === 401) throw new RegistryAuthError(`${ref.domain}: pull access denied for ${ref.path}: unauthorized`);
    }
    return res;
  }

  /** Whether Basic credentials for `ref`'s registry may go to token realm `u`. */
  private mayCarryCredentials(ref: ImageReference, u: URL): boolean {
    const registryHost = ref.domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : ref.domain;
    const sameHost = u.host === registryHost || (ref.domain === DEFAULT_DOMAIN && u.host === 'auth.docker.io');
    return sameHost && (u.protocol === 'https:' || this.insecure(ref.domain));
  }

  private async authorize(ref: ImageReference, ch: { scheme: string; params: Record<string, string> }, scope: string): Promise<string> {
    const creds = this.opts.credentials?.(ref.domain);
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (ch.scheme === 'basic') {
      if (!basic) throw new RegistryAuthError(`${ref.domain}: basic auth required and no credentials`);
      return basic;
    }
    if (ch.scheme !== 'bearer' || !ch.params.realm) throw new RegistryAuthError(`${ref.domain}: unsupported auth challenge ${ch.scheme}`);
    let u: URL;
    try { u = new URL(ch.params.realm); } catch { throw new RegistryAuthError(`${ref.domain}: bad token realm`); }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new RegistryAuthError(`${ref.domain}: token realm ${u.protocol} refused`);
    if (ch.params.service) u.searchParams.set('service', ch.params.service);
    u.searchParams.set('scope', ch.params.scope ?? scope);
    const withCreds = basic !== undefined && this.mayCarryCredentials(ref, u);
    const res = await this.get(ref, u.toString(), withCreds ? { authorization: basic } : {}, AbortSignal.timeout(this.timeoutMs));
    const held = basic && !withCreds ? ` (credentials withheld from realm ${u.protocol}//${u.host}: not the registry's host, or plain HTTP)` : '';
    if (!res.ok) { await res.body?.cancel().catch(() => {}); throw new RegistryAuthError(`${ref.domain}: token request failed with ${res.status}${held}`); }
    const body = await readCapped(res, this.opts.maxTokenBytes ?? 1 << 20, `${ref.domain}: token reply`);
    let j: { token?: unknown; access_token?: unknown };
    try { j = JSON.parse(body.toString('utf8')); } catch { throw new RegistryAuthError(`${ref.domain}: token reply is not JSON`); }
    const tok = j?.token ?? j?.access_token;
    if (typeof tok !== 'string' || !tok || /[\r\n]/.test(tok)) throw new RegistryAuthError(`${ref.domain}: token response without token`);
    return `Bearer ${tok}`;
  }

  /** GETs manifest `reference` (tag or digest); verifies the digest when one is known. */
  async manifest(ref: ImageReference, reference: string): Promise<FetchedManifest> {
    if (reference.startsWith('sha256:') || !/^[\w][\w.-]{0,127}$/.test(reference)) checkDigest(reference, `manifest of ${ref.domain}/${ref.path}`);
    // One deadline for headers and body of each attempt.
    const res = await this.request(ref, `${this.baseUrl(ref)}/manifests/${reference}`, { accept: MANIFEST_ACCEPT, signal: () => AbortSignal.timeout(this.timeoutMs) });
    const name = `${ref.domain}/${ref.path}:${reference}`;
    if (res.status === 404) {
      const body = await readCapped(res, 64 * 1024, name).catch(() => Buffer.alloc(0));
      throw new ManifestUnknownError(name, /NAME_UNKNOWN/.test(body.toString()) ? 'repository unknown' : 'manifest unknown');
    }
    if (!res.ok) { await res.body?.cancel().catch(() => {}); throw new RegistryError(`${name}: registry answered ${res.status}`, res.status); }
    let body: Buffer;
    try { body = await readCapped(res, this.opts.maxManifestBytes ?? 4 << 20, `manifest ${name}`); } catch (e) {
      if (e instanceof RegistryError) throw e;
      throw new RegistryUnreachableError(ref.domain, e);
    }
    const digest = sha256(body);
    const expected = reference.startsWith('sha256:') ? reference : res.headers.get('docker-content-digest') ?? undefined;
    if (expected && expected !== digest) throw new DigestMismatchError(`manifest ${name}`, expected, digest);
    let mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    try { const j = JSON.parse(body.toString('utf8')); if (typeof j.mediaType === 'string') mediaType = j.mediaType; if (j.schemaVersion === 1) throw new RegistryError(`${name}: schema 1 manifests are not supported`); } catch (e) { if (e instanceof RegistryError) throw e; }
    return { mediaType, digest, body };
  }

  /**
   * A blob's body as a stream that errors once it passes `size` bytes (when given),
   * when no byte arrives for `stallMs`, or at its end when the sha256 is not `digest`.
   * `what` names the blob in errors (`layer 0123abcd`).
   */
  async blob(ref: ImageReference, digest: string, opts: { size?: number; what?: string } = {}): Promise<{ stream: Readable; size: number }> {
    checkDigest(digest, `blob of ${ref.domain}/${ref.path}`);
    const ac = new AbortController();
    const headersTimer = setTimeout(() => ac.abort(new RegistryUnreachableError(ref.domain, new Error(`no answer for blob ${digest} in ${this.timeoutMs} ms`))), this.timeoutMs);
    let res: Response;
    try { res = await this.request(ref, `${this.baseUrl(ref)}/blobs/${digest}`, { signal: () => ac.signal }); } finally { clearTimeout(headersTimer); }
    const what = opts.what ?? `blob ${digest.slice(0, 19)}`;
    if (res.status === 404) { await res.body?.cancel().catch(() => {}); throw new ManifestUnknownError(`${ref.domain}/${ref.path}@${digest}`, 'blob unknown'); }
    if (!res.ok || !res.body) { await res.body?.cancel().catch(() => {}); throw new RegistryError(`${what}: registry answered ${res.status}`, res.status); }
    const length = Number(res.headers.get('content-length') ?? -1);
    if (opts.size !== undefined && length > opts.size) { ac.abort(); throw new RegistryError(`${what}: registry sends ${length} bytes, the descriptor says ${opts.size}`); }
    const stallMs = this.opts.stallMs ?? 60_000;
    const hash = createHash('sha256');
    let n = 0;
    let stall: NodeJS.Timeout | undefined;
    const guard = new Transform({
      transform(chunk: Buffer, _e, cb) {
        n += chunk.length;
        if (opts.size !== undefined && n > opts.size) { cb(new RegistryError(`${what}: more than the ${opts.size} bytes its descriptor says`)); return; }
        hash.update(chunk);
        arm();
        cb(null, chunk);
      },
      flush(cb) {
        clearTimeout(stall);
        const actual = `sha256:${hash.digest('hex')}`;
        cb(actual === digest ? null : new DigestMismatchError(what, digest, actual));
      },
      destroy(err, cb) { clearTimeout(stall); ac.abort(); cb(err); },
    });
    const arm = () => {
      clearTimeout(stall);
      stall = setTimeout(() => guard.destroy(new RegistryUnreachableError(ref.domain, new Error(`${what} stalled: no data for ${stallMs} ms`))), stallMs);
    };
    arm();
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('error', (e) => guard.destroy(e instanceof RegistryUnreachableError ? e : new RegistryUnreachableError(ref.domain, e)));
    body.pipe(guard);
    return { stream: guard, size: length };
  }
}
