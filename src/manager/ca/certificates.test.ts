import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { InvalidArgumentError } from '../../api/errors.ts';
import { CASigner, createRootCA } from './ca-signer.ts';
import { createCSR, parseNodeCertificate, verifyChain } from './certificates.ts';
import { generateKeyPair, x509 } from './crypto.ts';
import { CertificateError } from './errors.ts';
import { NodeTLS, newNodeKeyAndCSR } from './node-tls.ts';

const NOW = Date.UTC(2026, 5, 1);
const DAY = 24 * 3600_000;
const root = await createRootCA({ clusterId: 'cluster1', now: NOW });
const signer = await CASigner.load(root);

async function rejects(p: Promise<unknown>, cls: new (...a: any[]) => Error, message?: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, cls);
    if (message) assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable(`expected a ${cls.name}`);
}

test('the root CA is a self-signed ECDSA P-256 CA named swarm-ca', async () => {
  const cert = new X509Certificate(root.certPem);
  assert.ok(cert.ca);
  assert.match(cert.subject, /^CN=swarm-ca$/m);
  assert.match(cert.subject, /^O=cluster1$/m);
  assert.is(cert.subject, cert.issuer);
  assert.ok(cert.verify(cert.publicKey));
  assert.is(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.match(root.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.ok(Date.parse(cert.validTo) > NOW + 19 * 365 * DAY);
});

test('a worker certificate carries the node ID, swarm-worker OU, cluster O, SANs and both EKUs', async () => {
  const { csrPem } = await newNodeKeyAndCSR();
  const pem = await signer.issue({ csrPem, nodeId: 'node1', role: 'worker', clusterId: 'cluster1', expiry: 30 * DAY, now: NOW });
  const cert = new X509Certificate(pem);
  assert.match(cert.subject, /^CN=node1$/m);
  assert.match(cert.subject, /^OU=swarm-worker$/m);
  assert.match(cert.subject, /^O=cluster1$/m);
  assert.is(cert.subjectAltName, 'DNS:swarm-worker, DNS:node1');
  assert.not.ok(cert.ca);
  const eku = new x509.X509Certificate(pem).getExtension(x509.ExtendedKeyUsageExtension)!;
  assert.equal([...eku.usages].map(String), [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
  const info = verifyChain(pem, root.certPem, { now: NOW });
  assert.equal({ ...info }, { nodeId: 'node1', role: 'worker', clusterId: 'cluster1', notBefore: NOW - 3600_000, notAfter: NOW + 30 * DAY });
});

test('a manager certificate has the swarm-manager OU and may serve CA requests (SAN swarm-ca)', async () => {
  const { csrPem } = await newNodeKeyAndCSR();
  const pem = await signer.issue({ csrPem, nodeId: 'mgr1', role: 'manager', clusterId: 'cluster1', now: NOW });
  assert.is(new X509Certificate(pem).subjectAltName, 'DNS:swarm-manager, DNS:mgr1, DNS:swarm-ca');
  const info = parseNodeCertificate(pem);
  assert.is(info.role, 'manager');
  assert.is(info.notAfter, NOW + 90 * DAY);
});

test('verifyChain refuses a certificate from another CA, an expired one and one not valid yet', async () => {
  const other = await CASigner.load(await createRootCA({ now: NOW }));
  const { csrPem } = await newNodeKeyAndCSR();
  const foreign = await other.issue({ csrPem, nodeId: 'n', role: 'manager', clusterId: 'c', now: NOW });
  assert.throws(() => verifyChain(foreign, root.certPem, { now: NOW }), /not signed by the cluster root CA/);
  const pem = await signer.issue({ csrPem, nodeId: 'n', role: 'worker', clusterId: 'c', expiry: DAY, now: NOW });
  assert.throws(() => verifyChain(pem, root.certPem, { now: NOW + 2 * DAY }), /certificate has expired/);
  assert.throws(() => verifyChain(pem, root.certPem, { now: NOW - 2 * DAY }), /not valid yet/);
  assert.throws(
    () => verifyChain(pem, root.certPem, { now: NOW + 2 * DAY }),
    (e: Error) => e instanceof CertificateError,
  );
});

test('node certificate lifetimes under one hour are refused, as Docker does', async () => {
  const { csrPem } = await newNodeKeyAndCSR();
  await rejects(signer.issue({ csrPem, nodeId: 'n', role: 'worker', clusterId: 'c', expiry: 60_000, now: NOW }), InvalidArgumentError, /1h0m0s/);
});

test('a malformed or tampered CSR is refused', async () => {
  const base = { nodeId: 'n', role: 'worker' as const, clusterId: 'c', now: NOW };
  await rejects(signer.issue({ ...base, csrPem: 'garbage' }), InvalidArgumentError, /malformed certificate signing request/);
  // Sign a CSR with one key but claim another public key: the signature no longer verifies.
  const a = await generateKeyPair();
  const b = await generateKeyPair();
  const forged = await createCSR({ publicKey: b.publicKey, privateKey: a.privateKey });
  await rejects(signer.issue({ ...base, csrPem: forged }), InvalidArgumentError, /signature is invalid/);
});

test('a CSR with an RSA key is refused', async () => {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as any;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg });
  await rejects(
    signer.issue({ csrPem: csr.toString('pem'), nodeId: 'n', role: 'worker', clusterId: 'c', now: NOW }),
    InvalidArgumentError,
    /ECDSA/,
  );
});

test('parseNodeCertificate refuses a certificate without a swarm role', () => {
  assert.throws(() => parseNodeCertificate(root.certPem), /not a swarm node certificate/);
  assert.throws(() => parseNodeCertificate('nope'), /no CERTIFICATE/);
});

test('a signer refuses a key that is not the root certificate\'s', async () => {
  const other = await createRootCA({ now: NOW });
  try {
    await CASigner.load({ certPem: root.certPem, keyPem: other.keyPem });
    assert.unreachable('expected CertificateError');
  } catch (err) {
    assert.instance(err, CertificateError);
  }
});

test('NodeTLS checks the chain and that the key is the certificate\'s', async () => {
  const { keyPem, csrPem } = await newNodeKeyAndCSR();
  const certPem = await signer.issue({ csrPem, nodeId: 'n1', role: 'worker', clusterId: 'c', now: NOW });
  const node = NodeTLS.create({ certPem, keyPem, rootPem: root.certPem }, { now: NOW });
  assert.is(node.nodeId, 'n1');
  assert.is(node.role, 'worker');
  const stranger = await newNodeKeyAndCSR();
  assert.throws(() => NodeTLS.create({ certPem, keyPem: stranger.keyPem, rootPem: root.certPem }, { now: NOW }), /does not match/);
  const otherRoot = await createRootCA({ now: NOW });
  assert.throws(() => NodeTLS.create({ certPem, keyPem, rootPem: otherRoot.certPem }, { now: NOW }), /not signed/);
});

test.run();
