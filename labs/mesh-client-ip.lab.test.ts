// The routing mesh's traffic policies and its resets, on a 2-host lab (root, real runc
// containers; issue 22, items 2 and 4). A client OUTSIDE the hosts (a namespace this test
// makes on the lab underlay, 192.168.100.200) connects to published ports of services
// whose one task runs on h2:
// - `com.shoal.mesh.traffic-policy=local`: through h2 the task's access log shows the
//   client's own address; h1, without a task, refuses the connection at once; another
//   task on h2 reaches the port through h2's address too;
// - `local-or-forward` (set with the CLI's --mesh-traffic-policy): h1 forwards (source
//   NATed, the task sees h1's ingress address), h2 keeps the client's address;
// - the default (`cluster`, Docker's mesh): the task never sees the client's address.
// Then an idle TCP connection from the client through h1's mesh to an echo task on h2
// outlives the idle time; h2 drops off the network (no FIN or RST can come) and, once h1's
// mesh table counts the task's address as gone (30 s out of rotation), the client's next
// send is reset at once instead of hanging.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServiceSpec } from '../src/api/types/service.ts';
import { withLab, type Lab } from './lib/lab.ts';
import { lineReader, type LineReader } from './lib/line-reader.ts';
import { run } from './lib/procs.ts';
import { UNDERLAY_BITS, UNDERLAY_MTU } from './lib/names.ts';
import { client, formSwarm, IMAGE, waitFor } from './lib/swarm-services.ts';
import { BUSYBOX, createService, httpGet, httpLoop, parseHttpLoop, placedTasks } from './lib/swarm-net.ts';
import { idleConnArgv } from './lib/idle-conn.ts';

const CLIENT_IP = '192.168.100.200';
const POLICY = 'com.shoal.mesh.traffic-policy';
/** busybox httpd in the foreground, verbose: it logs each client's address to stderr. */
const HTTPD = ['sh', '-c', 'mkdir -p /www && echo hi > /www/index.html && exec httpd -f -vv -p 80 -h /www'];

const spec = (name: string, published: number, target: number, command: string[], labels: Record<string, string> = {}): ServiceSpec => ({
  Name: name, Labels: labels, Mode: { Replicated: { Replicas: 1 } },
  TaskTemplate: {
    ContainerSpec: { Image: IMAGE, Command: command, StopGracePeriod: 1e9 },
    Placement: { Constraints: ['node.hostname==h2'] }, RestartPolicy: { Condition: 'none' },
  },
  EndpointSpec: { Mode: 'vip', Ports: [{ Protocol: 'tcp', TargetPort: target, PublishedPort: published, PublishMode: 'ingress' }] },
} as ServiceSpec);

/** A namespace on the lab underlay, outside every host: the mesh's outside client. */
async function makeClient(lab: Lab): Promise<{ netns: string; remove: () => Promise<void> }> {
  const netns = `${lab.names.prefix}-client`;
  const port = `${lab.names.prefix}c`.slice(0, 15);
  const ok = async (argv: string[]) => { const r = await run(argv[0], argv.slice(1)); assert.is(r.code, 0, `${argv.join(' ')}: ${r.stderr}`); };
  const remove = async () => { await run('ip', ['netns', 'del', netns]); }; // its veth (and the switch port) go with it
  await remove();
  await ok(['ip', 'netns', 'add', netns]);
  try {
    await ok(['ip', 'link', 'add', 'eth0', 'netns', netns, 'mtu', String(UNDERLAY_MTU), 'type', 'veth', 'peer', 'name', port, 'netns', lab.names.switchNetns, 'mtu', String(UNDERLAY_MTU)]);
    await ok(['ip', '-n', lab.names.switchNetns, 'link', 'set', port, 'master', lab.names.bridge, 'up']);
    await ok(['ip', '-n', netns, 'addr', 'add', `${CLIENT_IP}/${UNDERLAY_BITS}`, 'dev', 'eth0']);
    await ok(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
    await ok(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await remove();
    throw e;
  }
  return { netns, remove };
}

/** One GET from the client: the answer's last line ('' when it failed) and nc's words. */
async function get(netns: string, addr: string, port: number): Promise<{ answer: string; err: string; ms: number }> {
  const t0 = Date.now();
  const r = await run('nsenter', [`--net=/run/netns/${netns}`, ...httpLoop(addr, port, 1, 3)], { timeoutMs: 30_000 });
  return { answer: parseHttpLoop(r.stdout)[0] ?? '', err: r.stderr, ms: Date.now() - t0 };
}

/** A bare TCP connect from the client (busybox nc, nothing sent): its exit code and words. */
async function connect(netns: string, addr: string, port: number): Promise<{ code: number; err: string; ms: number }> {
  const t0 = Date.now();
  const r = await run('nsenter', [`--net=/run/netns/${netns}`, BUSYBOX, 'nc', '-w', '3', addr, String(port)], { input: '', timeoutMs: 30_000 });
  return { code: r.code, err: r.stderr, ms: Date.now() - t0 };
}

/** The client addresses a service's httpd logged, in order. */
async function loggedClients(lab: Lab, service: string): Promise<string[]> {
  const r = await lab.cli('h1', ['service', 'logs', '--raw', service]);
  return [...(r.stdout + r.stderr).matchAll(/(\d+\.\d+\.\d+\.\d+)\]?:\d+/g)].map((m) => m[1]);
}

/** Waits until `service` answers `hi` from the client through `host`, and returns what its log gained. */
async function servedVia(lab: Lab, netns: string, service: string, host: string, port: number): Promise<string[]> {
  const before = (await loggedClients(lab, service)).length;
  await waitFor(`GET ${service} through ${host}:${port}`, async () => (await get(netns, lab.address(host), port)).answer === 'hi', 30_000, 500);
  return waitFor(`${service} logged its client`, async () => { const ips = (await loggedClients(lab, service)).slice(before); return ips.length > 0 && ips; }, 20_000);
}


test('mesh traffic policies: local keeps the client\'s address and refuses without a task; a gone backend\'s mesh connection is reset', async () => {
  await withLab({ hosts: 2, prefix: 'shoalloc' }, async (lab) => {
    const hostOf = await formSwarm(lab, { hosts: 2 });
    const cl = await makeClient(lab);
    const sendFile = join(lab.baseDir, 'mesh-send-now');
    let idle: LineReader | undefined;
    try {
      const api = client(lab, 'h1');
      // A bad value is refused at the API, naming the label.
      const bad = await lab.cli('h1', ['service', 'create', '--name', 'bad', '--label', `${POLICY}=nearest`, '-p', '8099:80', '--detach', IMAGE, 'true']);
      assert.is.not(bad.code, 0, 'an invalid policy is refused');
      assert.match(bad.stderr, `label ${POLICY} must be one of cluster, local, local-or-forward`);

      await createService(lab, spec('loc', 8091, 80, HTTPD, { [POLICY]: 'local' }));
      await createService(lab, spec('dflt', 8093, 80, HTTPD));
      await createService(lab, spec('echo', 8094, 7, ['nc', '-ll', '-p', '7', '-e', 'cat']));
      const fwd = await lab.cli('h1', ['service', 'create', '--name', 'fwd', '--mesh-traffic-policy', 'local-or-forward', '--constraint', 'node.hostname==h2',
        '-p', '8092:80', '--stop-grace-period', '1s', '--detach', '--', IMAGE, ...HTTPD], { timeoutMs: 60_000 });
      assert.is(fwd.code, 0, fwd.stderr);
      const ingress = (await api.get<{ Id: string; Ingress?: boolean }[]>('/networks')).find((n) => n.Ingress)?.Id;
      assert.ok(ingress, 'an ingress network');
      const [dflt] = await placedTasks(lab, 'dflt', hostOf, 1);
      for (const s of ['loc', 'fwd']) await placedTasks(lab, s, hostOf, 1);
      const [echo] = await placedTasks(lab, 'echo', hostOf, 1, ingress);
      assert.is(echo.host, 'h2');

      // local: the client's own address through the task's node.
      const viaLocal = await servedVia(lab, cl.netns, 'loc', 'h2', 8091);
      console.log(`  local policy, through h2: the task saw ${viaLocal.join(', ')}`);
      assert.ok(viaLocal.every((ip) => ip === CLIENT_IP), 'local: the client\'s own address');
      // local, through a node without a task: refused at once, not forwarded, not hanging.
      const refused = await connect(cl.netns, lab.address('h1'), 8091);
      console.log(`  local policy, through h1 (no task): ${JSON.stringify(refused.err.trim())} in ${refused.ms} ms`);
      assert.is.not(refused.code, 0);
      // "Connection refused" is the ICMP answer itself (a hang would end in nc's 3 s timeout instead).
      assert.match(refused.err, /refused/i);
      // A task on the same node calling its node's local port (masqueraded: its reply must come back through the node).
      assert.is(await httpGet(lab, dflt, lab.address('h2'), 8091), 'hi', 'a task of h2 reaches h2:8091');

      // cluster (Docker's default): the node's address, never the client's.
      const viaCluster = await servedVia(lab, cl.netns, 'dflt', 'h2', 8093);
      console.log(`  cluster policy, through h2: the task saw ${viaCluster.join(', ')}`);
      assert.not.ok(viaCluster.includes(CLIENT_IP), 'cluster: source NATed');

      // local-or-forward: forwarded (source NATed) by h1, the client's address through h2.
      const forwarded = await servedVia(lab, cl.netns, 'fwd', 'h1', 8092);
      const direct = await servedVia(lab, cl.netns, 'fwd', 'h2', 8092);
      console.log(`  local-or-forward: through h1 the task saw ${forwarded.join(', ')}; through h2 ${direct.join(', ')}`);
      assert.not.ok(forwarded.includes(CLIENT_IP), 'forwarded from a node without a task: source NATed');
      assert.ok(direct.every((ip) => ip === CLIENT_IP), 'local-or-forward through a node with a task: the client\'s own address');

      // An idle connection through h1's mesh to the echo task on h2, then h2 drops off.
      rmSync(sendFile, { force: true });
      rmSync(`${sendFile}.ping`, { force: true });
      idle = lineReader(idleConnArgv(['nsenter', `--net=/run/netns/${cl.netns}`], [lab.address('h1'), 8094, 3000, sendFile, 20_000]));
      assert.equal(await idle.next(30_000), { idleOk: true }, 'idle 3 s through the mesh, still answering');
      writeFileSync(`${sendFile}.ping`, '');
      assert.equal(await idle.next(10_000), { pingOk: true });
      await lab.partition('h2');
      const t0 = Date.now();
      await waitFor('h1\'s mesh resets connections to the dead backend', async () => {
        const r = await lab.exec('h1', ['nft', 'list', 'set', 'ip', 'shoal-mesh', 'gone']);
        return r.stdout.includes(echo.ip);
      }, 120_000, 250);
      console.log(`  backend gone in h1's mesh table ${Date.now() - t0} ms after its host dropped off`);
      writeFileSync(sendFile, '');
      const end = await idle.next(30_000);
      console.log(`  the next send: ${JSON.stringify(end)}`);
      if (end.error !== 'ECONNRESET') {
        const dump = await lab.exec('h1', ['sh', '-c', 'nft list table ip shoal-mesh; conntrack -L 2>&1 | head']);
        console.log(dump.stdout, dump.stderr);
      }
      assert.is(end.error, 'ECONNRESET', 'reset, not a hang');
      assert.ok((end.ms as number) < 2000, `reset within 2 s (${String(end.ms)} ms)`);
    } finally {
      idle?.kill();
      rmSync(sendFile, { force: true });
      rmSync(`${sendFile}.ping`, { force: true });
      await cl.remove();
    }
  });
});

test.run();
