// The routing mesh on a node (root): a client reaches a published port on the node's
// underlay address and is answered by tasks on an ingress bridge that have no route back
// to it (the node masquerades). All namespaces are this test's own, removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { NetnsNft } from './nft.ts';
import { renderMeshReplace, MESH_TABLE, type PublishedPort } from './mesh.ts';
import { MeshTable } from './mesh-table.ts';

const tag = `shoal-mesh${process.pid}`;
const NS = { sw: `${tag}-sw`, n1: `${tag}-n1`, cl: `${tag}-cl`, b1: `${tag}-b1`, b2: `${tag}-b2`, inc: `${tag}-i`, whole: `${tag}-w` };
const ING = { n1: '10.99.0.1', b1: '10.99.0.2', b2: '10.99.0.3' };
const NODE = '192.168.100.1';
const t = suite('mesh');
const procs: ChildProcess[] = [];
const nft = new NetnsNft({ netns: NS.n1 });

function sh(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

/** A server in netns `ns` answering `name peer` on each `port` of `host`; resolves once all listen. */
function startServer(ns: string, name: string, host: string, ports: number[]): Promise<void> {
  const code = `let n = ${ports.length}; for (const port of ${JSON.stringify(ports)})
    require('net').createServer((s) => s.end(${JSON.stringify(name)} + ' ' + s.remoteAddress))
      .listen(port, ${JSON.stringify(host)}, () => { if (--n === 0) console.log('ready'); });`;
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  return new Promise((ok, fail) => {
    p.stdout!.on('data', (d: Buffer) => { if (String(d).includes('ready')) ok(); });
    p.on('exit', (c) => fail(new Error(`server ${name} exited (${c})`)));
  });
}

const startBackend = (name: 'b1' | 'b2'): Promise<void> => startServer(NS[name], name, ING[name], [80]);

/** `n` sequential connections from the client netns; counts replies (`name peer`) and error codes. */
function connect(n: number, host: string, port: number): Promise<Record<string, number>> {
  const code = `const net = require('net'); const out = {};
    (async () => { for (let i = 0; i < ${n}; i++) { const k = await new Promise((ok) => {
      const s = net.connect({ host: ${JSON.stringify(host)}, port: ${port} }); let d = '';
      s.setTimeout(3000, () => { s.destroy(); ok('ETIMEDOUT'); });
      s.on('data', (x) => d += x); s.on('end', () => ok(d)); s.on('error', (e) => ok(e.code)); });
      out[k] = (out[k] || 0) + 1; } console.log(JSON.stringify(out)); })();`;
  return new Promise((ok, fail) => {
    const p = spawn('ip', ['netns', 'exec', NS.cl, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(p);
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('exit', (c) => (c === 0 ? ok(JSON.parse(out)) : fail(new Error(`client exited ${c}`))));
  });
}

const ports = (backends: string[]): PublishedPort[] => [{ service: 'web', protocol: 'tcp', published: 8080, target: 80, backends }];
const opts = { ingressSubnet: '10.99.0.0/24' };

t.before(async () => {
  for (const n of Object.values(NS)) sh(['ip', 'netns', 'add', n]);
  sh(['ip', '-n', NS.n1, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0', 'netns', NS.cl]);
  sh(['ip', '-n', NS.n1, 'addr', 'add', `${NODE}/24`, 'dev', 'up0']);
  sh(['ip', '-n', NS.cl, 'addr', 'add', '192.168.100.9/24', 'dev', 'up0']);
  for (const n of [NS.n1, NS.cl]) { sh(['ip', '-n', n, 'link', 'set', 'up0', 'up']); sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']); }
  sh(['ip', '-n', NS.sw, 'link', 'add', 'br0', 'type', 'bridge']);
  sh(['ip', '-n', NS.sw, 'link', 'set', 'br0', 'up']);
  for (const k of ['n1', 'b1', 'b2'] as const) {
    sh(['ip', '-n', NS.sw, 'link', 'add', `v${k}`, 'type', 'veth', 'peer', 'name', 'ing0', 'netns', NS[k]]);
    sh(['ip', '-n', NS.sw, 'link', 'set', `v${k}`, 'master', 'br0', 'up']);
    sh(['ip', '-n', NS[k], 'addr', 'add', `${ING[k]}/24`, 'dev', 'ing0']);
    sh(['ip', '-n', NS[k], 'link', 'set', 'ing0', 'up']);
    sh(['ip', '-n', NS[k], 'link', 'set', 'lo', 'up']);
  }
  sh(['ip', 'netns', 'exec', NS.n1, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await Promise.all([startBackend('b1'), startBackend('b2')]);
});

t.after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null && p.pid) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((ok) => p.on('exit', ok)) : undefined)));
  spawnSync('ip', ['netns', 'exec', NS.n1, 'nft', 'delete', 'table', 'ip', MESH_TABLE]);
  for (const n of Object.values(NS)) spawnSync('ip', ['netns', 'del', n]);
  const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(tag));
  if (left.length) throw new Error(`clean-up: left ${JSON.stringify(left)}`);
});

t('a published port on the node reaches both tasks, which see the node as the peer', async () => {
  await nft.apply(renderMeshReplace(ports([ING.b1, ING.b2]), opts));
  const got = await connect(100, NODE, 8080);
  console.log(`  ${NODE}:8080 over 2 tasks, 100 connections: ${JSON.stringify(got)}`);
  assert.equal(Object.keys(got).sort(), [`b1 ${ING.n1}`, `b2 ${ING.n1}`], JSON.stringify(got));
  assert.ok(got[`b1 ${ING.n1}`] >= 20 && got[`b2 ${ING.n1}`] >= 20, JSON.stringify(got));
});

t('a published port without tasks refuses; other ports are left alone', async () => {
  // A process on the node listens on both ports: the refusal on 8080 is the mesh's, and
  // 8081 reaching the node's own listener shows the mesh left it alone.
  await startServer(NS.n1, 'node', '0.0.0.0', [8080, 8081]);
  await nft.apply(renderMeshReplace(ports([]), opts));
  assert.equal(await connect(3, NODE, 8080), { ECONNREFUSED: 3 });
  const other = await connect(1, NODE, 8081);
  assert.equal(Object.keys(other).length, 1, JSON.stringify(other));
  assert.match(Object.keys(other)[0]!, /^node /, JSON.stringify(other));
});

/** `nft list table` of the mesh in a netns, as sorted trimmed lines (chains and elements may list in any order). */
function listed(ns: string): string[] {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'ip', MESH_TABLE], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

t('in-place updates leave the same kernel state as whole-table replacements', async () => {
  const table = new MeshTable(new NetnsNft({ netns: NS.inc }));
  const whole = new NetnsNft({ netns: NS.whole });
  const o = { ...opts, ingressDevice: 'shoal-ingress', natSources: ['172.18.0.0/16'] };
  const port = (service: string, published: number, backends: string[], extra: Partial<PublishedPort> = {}): PublishedPort => ({ service, protocol: 'tcp', published, target: 80, backends, ...extra });
  const steps: PublishedPort[][] = [
    [port('web', 8080, ['10.99.0.2'])],
    [port('web', 8080, ['10.99.0.2', '10.99.0.3']), port('api', 8081, ['10.99.0.4'], { policy: 'local', local: ['10.99.0.4'] })],
    [port('api', 8081, [], { policy: 'local' }), { ...port('dns', 53, ['10.99.0.5']), protocol: 'udp' }, port('web', 8080, ['10.99.0.3'], { gone: ['10.99.0.2'] })],
    [],
    [port('web', 8080, ['10.99.0.2'], { weights: { '10.99.0.2': 2 } })],
  ];
  for (const [i, ps] of steps.entries()) {
    await table.sync(ps, o);
    await whole.apply(renderMeshReplace(ps, o));
    assert.equal(listed(NS.inc), listed(NS.whole), `step ${i}`);
  }
});

t.run();
