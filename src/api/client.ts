/**
 * A client of the Shoal control API (HTTP on a unix socket or TCP), used by the CLI,
 * the lab and tests. Error responses (`{"message": …}`) become `ApiError`s carrying
 * the status code.
 */
import http from 'node:http';
import { ApiError } from './errors.ts';
import { API_VERSION } from './types/system.ts';

/** Where the daemon listens when nothing else is said. */
export const DEFAULT_HOST = 'unix:///run/shoal/shoal.sock';

/** A parsed `--host` value: `unix:///path/to.sock` or `tcp://HOST:PORT`. */
export type HostAddress = { kind: 'unix'; socketPath: string } | { kind: 'tcp'; host: string; port: number };

/** Parses a `--host` value; throws a plain Error naming the bad value. */
export function parseHost(value: string): HostAddress {
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new Error(`invalid host "${value}": a unix socket path must be absolute`);
    return { kind: 'unix', socketPath };
  }
  if (value.startsWith('tcp://')) {
    const url = new URL(value.replace(/^tcp:/, 'http:'));
    const port = Number(url.port || 2375);
    if (!url.hostname) throw new Error(`invalid host "${value}": no host name`);
    return { kind: 'tcp', host: url.hostname.replace(/^\[|\]$/g, ''), port };
  }
  throw new Error(`invalid host "${value}": expected unix:///path or tcp://host:port`);
}

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body (objects) or a raw body (Buffer / string). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Milliseconds before the request is abandoned (default 60 s). */
  timeoutMs?: number;
}

/** A client certificate and the CA that signed the daemon's, as PEM (`--tlsverify`). */
export interface ClientTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export class ApiClient {
  readonly address: HostAddress;
  /** TLS for a tcp:// host served with `--tlsverify`; undefined: plain HTTP. */
  readonly tls?: ClientTls;

  constructor(host: string = DEFAULT_HOST, opts: { tls?: ClientTls } = {}) {
    this.address = parseHost(host);
    if (opts.tls && this.address.kind !== 'tcp') throw new Error(`invalid host "${host}": TLS needs a tcp:// host`);
    this.tls = opts.tls;
  }

  /**
   * An HTTP request to the daemon (unix socket, TCP, or TCP with TLS): the address and TLS
   * settings are filled in. For callers that stream; `request` collects the answer.
   */
  rawRequest(options: http.RequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const a = this.address;
    if (a.kind === 'unix') return http.request({ ...options, socketPath: a.socketPath }, onResponse);
    if (!this.tls) return http.request({ ...options, host: a.host, port: a.port }, onResponse);
    // The server's certificate must name the host (IP SAN or DNS) and chain to `ca`. https
    // (tls and crypto) loads here, not at import: it is a fifth of a CLI command's start-up.
    const https = process.getBuiltinModule('node:https');
    return https.request({ ...options, host: a.host, port: a.port, ca: this.tls.ca, cert: this.tls.cert, key: this.tls.key }, onResponse);
  }

  /** Sends one request and collects the whole response; never throws on a status code. */
  request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const { body, headers, buffer } = encodeBody(options);
    return new Promise((resolve, reject) => {
      const req = this.rawRequest(
        {
          method,
          path: `/v${API_VERSION}${path}${queryString(options.query)}`,
          headers: { ...headers, ...options.headers },
          timeout: options.timeoutMs ?? 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request to ${this.describe()} timed out`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.connectionError(err)));
      if (buffer) req.end(buffer);
      else if (body) req.end(body);
      else req.end();
    });
  }

  /** Sends a request and returns the parsed JSON body; a non-2xx status throws `ApiError`. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, options);
    if (res.status >= 400) throw errorFromResponse(res);
    if (res.body.length === 0) return undefined as T;
    return JSON.parse(res.body.toString('utf8')) as T;
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.json<T>('GET', path, options);
  }

  post<T>(path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
    return this.json<T>('POST', path, { ...options, body });
  }

  delete<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.json<T>('DELETE', path, options);
  }

  /** Human form of where the client connects, for error messages. */
  describe(): string {
    return this.address.kind === 'unix' ? `unix://${this.address.socketPath}` : `tcp://${this.address.host}:${this.address.port}`;
  }

  private connectionError(err: NodeJS.ErrnoException): Error {
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
      return new Error(`cannot connect to the Shoal daemon at ${this.describe()}: is the daemon running?`, { cause: err });
    }
    if (err.code === 'EACCES') return new Error(`permission denied on ${this.describe()}`, { cause: err });
    return err;
  }
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

function encodeBody(options: RequestOptions): { body?: string; buffer?: Buffer; headers: Record<string, string> } {
  const b = options.body;
  if (b === undefined) return { headers: {} };
  if (Buffer.isBuffer(b)) return { buffer: b, headers: { 'content-type': 'application/octet-stream', 'content-length': String(b.length) } };
  const text = typeof b === 'string' ? b : JSON.stringify(b);
  return { body: text, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } };
}

/** Turns an error response into an `ApiError` with the daemon's message. */
export function errorFromResponse(res: ApiResponse): ApiError {
  let message = res.body.toString('utf8').trim();
  try {
    const parsed = JSON.parse(message) as { message?: string };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON: keep the text as it is
  }
  return new ApiError(message || `HTTP ${res.status}`, res.status);
}
