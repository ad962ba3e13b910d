// A tiny HTTP client over a unix socket (node:http `socketPath`), for talking to a lab
// host's daemon from the root namespace.
import { request } from 'node:http';

/** A response: status, headers and the body as text. */
export interface UnixResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Options of {@link unixRequest}. */
export interface UnixRequestOptions {
  method?: string;
  /** JSON-encoded when not a string. */
  body?: unknown;
  /** Gives up after this many ms. Default 10000. */
  timeoutMs?: number;
}

/** Sends one HTTP request to the server at `socketPath`. Rejects on connection errors. */
export function unixRequest(socketPath: string, path: string, opts: UnixRequestOptions = {}): Promise<UnixResponse> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const req = request({
      socketPath,
      path,
      method: opts.method ?? 'GET',
      headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      timeout: opts.timeoutMs ?? 10_000,
      // No pooled keep-alive socket: a daemon that goes away (or closes idle connections)
      // would leave a dead one for the next request to the same socket path (EPIPE).
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`unix-http: ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** True when `GET /_ping` on the socket answers 200 `OK`; false on any error. */
export async function ping(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const r = await unixRequest(socketPath, '/_ping', { timeoutMs });
    return r.status === 200 && r.body.trim() === 'OK';
  } catch {
    return false;
  }
}
