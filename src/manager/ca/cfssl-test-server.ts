/**
 * For tests: a minimal external CA speaking cfssl's sign API (`POST …/api/v1/cfssl/sign`
 * with a `SignRequest`, answering `{success, result: {certificate}}`), over HTTPS at
 * `localhost` with a certificate for that name issued by its own root. It signs with that
 * root as the swarm's CA would (CN → node ID, OU → role, O → cluster ID) and counts
 * what it signed; `misbehave` makes it answer wrongly, to test the checks.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { CASigner, createRootCA, type RootCA } from './ca-signer.ts';
import { roleFromOU } from './certificates.ts';
import { newNodeKeyAndCSR } from './node-tls.ts';

export interface CfsslTestServer {
  /** The sign endpoint, `https://localhost:PORT/api/v1/cfssl/sign`. */
  url: string;
  /** The root it signs with (certificate and key). */
  root: RootCA;
  /** Certificates signed so far. */
  signed: number;
  /** `'other-identity'` signs for another node ID; `'refuse'` answers success: false. */
  misbehave?: 'other-identity' | 'refuse';
  close(): Promise<void>;
}

/** Starts the signer; `root` defaults to a new one. */
export async function startCfsslTestServer(opts: { root?: RootCA } = {}): Promise<CfsslTestServer> {
  const root = opts.root ?? (await createRootCA({ now: Date.now() }));
  const signer = await CASigner.load(root);
  const tlsKey = await newNodeKeyAndCSR();
  const tlsCert = await signer.issue({ csrPem: tlsKey.csrPem, nodeId: 'localhost', role: 'worker', clusterId: '', now: Date.now() });
  const state: CfsslTestServer = { url: '', root, signed: 0, close: async () => {} };
  const server = https.createServer({ cert: tlsCert, key: tlsKey.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      try {
        const r = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { certificate_request: string; subject?: { CN?: string; names?: { OU?: string; O?: string }[] } };
        const role = roleFromOU(r.subject?.names?.[0]?.OU);
        if (state.misbehave === 'refuse' || !role || !r.subject?.CN) return answer(400, { success: false, result: null, errors: [{ code: 1, message: 'refused' }], messages: [] });
        const nodeId = state.misbehave === 'other-identity' ? 'someoneelse' : r.subject.CN;
        const certificate = await signer.issue({ csrPem: r.certificate_request, nodeId, role, clusterId: r.subject.names?.[0]?.O ?? '', now: Date.now() });
        state.signed++;
        answer(200, { success: true, result: { certificate }, errors: [], messages: [] });
      } catch (err) {
        answer(500, { success: false, result: null, errors: [{ code: 2, message: (err as Error).message }], messages: [] });
      }
    });
  });
  // Bound where `localhost` resolves, which is where clients of the URL connect.
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  state.url = `https://localhost:${(server.address() as AddressInfo).port}/api/v1/cfssl/sign`;
  state.close = () => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return state;
}
