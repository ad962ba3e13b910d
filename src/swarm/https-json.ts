/** A JSON request to another node's 2377 endpoint over TLS, with a timeout and Docker-style errors. */
import https from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { ApiError, UnavailableError } from '../api/errors.ts';

export function httpsJson<T>(
  addr: string,
  method: string,
  path: string,
  opts: { tls: ConnectionOptions; body?: unknown; timeoutMs?: number },
): Promise<T> {
  const [host, portText] = splitHostPort(addr);
  const text = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise<T>((resolve, reject) => {
    const req = https.request(
      {
        ...opts.tls,
        host,
        port: Number(portText),
        method,
        path,
        headers: text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {},
        timeout: opts.timeoutMs ?? 10_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = body ? JSON.parse(body) : undefined;
          } catch {
            parsed = body;
          }
          if ((res.statusCode ?? 500) >= 400) {
            const message = (parsed as { message?: string })?.message ?? `HTTP ${res.statusCode}`;
            reject(new ApiError(message, res.statusCode ?? 500));
          } else resolve(parsed as T);
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new UnavailableError(`timeout connecting to ${addr}`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof ApiError) reject(err);
      else reject(new UnavailableError(`cannot reach ${addr}: ${err.code ?? err.message}`, { cause: err }));
    });
    req.end(text);
  });
}

/** Splits `IP:PORT` or `[IPv6]:PORT`. */
export function splitHostPort(addr: string): [string, string] {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr);
  if (!m) throw new ApiError(`invalid address "${addr}": expected IP:PORT`, 400);
  return [m[1], m[2]];
}
