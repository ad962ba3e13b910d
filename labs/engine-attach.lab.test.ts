// Standalone containers on attachable overlays (issue 23, item 3), with the stock docker
// CLI on a 2-host swarm (h1 manager, h2 worker): `docker run --network APP` on the worker
// reaches a service on the manager by name, by VIP and by `tasks.NAME`; a service task
// reaches a long-lived container by its name; a network that is not attachable is refused
// with Docker's words; `docker rm -f` ends the network attachment task and frees its
// address (the network can then be removed). Everything is removed at the end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Node } from '../src/api/types/node.ts';
import type { Service } from '../src/api/types/service.ts';
import type { Swarm } from '../src/api/types/swarm.ts';
import type { Task } from '../src/api/types/task.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { createNetwork, inContainer, placedTasks } from './lib/swarm-net.ts';
import { docker, dockerRaw } from './lib/lab-docker.ts';
import { client, IMAGE, waitFor } from './lib/swarm-services.ts';

/** h1 inits, h2 joins as a worker; node ID → host name. */
async function twoHostSwarm(lab: Lab): Promise<Map<string, string>> {
  const h1 = client(lab, 'h1');
  await h1.post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
  const swarm = await h1.get<Swarm>('/swarm');
  const addr = lab.address('h2');
  await client(lab, 'h2').post('/swarm/join', { RemoteAddrs: [`${lab.address('h1')}:2377`], JoinToken: swarm.JoinTokens.Worker, ListenAddr: `${addr}:2377`, AdvertiseAddr: addr }, { timeoutMs: 60_000 });
  const nodes = await waitFor('2 ready nodes', async () => {
    const ns = await h1.get<Node[]>('/nodes');
    return ns.length === 2 && ns.every((n) => n.Status.State === 'ready') && ns;
  });
  return new Map(nodes.map((n) => [n.ID, n.Description.Hostname]));
}

/** The swarm's network attachment tasks (standalone containers' endpoints). */
async function attachmentTasks(lab: Lab): Promise<Task[]> {
  const all = await client(lab, 'h1').get<Task[]>('/tasks');
  return all.filter((t) => t.Spec.NetworkAttachmentSpec);
}

test('docker run on an attachable overlay: services by name, VIP and tasks.NAME; the container by its name; refusal; cleanup', async () => {
  await withLab({ hosts: 2, prefix: 'shoalatt' }, async (lab) => {
    const hostOf = await twoHostSwarm(lab);
    const app = await createNetwork(lab, 'app', { attachable: true });
    await createNetwork(lab, 'svconly');
    // `web`: the lab image's httpd (serves /VERSION), on the manager, so the worker's containers cross the overlay.
    await client(lab, 'h1').post('/services/create', {
      Name: 'web', Labels: {}, Mode: { Replicated: { Replicas: 1 } },
      TaskTemplate: { ContainerSpec: { Image: IMAGE, StopGracePeriod: 1e9 }, Networks: [{ Target: app }], Placement: { Constraints: ['node.hostname==h1'] } },
    }, { timeoutMs: 30_000 });
    const [web] = await placedTasks(lab, 'web', hostOf, 1, app);
    const vip = (await client(lab, 'h1').get<Service>('/services/web')).Endpoint?.VirtualIPs?.find((v) => v.NetworkID === app)?.Addr.split('/')[0];
    assert.ok(vip, 'web has a VIP on app');

    // On the worker: a one-shot container reaches the service by name (the image is pulled on first use).
    const t0 = Date.now();
    const once = await dockerRaw(lab, 'h2', ['run', '--rm', '--network', 'app', IMAGE, 'wget', '-qO-', 'http://web/VERSION']);
    console.log(`  docker run --rm --network app … wget http://web/VERSION: ${Date.now() - t0} ms (with the pull)`);
    assert.is(once.code, 0, once.stderr);
    assert.is(once.stdout.trim(), 'v1');

    // The same from the manager (its request goes over its own session to the leader, as a worker's does).
    const onManager = await dockerRaw(lab, 'h1', ['run', '--rm', '--network', 'app', IMAGE, 'wget', '-qO-', 'http://web/VERSION']);
    assert.is(onManager.code, 0, onManager.stderr);
    assert.is(onManager.stdout.trim(), 'v1');

    // A long-lived container on the worker: the service by VIP and tasks.web from it; it by its name from the task.
    await docker(lab, 'h2', ['run', '-d', '--name', 'probe', '--network', 'app', IMAGE]);
    const [att] = await waitFor('probe\'s attachment task running', async () => {
      const ts = (await attachmentTasks(lab)).filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
      return ts.length === 1 && ts;
    }, 30_000);
    assert.is(hostOf.get(att.NodeID!), 'h2');
    assert.equal(att.NetworksAttachments?.[0]?.Aliases, ['probe']);
    assert.is(att.ServiceID, '', 'an attachment task has no service');
    const ip = att.NetworksAttachments![0].Addresses[0].split('/')[0];
    const ins = await docker(lab, 'h2', ['inspect', 'probe', '--format', '{{.HostConfig.NetworkMode}} {{(index .NetworkSettings.Networks "app").IPAddress}} {{(index .NetworkSettings.Networks "app").NetworkID}}']);
    assert.is(ins.trim(), `app ${ip} ${app}`);
    assert.equal((await docker(lab, 'h2', ['ps', '--filter', 'network=app', '--format', '{{.Names}}'])).trim().split('\n'), ['probe']);
    assert.is((await docker(lab, 'h2', ['exec', 'probe', 'wget', '-qO-', `http://${vip}/VERSION`])).trim(), 'v1');
    const tasksWeb = await docker(lab, 'h2', ['exec', 'probe', 'nslookup', 'tasks.web']);
    assert.ok(tasksWeb.includes(web.ip), `tasks.web → ${web.ip}: ${tasksWeb}`);
    const fromTask = await inContainer(lab, web, ['wget', '-qO-', 'http://probe/VERSION']);
    assert.is(fromTask.stdout.trim(), 'v1', `web task → probe: ${fromTask.stderr}`);
    const lookup = await inContainer(lab, web, ['nslookup', 'probe']);
    assert.ok(lookup.stdout.includes(ip), `probe resolves to ${ip} from the task: ${lookup.stdout}`);
    // `docker node ps` of the worker copes with a task without a service.
    const nodePs = await dockerRaw(lab, 'h1', ['node', 'ps', 'h2', '--format', '{{.Name}} {{.CurrentState}}']);
    assert.is(nodePs.code, 0, nodePs.stderr);
    console.log(`  docker node ps h2: ${JSON.stringify(nodePs.stdout.trim())}`);
    // It is no service task: `docker service ls` still shows web only, with 1/1.
    assert.equal((await docker(lab, 'h1', ['service', 'ls', '--format', '{{.Name}} {{.Replicas}}'])).trim().split('\n'), ['web 1/1']);

    // A network that is not attachable: Docker's refusal, and no task left behind.
    const refused = await dockerRaw(lab, 'h2', ['run', '--rm', '--network', 'svconly', IMAGE, 'true']);
    assert.is.not(refused.code, 0);
    assert.match(refused.stderr, /network svconly not manually attachable/);
    const missing = await dockerRaw(lab, 'h2', ['run', '--rm', '--network', 'nosuchnet', IMAGE, 'true']);
    assert.is.not(missing.code, 0);
    assert.match(missing.stderr, /network nosuchnet not found/);

    // docker rm -f: the attachment task goes (reaped), its netns on h2 too, and no task holds its address.
    await docker(lab, 'h2', ['rm', '-f', 'probe']);
    await waitFor('probe\'s attachment task reaped', async () => (await attachmentTasks(lab)).length === 0, 60_000);
    const netns = await lab.exec('h2', ['ip', 'netns', 'list']);
    assert.not.ok(netns.stdout.includes(`t-${att.ID.slice(0, 12)}`), `the attachment netns is gone: ${netns.stdout}`);
    const holders = (await client(lab, 'h1').get<Task[]>('/tasks')).filter((t) => (t.NetworksAttachments ?? []).some((a) => a.Addresses.some((x) => x.startsWith(`${ip}/`))));
    assert.equal(holders, [], 'no task holds the address');

    // Everything removed: the service, then the networks (refused while any task still used them).
    await docker(lab, 'h1', ['service', 'rm', 'web']);
    await waitFor('web\'s tasks gone', async () => (await client(lab, 'h1').get<Task[]>('/tasks')).length === 0, 60_000);
    await waitFor('network app removed', async () => (await dockerRaw(lab, 'h1', ['network', 'rm', 'app'])).code === 0, 30_000);
    await docker(lab, 'h1', ['network', 'rm', 'svconly']);
    assert.equal((await docker(lab, 'h2', ['ps', '-a', '--format', '{{.Names}}'])).trim(), '');
  });
});

test.run();
