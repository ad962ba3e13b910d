// Signing through an external cfssl CA (a real HTTPS signer on localhost): the request
// carries the identity, the answer is checked before it is used, the URLs that sign for a
// root are chosen as SwarmKit chooses them, and a rotation can go to an external root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgumentError, UnavailableError } from '../../api/errors.ts';
import { createRootCA } from './ca-signer.ts';
import { startCfsslTestServer } from './cfssl-test-server.ts';
import { parseNodeCertificate, verifyChain } from './certificates.ts';
import { ExternalCASigner, externalCAURLs, validateExternalCAs } from './external-ca.ts';
import { newNodeKeyAndCSR } from './node-tls.ts';
import { beginRotation, loadClusterSigner } from './root-rotation.ts';
import { rotationRequest } from './rotation.ts';

const ext = await startCfsslTestServer();
const own = await createRootCA({ now: Date.now() });

function signer() {
  return new ExternalCASigner({ urls: [ext.url], issuerPem: ext.root.certPem, rootPem: ext.root.certPem, httpsTrustPem: ext.root.certPem });
}

test('the external CA signs a manager certificate with the identity asked for', async () => {
  const { csrPem } = await newNodeKeyAndCSR();
  const pem = await signer().issue({ csrPem, nodeId: 'node7', role: 'manager', clusterId: 'c9', now: Date.now() });
  const info = verifyChain(pem, ext.root.certPem);
  assert.equal([info.nodeId, info.role, info.clusterId], ['node7', 'manager', 'c9']);
});

test('an answer for another identity, or a refusal, is not used', async () => {
  const { csrPem } = await newNodeKeyAndCSR();
  for (const misbehave of ['other-identity', 'refuse'] as const) {
    ext.misbehave = misbehave;
    try {
      await signer().issue({ csrPem, nodeId: 'node7', role: 'worker', clusterId: 'c9', now: Date.now() });
      assert.unreachable(`${misbehave} accepted`);
    } catch (err) {
      assert.instance(err, UnavailableError);
      assert.match((err as Error).message, misbehave === 'refuse' ? /refused/ : /another identity/);
    } finally {
      ext.misbehave = undefined;
    }
  }
});

test('a signer whose HTTPS certificate the swarm does not trust is not asked', async () => {
  const { csrPem } = await newNodeKeyAndCSR();
  const s = new ExternalCASigner({ urls: [ext.url], issuerPem: ext.root.certPem, rootPem: ext.root.certPem, httpsTrustPem: own.certPem });
  const before = ext.signed;
  try {
    await s.issue({ csrPem, nodeId: 'n', role: 'worker', clusterId: 'c', now: Date.now() });
    assert.unreachable('talked to an untrusted signer');
  } catch (err) {
    assert.instance(err, UnavailableError);
  }
  assert.is(ext.signed, before);
});

test('external CAs sign for the root their CACert names; none means the current root', () => {
  const cas = [{ Protocol: 'cfssl', URL: 'https://a/' }, { Protocol: 'cfssl', URL: 'https://b/', CACert: ext.root.certPem }];
  assert.equal(externalCAURLs(cas, own.certPem, own.certPem), ['https://a/']);
  assert.equal(externalCAURLs(cas, ext.root.certPem, own.certPem), ['https://b/']);
  assert.throws(() => validateExternalCAs([{ Protocol: 'acme', URL: 'https://a/' }]), (e: Error) => e instanceof InvalidArgumentError && /only cfssl/.test(e.message));
  assert.throws(() => validateExternalCAs([{ Protocol: 'cfssl', URL: 'http://a/' }]), (e: Error) => e instanceof InvalidArgumentError && /https only/.test(e.message));
});

test('a rotation to an external root needs no key; leaves come from the external CA with the cross-signed chain', async () => {
  const current = { CACert: own.certPem, CAKey: own.keyPem };
  const externalCAs = [{ Protocol: 'cfssl', URL: ext.url, CACert: ext.root.certPem }];
  assert.throws(() => rotationRequest(current, { SigningCACert: ext.root.certPem }), /SigningCAKey or an external CA/);
  const req = rotationRequest(current, { SigningCACert: ext.root.certPem, ExternalCAs: externalCAs });
  assert.is(req.kind, 'use');
  const rotating = await beginRotation(current, req as Extract<typeof req, { kind: 'use' }>, { clusterId: 'c9', now: Date.now() });
  assert.is(rotating.RootRotation!.CAKey, '');
  const s = await loadClusterSigner(rotating, { externalCAs });
  assert.is(s.rootPem, own.certPem);
  const { csrPem } = await newNodeKeyAndCSR();
  const pem = await s.issue({ csrPem, nodeId: 'n1', role: 'worker', clusterId: 'c9', now: Date.now() });
  assert.is(verifyChain(pem, own.certPem).nodeId, 'n1', 'verifies for nodes that trust the old root');
  assert.is(parseNodeCertificate(pem).nodeId, 'n1');
  verifyChain(pem, ext.root.certPem);
  // Without the external CA configured there is no key to sign with.
  try {
    await loadClusterSigner(rotating);
    assert.unreachable('signed without a key');
  } catch (err) {
    assert.match((err as Error).message, /no external CA signs/);
  }
});

test.after(async () => {
  await ext.close();
});

test.run();
