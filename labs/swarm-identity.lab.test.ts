// Joining and demoting managers as an operator does, on a 3-host lab (root), through each
// host's control API (issue 14, items 7 and 9):
// - `swarm join` answers once the node is ready, so a service created right after the last
//   join spreads over every node (one task per host);
// - three managers, `node demote h2` then right away `node demote h3`, both then
//   `swarm leave --force`: h1 keeps its quorum and leads alone, and takes writes.
// Everything waits by polling with deadlines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Node } from '../src/api/types/node.ts';
import type { Swarm } from '../src/api/types/swarm.ts';
import type { Task } from '../src/api/types/task.ts';
import { withLab } from './lib/lab.ts';
import { client, IMAGE, waitFor, waitRunning } from './lib/swarm-services.ts';

test('join answers when the node is ready; demoting two of three managers leaves the last one leading', async () => {
  await withLab({ hosts: 3, prefix: 'shoalid' }, async (lab) => {
    const h1 = client(lab, 'h1');
    await h1.post('/swarm/init', { ListenAddr: '192.168.100.11:2377', AdvertiseAddr: '192.168.100.11' }, { timeoutMs: 30_000 });
    const swarm = await h1.get<Swarm>('/swarm');
    for (const h of ['h2', 'h3']) {
      const addr = lab.address(h);
      await client(lab, h).post('/swarm/join', {
        RemoteAddrs: ['192.168.100.11:2377'], JoinToken: swarm.JoinTokens.Manager, ListenAddr: `${addr}:2377`, AdvertiseAddr: addr,
      }, { timeoutMs: 60_000 });
    }
    // Right after the last join: no wait for the nodes, the service goes out now.
    const nodes = await h1.get<Node[]>('/nodes');
    assert.equal(nodes.map((n) => n.Status.State), ['ready', 'ready', 'ready'], 'every joined node ready when join returned');
    const hostOf = new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
    await h1.post('/services/create', {
      Name: 'spread', Labels: {}, Mode: { Replicated: { Replicas: 3 } },
      TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sleep', '3600'], StopGracePeriod: 1e9 } },
    });
    const tasks: Task[] = await waitRunning(lab, 'spread', 3);
    assert.equal(tasks.map((t) => hostOf.get(t.NodeID!)).sort(), ['h1', 'h2', 'h3'], 'one task per node');

    // Two demotions back to back, then both demoted nodes leave with --force.
    const idOf = (host: string) => [...hostOf].find(([, h]) => h === host)![0];
    for (const h of ['h2', 'h3']) {
      const n = await h1.get<Node>(`/nodes/${idOf(h)}`);
      await h1.post(`/nodes/${n.ID}/update`, { ...n.Spec, Role: 'worker' }, { query: { version: n.Version.Index } });
    }
    await Promise.all(['h2', 'h3'].map((h) => client(lab, h).post('/swarm/leave', undefined, { query: { force: true }, timeoutMs: 60_000 })));
    const alone = await waitFor('h1 leading, the only manager', async () => {
      const ns = await h1.get<Node[]>('/nodes', { timeoutMs: 5000 }).catch(() => undefined);
      const managers = ns?.filter((n) => n.Spec.Role === 'manager') ?? [];
      return managers.length === 1 && managers[0]!.ManagerStatus?.Leader === true && managers[0];
    }, 30_000);
    assert.is(hostOf.get(alone.ID), 'h1');
    // A write commits: the last manager has its quorum.
    const me = await h1.get<Node>(`/nodes/${alone.ID}`);
    await h1.post(`/nodes/${me.ID}/update`, { ...me.Spec, Labels: { ...me.Spec.Labels, alone: 'yes' } }, { query: { version: me.Version.Index }, timeoutMs: 10_000 });
    assert.is((await h1.get<Node>(`/nodes/${me.ID}`)).Spec.Labels.alone, 'yes');
  });
});

test.run();
