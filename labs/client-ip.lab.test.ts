// The client's address through published ports, on a 1-host lab (root, real runc
// containers; issue 22, item 2, the part that exists): a `mode=host` published port is
// DNATed to the task with no source NAT, so a web task's access log shows the address of
// a client outside the hosts (the lab switch); through the routing mesh (`mode=ingress`)
// the task sees the node's address on the ingress network instead, as in Docker.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServiceSpec } from '../src/api/types/service.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { client, IMAGE, waitFor, waitRunning } from './lib/swarm-services.ts';
import { createService, httpFromSwitch, inSwitch } from './lib/swarm-net.ts';

/** busybox httpd in the foreground, verbose: it logs each client's address to stderr. */
const web = (name: string, mode: 'host' | 'ingress', published: number): ServiceSpec => ({
  Name: name, Labels: {}, Mode: { Replicated: { Replicas: 1 } },
  TaskTemplate: { ContainerSpec: { Image: IMAGE, Command: ['sh', '-c', 'mkdir -p /www && echo hi > /www/index.html && exec httpd -f -vv -p 80 -h /www'], StopGracePeriod: 1e9 } },
  EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: published, PublishMode: mode }] },
} as ServiceSpec);

async function fetchFromSwitch(lab: Lab, port: number): Promise<void> {
  await waitFor(`GET from the switch to port ${port}`, async () => {
    const [answer] = await httpFromSwitch(lab, lab.address('h1'), port, 1);
    return answer === 'hi';
  }, 30_000, 500);
}

async function loggedClients(lab: Lab, service: string): Promise<string[]> {
  const r = await lab.cli('h1', ['service', 'logs', '--raw', service]);
  // httpd logs to its stderr, which `service logs` writes to its own stderr, as docker's.
  return [...(r.stdout + r.stderr).matchAll(/(\d+\.\d+\.\d+\.\d+)\]?:\d+/g)].map((m) => m[1]);
}

test('a host-mode port shows the task the outside client\'s address; the mesh shows the node\'s', async () => {
  await withLab({ hosts: 1, prefix: 'shoaldevip' }, async (lab) => {
    await client(lab, 'h1').post('/swarm/init', { ListenAddr: `${lab.address('h1')}:2377`, AdvertiseAddr: lab.address('h1') }, { timeoutMs: 30_000 });
    await createService(lab, web('hostweb', 'host', 8081));
    await createService(lab, web('meshweb', 'ingress', 8082));
    await waitRunning(lab, 'hostweb', 1);
    await waitRunning(lab, 'meshweb', 1);
    const route = await inSwitch(lab, ['ip', '-4', 'route', 'get', lab.address('h1')]);
    const clientIp = /src (\d+\.\d+\.\d+\.\d+)/.exec(route.stdout)?.[1];
    assert.ok(clientIp, `the switch's source address: ${route.stdout}`);

    await fetchFromSwitch(lab, 8081);
    const viaHost = await waitFor('hostweb logged its client', async () => { const ips = await loggedClients(lab, 'hostweb'); return ips.length > 0 && ips; }, 20_000);
    console.log(`  client ${clientIp}; host-mode task saw ${viaHost.join(', ')}`);
    assert.ok(viaHost.includes(clientIp), 'host mode: the client\'s own address');

    await fetchFromSwitch(lab, 8082);
    const viaMesh = await waitFor('meshweb logged its client', async () => { const ips = await loggedClients(lab, 'meshweb'); return ips.length > 0 && ips; }, 20_000);
    console.log(`  mesh task saw ${viaMesh.join(', ')}`);
    assert.not.ok(viaMesh.includes(clientIp), 'mesh (Docker\'s default): the node\'s ingress address, not the client\'s');
  });
});

test.run();
