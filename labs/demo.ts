// The main job: a 3-host lab on this machine (network namespaces, each host with its
// own hostname, /run and `shoal daemon`), the lab registry with the test image, each
// host answering `shoal info` through the real CLI, a swarm formed with `shoal swarm
// init` / `join`, and a web service of 3 replicas (one per host) published through the
// routing mesh (`-p 8080:80`): requests sent from outside the hosts (the lab switch) to
// EACH node's address are answered by tasks on different hosts, and the demo prints
// which container (and host) answered each.
//
// Usage: npm run demo [-- --hosts N] [-- --down]
//   --down  tear the lab down at the end (default: leave it up to explore;
//           `npm run lab -- down` removes it).
import { spawnSync } from 'node:child_process';
import { ApiClient } from '../src/api/client.ts';
import type { Node } from '../src/api/types/node.ts';
import type { Task } from '../src/api/types/task.ts';
import { Lab } from './lib/lab.ts';
import { SHOAL_BIN } from './lib/daemon.ts';
import { httpFromSwitch, WEB_COMMAND } from './lib/swarm-net.ts';

const argv = process.argv.slice(2);
const hostsArg = argv.indexOf('--hosts');
const hosts = hostsArg >= 0 ? Number(argv[hostsArg + 1]) : 3;
const tearDown = argv.includes('--down');

function shoal(host: string, args: string[], timeoutMs = 60_000): string {
  // --host goes before a `--` (after it everything is the container's command).
  const end = args.includes('--') ? args.indexOf('--') : args.length;
  const argv = [...args.slice(0, end), '--host', host, ...args.slice(end)];
  const r = spawnSync(process.execPath, [SHOAL_BIN, ...argv], { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`shoal ${args.join(' ')} failed on ${host}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Polls `node ls` until `n` nodes are ready (a joined node is ready after its first heartbeat). */
async function waitForReadyNodes(host: string, n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const nodes = JSON.parse(shoal(host, ['node', 'ls', '--format', 'json'])) as { Status: string }[];
    if (nodes.length === n && nodes.every((x) => x.Status === 'Ready')) return;
    if (Date.now() > deadline) throw new Error(`only ${nodes.filter((x) => x.Status === 'Ready').length} of ${n} nodes ready`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const started = Date.now();
console.log(`demo: building a ${hosts}-host lab (replacing any earlier one)…`);
const lab = await Lab.up({ hosts, replace: true, log: (m) => console.log(`  ${m}`) });
let ok = false;
try {
  console.log(`demo: lab up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  for (const h of (await lab.status()).hosts) {
    const info = JSON.parse(shoal(`unix://${h.socket}`, ['info', '--format', 'json'])) as Record<string, any>;
    console.log(`${h.name}  ${h.address.padEnd(16)} daemon pid ${String(h.daemonPid).padEnd(8)} ` +
      `shoal info: Name=${info.Name} ServerVersion=${info.ServerVersion} Swarm=${info.Swarm.LocalNodeState} ` +
      `Kernel=${info.KernelVersion}`);
  }
  const st = await lab.status();
  if (st.registry) console.log(`\nregistry: ${st.registry.address} (test image shoal/bb:v1 and :v2)`);
  const first = st.hosts[0];
  const sock = (h: { socket: string }) => `unix://${h.socket}`;

  // The swarm: the first host manages, the others join as workers.
  console.log(`\ndemo: forming a swarm (${first.name} manager, the others workers)…`);
  shoal(sock(first), ['swarm', 'init', '--advertise-addr', first.address]);
  const token = shoal(sock(first), ['swarm', 'join-token', '-q', 'worker']).trim();
  for (const h of st.hosts.slice(1)) shoal(sock(h), ['swarm', 'join', '--token', token, `${first.address}:2377`]);
  await waitForReadyNodes(sock(first), st.hosts.length);
  process.stdout.write(shoal(sock(first), ['node', 'ls']));

  // A web service published through the routing mesh, one task per host; each task
  // answers with its container's hostname (the first 12 characters of its ID).
  const image = st.registry ? `${st.registry.address}/shoal/bb:v1` : 'shoal/bb:v1';
  const replicas = st.hosts.length;
  const webArgs = ['service', 'create', '--name', 'web', '--replicas', String(replicas), '--replicas-max-per-node', '1', '-p', '8080:80', '--stop-grace-period', '1s', '--', image, ...WEB_COMMAND]; // '--': the command has flags of its own
  console.log(`\ndemo: shoal ${webArgs.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}`);
  const t0 = Date.now();
  process.stdout.write(shoal(sock(first), webArgs, 180_000));
  console.log(`demo: ${replicas} tasks running in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  process.stdout.write(shoal(sock(first), ['service', 'ls']));
  console.log('');
  process.stdout.write(shoal(sock(first), ['service', 'ps', 'web']));

  // Which host runs which container.
  const api = new ApiClient(sock(first));
  const hostOfNode = new Map((await api.get<Node[]>('/nodes')).map((n) => [n.ID, n.Description.Hostname]));
  const tasks = (await api.get<Task[]>('/tasks', { query: { filters: JSON.stringify({ service: ['web'] }) } })).filter((t) => t.DesiredState === 'running');
  const whereRuns = new Map(tasks.map((t) => [t.Status.ContainerStatus?.ContainerID?.slice(0, 12) ?? '?', `${t.Name ?? t.ID} on ${hostOfNode.get(t.NodeID!) ?? '?'}`]));

  // Requests from outside every host (the switch's netns) to each node's address.
  const perNode = 6;
  console.log(`\ndemo: ${perNode} requests to port 8080 of EACH node, sent from the lab switch (outside the hosts):`);
  const deadline = Date.now() + 20_000;
  while (!(await httpFromSwitch(lab, first.address, 8080, 1))[0] && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  let failed = 0;
  const answeredFrom = new Set<string>();
  for (const h of st.hosts) {
    const answers = await httpFromSwitch(lab, h.address, 8080, perNode);
    console.log(`  http://${h.address}:8080/ (${h.name})`);
    for (const a of answers) {
      if (!a) failed++;
      else answeredFrom.add(whereRuns.get(a)?.split(' on ')[1] ?? '?');
      console.log(`      answered by ${a ? `container ${a}  (${whereRuns.get(a) ?? 'unknown task'})` : 'nobody (request failed)'}`);
    }
  }
  if (failed) throw new Error(`demo: ${failed} of ${perNode * st.hosts.length} requests through the routing mesh failed`);
  console.log(`\ndemo: every node answered on :8080, served by tasks on ${[...answeredFrom].sort().join(', ')}`);
  console.log(`\nTry:  npx shoal info --host unix://${first.socket}`);
  console.log(`      DOCKER_HOST=unix://${first.socket} docker info`);
  console.log(`      npx shoal service ps web --host unix://${first.socket}`);
  console.log(`      npx shoal service scale web=6 --host unix://${first.socket}`);
  console.log(`      ip netns exec ${lab.names.switchNetns} curl -s --noproxy '*' http://${first.address}:8080/`);
  console.log(`      npm run lab -- exec ${first.name} -- ip -br addr`);
  console.log(`      npm run lab -- status`);
  ok = true;
} catch (err) {
  // Shown before the teardown, whose own output would bury it.
  console.error(`\ndemo: failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  if (tearDown || !ok) {
    console.log('\ndemo: tearing the lab down');
    await lab.down();
  } else {
    console.log('\nThe lab stays up; remove it with:  npm run lab -- down');
  }
}
