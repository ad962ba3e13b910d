// Root CA rotation: the plan (what an update asks for, when a rotation is complete) and
// the certificates it rests on (cross-signing, chains through the cross-signed root).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgumentError } from '../../api/errors.ts';
import type { StoredRootCA } from '../../store/index.ts';
import { createRootCA } from './ca-signer.ts';
import { verifyChain } from './certificates.ts';
import { issuerInfoOf, leafIssuerInfo, splitPemCerts } from './cross-sign.ts';
import { CertificateError } from './errors.ts';
import { tokenMatchesCA } from './join-token.ts';
import { NodeTLS, newNodeKeyAndCSR } from './node-tls.ts';
import { beginRotation, loadClusterSigner } from './root-rotation.ts';
import { caTarget, clusterTLSInfo, finishedRotation, rotationProgress, rotationRequest } from './rotation.ts';

const NOW = Date.UTC(2026, 5, 1);
const old = await createRootCA({ clusterId: 'c1', now: NOW });
const stored: StoredRootCA = { CACert: old.certPem, CAKey: old.keyPem };
const rand = (n: number) => new Uint8Array(n).fill(7);

async function leaf(root: StoredRootCA, nodeId = 'node1') {
  const { keyPem, csrPem } = await newNodeKeyAndCSR();
  const signer = await loadClusterSigner(root);
  const certPem = await signer.issue({ csrPem, nodeId, role: 'worker', clusterId: 'c1', now: NOW });
  return { certPem, keyPem, rootPem: signer.rootPem };
}

function node(id: string, tls?: { TrustRoot: string; CertIssuerSubject: string; CertIssuerPublicKey: string }) {
  return { ID: id, Description: { Hostname: id, Platform: { Architecture: '', OS: '' }, Resources: { NanoCPUs: 0, MemoryBytes: 0 }, Engine: { EngineVersion: '', Labels: {}, Plugins: [] }, TLSInfo: tls } };
}

test('an update that changes nothing of the CA asks for nothing', () => {
  assert.equal(rotationRequest(stored, undefined), { kind: 'none' });
  assert.equal(rotationRequest({ ...stored, LastForcedRotation: 3 }, { ForceRotate: 3 }), { kind: 'none' });
  assert.equal(rotationRequest(stored, { SigningCACert: old.certPem }), { kind: 'none' });
});

test('a changed ForceRotate asks for a generated root; a new cert with its key for that root', async () => {
  assert.equal(rotationRequest(stored, { ForceRotate: 1 }), { kind: 'generate', forceRotate: 1 });
  const given = await createRootCA({ now: NOW });
  assert.equal(rotationRequest(stored, { SigningCACert: given.certPem, SigningCAKey: given.keyPem }), { kind: 'use', certPem: given.certPem, keyPem: given.keyPem, forceRotate: 0 });
});

test('a new cert without its key, or a key without a cert, is refused', async () => {
  const given = await createRootCA({ now: NOW });
  assert.throws(() => rotationRequest(stored, { SigningCACert: given.certPem }), (e: Error) => e instanceof InvalidArgumentError && /SigningCAKey/.test(e.message));
  assert.throws(() => rotationRequest(stored, { SigningCAKey: given.keyPem }), (e: Error) => e instanceof InvalidArgumentError);
});

test('a given root whose key does not match is refused', async () => {
  const a = await createRootCA({ now: NOW });
  const b = await createRootCA({ now: NOW });
  try {
    await beginRotation(stored, { kind: 'use', certPem: a.certPem, keyPem: b.keyPem, forceRotate: 0 }, { clusterId: 'c1', now: NOW });
    assert.unreachable('accepted a mismatched key');
  } catch (err) {
    assert.instance(err, InvalidArgumentError);
    assert.match((err as Error).message, /does not match/);
  }
});

test('naming the current root while rotating cancels the rotation', async () => {
  const rotating = await beginRotation(stored, { kind: 'generate', forceRotate: 1 }, { clusterId: 'c1', now: NOW });
  assert.equal(rotationRequest(rotating, { SigningCACert: old.certPem, ForceRotate: 1 }), { kind: 'cancel', forceRotate: 1 });
});

test('during a rotation new leaves chain to the old root through the cross-signed new root, and to the new root directly', async () => {
  const rotating = await beginRotation(stored, { kind: 'generate', forceRotate: 1 }, { clusterId: 'c1', now: NOW });
  const l = await leaf(rotating);
  assert.is(splitPemCerts(l.certPem).length, 2, 'leaf then the cross-signed root');
  assert.is(l.rootPem, old.certPem, 'nodes still trust the old root');
  assert.is(verifyChain(l.certPem, old.certPem, { now: NOW }).nodeId, 'node1');
  assert.is(verifyChain(l.certPem, rotating.RootRotation!.CACert, { now: NOW }).nodeId, 'node1');
  NodeTLS.create(l, { now: NOW });
  // The leaf's issuer is the new root, whichever way it is verified.
  assert.equal(await leafIssuerInfo(l.certPem, old.certPem), issuerInfoOf(rotating.RootRotation!.CACert));
  assert.equal(clusterTLSInfo(rotating).CertIssuerPublicKey, issuerInfoOf(rotating.RootRotation!.CACert).publicKey);
  assert.is(clusterTLSInfo(rotating).TrustRoot, old.certPem);
});

test('a leaf of the old root alone does not verify against the new root', async () => {
  const rotating = await beginRotation(stored, { kind: 'generate', forceRotate: 1 }, { clusterId: 'c1', now: NOW });
  const l = await leaf(stored);
  assert.throws(() => verifyChain(l.certPem, rotating.RootRotation!.CACert, { now: NOW }), (e: Error) => e instanceof CertificateError && /not signed by the cluster root/.test(e.message));
});

test('the rotation finishes only once every node holds a leaf of the new key; then tokens carry the new digest', async () => {
  const rotating = await beginRotation(stored, { kind: 'generate', forceRotate: 1 }, { clusterId: 'c1', now: NOW });
  const oldLeaf = await leaf(stored, 'a');
  const newLeaf = await leaf(rotating, 'b');
  const info = async (l: { certPem: string; rootPem: string }) => {
    const i = await leafIssuerInfo(l.certPem, l.rootPem);
    return { TrustRoot: l.rootPem, CertIssuerSubject: i.subject, CertIssuerPublicKey: i.publicKey };
  };
  const nodes = [node('a', await info(oldLeaf)), node('b', await info(newLeaf)), node('c')];
  const p = rotationProgress(rotating, nodes);
  assert.equal({ total: p.total, certs: p.certsRotated, roots: p.rootsRotated, left: p.unconverged }, { total: 3, certs: 1, roots: 2, left: ['a', 'c'] });
  assert.is(finishedRotation(rotating, nodes, rand), undefined);
  const done = finishedRotation(rotating, [node('b', await info(newLeaf))], rand)!;
  assert.is(done.root.CACert, rotating.RootRotation!.CACert);
  assert.is(done.root.RootRotation, undefined);
  assert.ok(tokenMatchesCA(done.tokens.Worker, done.root.CACert));
  assert.not.ok(tokenMatchesCA(done.tokens.Worker, old.certPem));
  // After it, the signer is the new root alone and leaves carry no chain.
  const after = await leaf(done.root);
  assert.is(splitPemCerts(after.certPem).length, 1);
  assert.is(after.rootPem, done.root.CACert);
});

test('the session target changes issuer at the start and root at the end', async () => {
  const rotating = await beginRotation(stored, { kind: 'generate', forceRotate: 1 }, { clusterId: 'c1', now: NOW });
  const before = caTarget(stored);
  const during = caTarget(rotating);
  assert.is(during.root, before.root);
  assert.is.not(during.issuer, before.issuer);
  const after = caTarget({ CACert: rotating.RootRotation!.CACert, CAKey: rotating.RootRotation!.CAKey });
  assert.is(after.issuer, during.issuer);
  assert.is.not(after.root, before.root);
});

test.run();
