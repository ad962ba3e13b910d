// A node's certificate is renewed before it expires, without restarting the daemon:
// the swarm keeps its leader and takes writes with the new certificate.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SwarmNode } from './swarm-node.ts';
import { freePort, loopbackContext } from './test-node.ts';
import { parseNodeCertificate } from '../manager/ca/index.ts';

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a certificate due for renewal is replaced by a new one and the manager keeps serving', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-renew-'));
  let node: SwarmNode | undefined;
  try {
    const port = await freePort();
    // The first draw puts renewal at 50 % of the validity (1 h certificates are backdated
    // 1 h, so that is now); later draws at 80 %, about half an hour away.
    const draws = [0];
    const ctx = { ...loopbackContext(dir, port, 'renew'), rand: () => draws.shift() ?? 0.99 };
    node = await SwarmNode.init(ctx, { ListenAddr: ctx.listenAddr, AdvertiseAddr: ctx.advertiseAddr, Spec: { CAConfig: { NodeCertExpiry: 3600e9 } } });
    const first = node.certificatePem;
    const before = parseNodeCertificate(first);
    await waitFor(() => node!.certificatePem !== first, 'the certificate to be renewed');
    const after = parseNodeCertificate(node.certificatePem);
    assert.is(after.nodeId, before.nodeId, 'same node identity');
    assert.is(after.role, 'manager');
    assert.ok(after.notAfter > before.notAfter, 'the new certificate lasts longer');
    const n = node;
    await waitFor(() => n.manager?.isLeader === true, 'the manager to lead again');
    await n.manager!.store.update((tx) => {
      const me = structuredClone(tx.get('node', n.nodeId)!);
      me.Spec.Labels = { renewed: 'yes' };
      tx.update('node', me);
    });
    assert.is(n.manager!.store.view((tx) => tx.get('node', n.nodeId))!.Spec.Labels.renewed, 'yes');
  } finally {
    await node?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
