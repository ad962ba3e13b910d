/**
 * Streaming requests to the control API (`GET /events`, `…/logs?follow=1`): the response
 * is handed over as it arrives instead of being collected. A status of 400 or more is
 * read whole and thrown as the daemon's `ApiError`.
 */
import http from 'node:http';
import { API_VERSION } from './types/system.ts';
import { errorFromResponse, type ApiClient } from './client.ts';

export interface StreamOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** Aborting ends the request and the response. */
  signal?: AbortSignal;
}

/** Opens `GET path` on the client's daemon; resolves with the response once its head arrived. */
export function openStream(client: ApiClient, path: string, opts: StreamOptions = {}): Promise<http.IncomingMessage> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return new Promise((resolve, reject) => {
    const req = client.rawRequest({
      method: 'GET',
      path: `/v${API_VERSION}${path}${qs ? `?${qs}` : ''}`,
      signal: opts.signal,
    }, (res) => {
      if ((res.statusCode ?? 0) < 400) return resolve(res);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(errorFromResponse({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })));
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new Error(`cannot connect to the Shoal daemon at ${client.describe()}: is the daemon running?`, { cause: err }));
      else reject(err);
    });
    req.end();
  });
}

/** Splits a response into lines (without the `\n`), as they arrive. */
export async function* readLines(res: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of res) {
    pending += String(chunk);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      yield pending.slice(0, nl);
      pending = pending.slice(nl + 1);
    }
  }
  if (pending) yield pending;
}
