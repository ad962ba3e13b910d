import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InvalidArgumentError } from '../../api/errors.ts';
import { CASigner, createRootCA } from './ca-signer.ts';
import { issueForJoin, issueForRenewal } from './ca-server.ts';
import { verifyChain } from './certificates.ts';
import { generateJoinToken, tokenMatchesCA } from './join-token.ts';
import { NodeTLS, newNodeKeyAndCSR } from './node-tls.ts';

const NOW = Date.UTC(2026, 5, 1);
const root = await createRootCA({ now: NOW });
const signer = await CASigner.load(root);
let n = 0;
const rand = (k: number) => new Uint8Array(k).fill(++n);
const tokens = { Worker: generateJoinToken(root.certPem, rand), Manager: generateJoinToken(root.certPem, rand) };

function policy() {
  const ids: string[] = [];
  return { ids, opts: { clusterId: 'c1', tokens, now: NOW, newNodeId: () => { const id = `node${ids.length + 1}`; ids.push(id); return id; } } };
}

test('a node joins with the worker token: the root matches the token and it gets a worker certificate', async () => {
  const { keyPem, csrPem } = await newNodeKeyAndCSR();
  const { opts } = policy();
  const issued = await issueForJoin(signer, { token: tokens.Worker, csrPem }, opts);
  assert.ok(tokenMatchesCA(tokens.Worker, issued.rootPem));
  assert.is(issued.role, 'worker');
  const node = NodeTLS.create({ certPem: issued.certPem, keyPem, rootPem: issued.rootPem }, { now: NOW });
  assert.is(node.nodeId, issued.nodeId);
  assert.is(node.role, 'worker');
  assert.is(node.info.clusterId, 'c1');
});

test('the manager token yields a manager certificate', async () => {
  const { csrPem } = await newNodeKeyAndCSR();
  const issued = await issueForJoin(signer, { token: tokens.Manager, csrPem }, policy().opts);
  assert.is(verifyChain(issued.certPem, root.certPem, { now: NOW }).role, 'manager');
});

test('wrong, rotated and malformed tokens are refused before an ID is taken', async () => {
  const { csrPem } = await newNodeKeyAndCSR();
  const p = policy();
  const rotated = { ...p.opts, tokens: { ...tokens, Worker: generateJoinToken(root.certPem, rand) } };
  for (const [token, opts, msg] of [
    [tokens.Worker, rotated, 'A valid join token is necessary to join this cluster'],
    ['SWMTKN-1-garbage', p.opts, 'invalid join token'],
  ] as const) {
    try {
      await issueForJoin(signer, { token, csrPem }, opts);
      assert.unreachable('expected a refusal');
    } catch (err) {
      assert.instance(err, InvalidArgumentError);
      assert.is((err as Error).message, msg);
    }
  }
  assert.equal(p.ids, []);
});

test('a renewal keeps the node ID and takes the current role', async () => {
  const { csrPem } = await newNodeKeyAndCSR();
  const issued = await issueForRenewal(signer, { csrPem, peer: { nodeId: 'wrk7' }, role: 'manager' }, { clusterId: 'c1', now: NOW });
  const info = verifyChain(issued.certPem, root.certPem, { now: NOW });
  assert.is(info.nodeId, 'wrk7');
  assert.is(info.role, 'manager');
});

test('a certificate without a cluster ID has no O', async () => {
  const { csrPem } = await newNodeKeyAndCSR();
  const pem = await signer.issue({ csrPem, nodeId: 'solo', role: 'manager', clusterId: '', now: NOW });
  assert.is(verifyChain(pem, root.certPem, { now: NOW }).clusterId, '');
});

test.run();
