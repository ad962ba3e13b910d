// Allocations across a leader change (root): three managers; the leader that handed out a
// network's subnet, a service's VIP and its tasks' addresses is killed with SIGKILL; the
// new leader rebuilds its IPAM from the store and goes on: more tasks and a second
// service and network get addresses nobody holds, the first VIP stays, and the new
// tasks are in the VIP's rotation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NetworkResource } from '../src/daemon/routes/networks.ts';
import type { Service } from '../src/api/types/service.ts';
import type { Task } from '../src/api/types/task.ts';
import { withLab } from './lib/lab.ts';
import { eventually, httpMany, placed, tally, webSpec, type PlacedTask } from './lib/swarm-net.ts';
import { client, formSwarm, waitFor } from './lib/swarm-services.ts';

/** Running tasks of a service asked through `via`, placed on their network address. */
async function running(lab: Parameters<typeof client>[0], via: string, service: string, hostOf: Map<string, string>, n: number, net: string): Promise<PlacedTask[]> {
  return waitFor(`${n} running tasks of ${service} (via ${via})`, async () => {
    const ts = await client(lab, via).get<Task[]>('/tasks', { query: { filters: JSON.stringify({ service: [service] }) } }).catch(() => [] as Task[]);
    const wanted = ts.filter((t) => t.DesiredState === 'running');
    const up = wanted.filter((t) => t.Status.State === 'running').map((t) => placed(t, hostOf, net));
    return wanted.length === n && up.length === n && up.every((p) => p.ip && p.hostname) && up;
  }, 90_000);
}

test('after the leader is killed, the new leader hands out only free addresses and keeps the VIP', async () => {
  await withLab({ hosts: 3, prefix: 'shoalnl' }, async (lab) => {
    const hostOf = await formSwarm(lab, { managers: true });
    const h1 = client(lab, 'h1');
    const net = (await h1.post<{ Id: string }>('/networks/create', { Name: 'front', Driver: 'overlay' })).Id;
    await h1.post('/services/create', webSpec('web', { networks: [net], replicas: 2, constraints: ['node.hostname!=h1'] }));
    await h1.post('/services/create', webSpec('client', { networks: [net], command: ['sleep', '86400'], constraints: ['node.hostname==h2'] }));
    const before = await running(lab, 'h1', 'web', hostOf, 2, net);
    const vipOf = async (via: string, name: string) => (await client(lab, via).get<Service>(`/services/${name}`)).Endpoint!.VirtualIPs!.find((v) => v.NetworkID === net)!.Addr;
    const vip = await vipOf('h1', 'web');
    const allocation = (r: NetworkResource) => ({ ipam: r.IPAM.Config, vni: r.Options['com.docker.network.driver.overlay.vxlanid_list'] });
    const first = allocation(await h1.get<NetworkResource>(`/networks/${net}`));

    await lab.killDaemon('h1');
    // A surviving manager answers writes once a new leader is elected.
    await waitFor('a new leader takes a write', async () => {
      try {
        await client(lab, 'h2').post('/networks/create', { Name: 'back', Driver: 'overlay' });
        return true;
      } catch {
        return false;
      }
    }, 30_000);
    const web = await client(lab, 'h2').get<Service>('/services/web');
    await client(lab, 'h2').post(`/services/${web.ID}/update`, { ...web.Spec, Mode: { Replicated: { Replicas: 4 } } }, { query: { version: String(web.Version.Index) } });
    await client(lab, 'h2').post('/services/create', webSpec('api', { networks: [net], replicas: 2, constraints: ['node.hostname!=h1'] }));

    const after = await running(lab, 'h2', 'web', hostOf, 4, net);
    const api = await running(lab, 'h2', 'api', hostOf, 2, net);
    const [cl] = await running(lab, 'h2', 'client', hostOf, 1, net);
    const back = allocation(await waitFor('back allocated', async () => {
      const r = await client(lab, 'h2').get<NetworkResource>('/networks/back');
      return r.IPAM.Config.length > 0 && r;
    }));
    assert.is.not(back.vni, first.vni, 'a VXLAN ID of its own');
    assert.is.not(back.ipam[0]!.Subnet, first.ipam[0]!.Subnet, 'a subnet of its own');

    assert.is(await vipOf('h2', 'web'), vip, 'the VIP stays');
    const apiVip = await vipOf('h2', 'api');
    const held = [vip, apiVip, ...after.map((t) => t.ip), ...api.map((t) => t.ip), cl!.ip].map((a) => a.split('/')[0]);
    assert.is(new Set(held).size, held.length, `no address twice: ${held.join(' ')}`);
    assert.ok(before.every((b) => after.some((a) => a.id === b.id && a.ip === b.ip)), 'the first tasks keep their addresses');
    assert.equal(allocation(await client(lab, 'h2').get<NetworkResource>(`/networks/${net}`)), first, 'the network keeps its allocation');

    // The new tasks are in the rotation of the VIP the old leader handed out.
    const bare = vip.split('/')[0]!;
    await eventually('every web task answers through the VIP', async () => tally(await httpMany(lab, cl!, bare, 80, 40)).size === 4, 20_000);
  });
});

test.run();
