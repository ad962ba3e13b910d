// Backup and restore of a swarm on a 3-host lab (root; issue 21 item 4): h1 (manager) and
// h2 (worker) run a service with a secret on an overlay network; h1 is backed up while it
// runs; the swarm is destroyed (both leave, their containers go); the backup is restored on
// h3, a host that was never in it, which becomes the only manager; h2 joins it as a new
// worker with the old token; the service runs again, with its secret, on the new cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Node } from '../src/api/types/node.ts';
import type { ServiceSpec } from '../src/api/types/service.ts';
import type { Swarm } from '../src/api/types/swarm.ts';
import { withLab } from './lib/lab.ts';
import { allRunningContainers, client, IMAGE, waitFor, waitRunning } from './lib/swarm-services.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('a running swarm backed up, destroyed and restored on a new host runs its service again', async () => {
  await withLab({ prefix: 'shoalbak', hosts: 3 }, async (lab) => {
    const [h1, h2, h3] = ['h1', 'h2', 'h3'].map((h) => client(lab, h));
    await h1.post('/swarm/init', { ListenAddr: '192.168.100.11:2377', AdvertiseAddr: '192.168.100.11' }, { timeoutMs: 30_000 });
    const before = await h1.get<Swarm>('/swarm');
    await h2.post('/swarm/join', {
      RemoteAddrs: ['192.168.100.11:2377'], JoinToken: before.JoinTokens.Worker, ListenAddr: '192.168.100.12:2377', AdvertiseAddr: '192.168.100.12',
    }, { timeoutMs: 60_000 });
    await h1.post('/networks/create', { Name: 'bnet', Driver: 'overlay' });
    const { ID: secretId } = await h1.post<{ ID: string }>('/secrets/create', { Name: 'bak_pw', Labels: {}, Data: b64('bak-secret-51e') });
    await h1.post('/services/create', {
      Name: 'web', Labels: {}, Mode: { Replicated: { Replicas: 2 } }, Networks: [{ Target: 'bnet' }],
      TaskTemplate: {
        ContainerSpec: {
          Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9,
          Secrets: [{ SecretID: secretId, SecretName: 'bak_pw', File: { Name: 'bak_pw', UID: '0', GID: '0', Mode: 0o400 } }],
        },
      },
    } satisfies ServiceSpec);
    await waitRunning(lab, 'web', 2);

    // The backup, from the running manager.
    const backup = await h1.get<{ clusterId: string; contents: { services: unknown[] } }>('/shoal/swarm/backup', { timeoutMs: 60_000 });
    assert.is(backup.clusterId, before.ID);
    assert.is(backup.contents.services.length, 1);

    // The swarm is destroyed: both nodes leave; their tasks' containers go.
    await h2.post('/swarm/leave', undefined, { query: { force: true }, timeoutMs: 60_000 });
    await h1.post('/swarm/leave', undefined, { query: { force: true }, timeoutMs: 60_000 });
    await waitFor('no container left on h1 and h2', async () => [...(await allRunningContainers(lab)).values()].every((x) => x.length === 0));

    // Restored on h3, which was never in the swarm.
    const restored = await h3.post<{ NodeID: string; ClusterID: string; Services: number }>('/shoal/swarm/restore', {
      Backup: JSON.stringify(backup), ListenAddr: '192.168.100.13:2377', AdvertiseAddr: '192.168.100.13',
    }, { timeoutMs: 60_000 });
    assert.is(restored.ClusterID, before.ID);
    const after = await h3.get<Swarm>('/swarm');
    assert.is(after.JoinTokens.Worker, before.JoinTokens.Worker, 'the old join tokens still work');

    // A worker joins the restored cluster; the service runs again on h3 and h2.
    await h2.post('/swarm/join', {
      RemoteAddrs: ['192.168.100.13:2377'], JoinToken: after.JoinTokens.Worker, ListenAddr: '192.168.100.12:2377', AdvertiseAddr: '192.168.100.12',
    }, { timeoutMs: 60_000 });
    const running = await waitRunning(lab, 'web', 2, 'h3', 120_000);
    const nodes = await h3.get<Node[]>('/nodes');
    const hostOf = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
    assert.ok(running.every((t) => ['h2', 'h3'].includes(hostOf.get(t.NodeID!) ?? '')), 'tasks run on the new cluster\'s nodes');
    const oldH1 = nodes.filter((n) => n.Description.Hostname === 'h1');
    assert.ok(oldH1.length === 1 && oldH1[0].Status.State === 'down' && oldH1[0].Spec.Role === 'worker', 'the old manager is listed down');
    // The secret came back under its ID: the tasks above run only once their node got its data.
    assert.ok((await h3.get<{ ID: string }[]>('/secrets')).some((x) => x.ID === secretId), 'the secret is back');
  });
});

test.run();
