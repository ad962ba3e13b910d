// A WebSocket probe of a node's 2377 endpoints, run inside a lab host (the underlay is
// reachable only from the hosts' namespaces): connects over TLS with a node's certificate,
// key and root (or none) and prints one JSON line: `{"upgraded":true}`,
// `{"status":403,"body":"…"}` or `{"error":"…"}`.
//
//   await probeUpgrade(lab, 'h4', { url: 'wss://192.168.100.11:2377/raft', certDir });
//
// Run directly: node --import tsx labs/lib/swarm-probe.ts URL [CERT_DIR]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.ts';

/** What a probe saw. */
export interface ProbeResult {
  upgraded?: boolean;
  status?: number;
  body?: string;
  error?: string;
}

/** Files of a node's swarm identity under `<data-root>/swarm/certificates/` (Docker's names). */
export function certFiles(certDir: string): { cert: string; key: string; ca: string } {
  return { cert: join(certDir, 'swarm-node.crt'), key: join(certDir, 'swarm-node.key'), ca: join(certDir, 'swarm-root-ca.crt') };
}

/**
 * Probes `url` from inside `host` with the identity in `certDir` (none: anonymous TLS).
 * Never throws for a refusal; throws only when the probe itself cannot run.
 */
export async function probeUpgrade(lab: Lab, host: string, opts: { url: string; certDir?: string }): Promise<ProbeResult> {
  const tsx = import.meta.resolve('tsx');
  const self = fileURLToPath(import.meta.url);
  const r = await lab.exec(host, [process.execPath, '--import', tsx, self, opts.url, ...(opts.certDir ? [opts.certDir] : [])], { timeoutMs: 20_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ProbeResult;
  } catch {
    throw new Error(`swarm-probe: no result from ${host} (code ${r.code}): ${r.stderr.trim()}`);
  }
}

async function main(url: string, certDir?: string): Promise<ProbeResult> {
  const { WebSocket } = await import('ws');
  const tls = certDir
    ? (() => {
        const f = certFiles(certDir);
        return { cert: readFileSync(f.cert), key: readFileSync(f.key), ca: readFileSync(f.ca) };
      })()
    : {};
  return new Promise<ProbeResult>((resolve) => {
    // Peers are reached by IP: the certificate names a node, not a host, so only the chain is checked.
    const conn: ConnectionOptions = { ...tls, rejectUnauthorized: !!certDir, checkServerIdentity: () => undefined };
    const ws = new WebSocket(url, { ...conn, handshakeTimeout: 5000 });
    ws.on('open', () => {
      resolve({ upgraded: true });
      ws.terminate();
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', () => resolve({ status: res.statusCode, body }));
    });
    ws.on('error', (err) => resolve({ error: err.message }));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [url, certDir] = process.argv.slice(2);
  main(url, certDir).then((r) => {
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  }, (err: unknown) => {
    process.stdout.write(JSON.stringify({ error: String(err) }) + '\n');
    process.exit(0);
  });
}
