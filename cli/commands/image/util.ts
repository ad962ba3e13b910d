/** Helpers shared by the `shoal image` commands. */
import type { ApiClient } from '../../../src/api/client.ts';
import { errorFromResponse } from '../../../src/api/client.ts';
import { API_VERSION } from '../../../src/api/types/system.ts';
import type { ProgressMessage } from '../../../src/api/types/image.ts';

/** Sizes as docker prints them (decimal units, 3 significant digits). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${+n.toPrecision(3)}${units[i]}`;
}

/**
 * Sends a request whose answer is a stream of JSON lines (pull, load) and calls
 * `onMessage` per line as it arrives. Rejects with the daemon's error on a non-2xx
 * status, or with the message of an `error` line in the stream.
 */
export function streamJson(client: ApiClient, method: string, path: string, body: NodeJS.ReadableStream | undefined, onMessage: (m: ProgressMessage) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = client.rawRequest({
      method, path: `/v${API_VERSION}${path}`,
      headers: body ? { 'content-type': 'application/x-tar' } : {},
    }, (res) => {
      if ((res.statusCode ?? 0) >= 400) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(errorFromResponse({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })));
        return;
      }
      let buf = '';
      let failed: Error | undefined;
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line) continue;
          const m = JSON.parse(line) as ProgressMessage;
          if (m.error) failed = new Error(m.error);
          else onMessage(m);
        }
      });
      res.on('end', () => (failed ? reject(failed) : resolve()));
      res.on('error', reject);
    });
    req.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? new Error(`cannot connect to the Shoal daemon at ${client.describe()}: is the daemon running?`) : e));
    if (body) body.pipe(req);
    else req.end();
  });
}
