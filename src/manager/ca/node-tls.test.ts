// Mutual TLS with real sockets on 127.0.0.1 (loopback only).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import { CASigner, createRootCA } from './ca-signer.ts';
import type { RootCA } from './ca-signer.ts';
import { NodeTLS, bootstrapClientTlsOptions, newNodeKeyAndCSR, peerIdentity, peerRole } from './node-tls.ts';
import type { NodeRole } from '../../api/types/node.ts';

const root = await createRootCA({ clusterId: 'c1', now: Date.now() });
const signer = await CASigner.load(root);
const otherRoot = await createRootCA({ now: Date.now() });
const otherSigner = await CASigner.load(otherRoot);

async function nodeOf(s: CASigner, r: RootCA, nodeId: string, role: NodeRole): Promise<NodeTLS> {
  const { keyPem, csrPem } = await newNodeKeyAndCSR();
  const certPem = await s.issue({ csrPem, nodeId, role, clusterId: 'c1', now: Date.now() });
  return NodeTLS.create({ certPem, keyPem, rootPem: r.certPem });
}

const manager = await nodeOf(signer, root, 'mgr1', 'manager');
const worker = await nodeOf(signer, root, 'wrk1', 'worker');
const foreign = await nodeOf(otherSigner, otherRoot, 'evil', 'manager');

interface Outcome {
  /** What the server saw of the peer (undefined: no authenticated node), if a connection was accepted. */
  accepted?: { role?: NodeRole; nodeId?: string };
  /** Whether the client read the server's greeting. */
  greeted: boolean;
  clientError?: string;
  serverError?: string;
}

/** One connection attempt: a server that greets and closes, a client that reads until the end. */
async function attempt(serverOpts: TlsOptions, clientOpts: ConnectionOptions): Promise<Outcome> {
  const out: Outcome = { greeted: false };
  const server = tls.createServer(serverOpts, (sock) => {
    out.accepted = { role: peerRole(sock), nodeId: peerIdentity(sock)?.nodeId };
    sock.end('hello');
  });
  server.on('tlsClientError', (err) => (out.serverError = (err as NodeJS.ErrnoException).code ?? err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await new Promise<void>((resolve) => {
      const sock = tls.connect({ ...clientOpts, host: '127.0.0.1', port });
      let data = '';
      sock.setEncoding('utf8');
      sock.on('data', (d) => (data += d));
      sock.on('error', (err) => (out.clientError = (err as NodeJS.ErrnoException).code ?? err.message));
      sock.on('close', () => {
        out.greeted = data === 'hello';
        resolve();
      });
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return out;
}

test('a worker connects to a manager with mutual TLS and the manager reads its role', async () => {
  const o = await attempt(manager.serverOptions(), worker.clientOptions());
  assert.ok(o.greeted, JSON.stringify(o));
  assert.equal(o.accepted, { role: 'worker', nodeId: 'wrk1' });
});

test('a manager peer is seen as a manager', async () => {
  const other = await nodeOf(signer, root, 'mgr2', 'manager');
  const o = await attempt(manager.serverOptions(), other.clientOptions());
  assert.ok(o.greeted);
  assert.equal(o.accepted, { role: 'manager', nodeId: 'mgr2' });
});

test('unpooled client options (one context per identity) authenticate and check the server as the plain ones do', async () => {
  const a = worker.unpooledClientOptions();
  assert.is(a.secureContext, worker.unpooledClientOptions().secureContext, 'built once');
  assert.is.not(a.secureContext, manager.unpooledClientOptions().secureContext, 'one per identity');
  assert.equal((await attempt(manager.serverOptions(), a)).accepted, { role: 'worker', nodeId: 'wrk1' });
  assert.equal((await attempt(manager.serverOptions(), a)).accepted, { role: 'worker', nodeId: 'wrk1' }, 'and again on the same context');
  // The context trusts only our root, and the server name is still checked.
  assert.ok((await attempt(foreign.serverOptions(), a)).clientError);
  assert.is((await attempt(worker.serverOptions(), manager.unpooledClientOptions())).clientError, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.not.ok((await attempt(manager.serverOptions(), foreign.unpooledClientOptions())).greeted, 'a foreign identity is refused');
});

test('a peer with a certificate from another CA is refused in the handshake', async () => {
  // It even trusts our root, so only its own certificate is at fault.
  const o = await attempt(manager.serverOptions(), { ...foreign.clientOptions(), ca: root.certPem });
  assert.not.ok(o.greeted);
  assert.is(o.accepted, undefined);
  assert.ok(o.serverError, JSON.stringify(o));
});

test('a client refuses a server whose certificate is from another CA', async () => {
  const o = await attempt(foreign.serverOptions(), worker.clientOptions());
  assert.not.ok(o.greeted);
  assert.is(o.accepted, undefined);
  assert.ok(o.clientError, JSON.stringify(o));
});

test('a client asking for swarm-manager refuses a worker serving', async () => {
  const o = await attempt(worker.serverOptions(), manager.clientOptions());
  assert.not.ok(o.greeted);
  assert.is(o.clientError, 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test('a client without a certificate is refused, unless the server allows anonymous CA requests', async () => {
  const refused = await attempt(manager.serverOptions(), bootstrapClientTlsOptions(root.certPem));
  assert.not.ok(refused.greeted);
  assert.is(refused.accepted, undefined);
  const anon = await attempt(manager.serverOptions({ allowAnonymous: true }), bootstrapClientTlsOptions(root.certPem));
  assert.ok(anon.greeted, JSON.stringify(anon));
  assert.equal(anon.accepted, { role: undefined, nodeId: undefined });
});

test('a joining node only trusts a CA-serving manager (SAN swarm-ca), not a worker', async () => {
  const o = await attempt(worker.serverOptions({ allowAnonymous: true }), bootstrapClientTlsOptions(root.certPem));
  assert.not.ok(o.greeted);
  assert.is(o.clientError, 'ERR_TLS_CERT_ALTNAME_INVALID');
});

test.run();
