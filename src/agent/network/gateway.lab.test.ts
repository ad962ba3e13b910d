// mode=host published ports through the gateway bridge (root, real kernel). A "host" netns
// stands in for the node (the bridge, veths and table live there, never in the machine's own
// netns), a "client" netns reaches it over a veth on the lab underlay, and task netns get
// their gateway interface from GatewayBridge. Everything is removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../../common/logger.ts';
import { GatewayBridge, GatewayError } from './gateway.ts';
import { hostVethName } from './gateway-state.ts';

const tag = `shoal-gw${process.pid}`;
const NS = {
  host: `${tag}-h`, client: `${tag}-c`, t1: `${tag}-t1`, t2: `${tag}-t2`, t3: `${tag}-t3`, t4: `${tag}-t4`,
  f1: `${tag}-f1`, f2: `${tag}-f2`, f3: `${tag}-f3`, f4: `${tag}-f4`,
};
const NODE = '192.168.100.1';
const CLIENT = '192.168.100.9';
const TABLE = 'shoal-hostports';
const t = suite('gateway');
const procs: ChildProcess[] = [];
let dataRoot = '';
let www = '';
let gw: GatewayBridge | undefined;

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Link names in a netns. */
function links(ns: string): string[] {
  return (JSON.parse(sh(['ip', '-n', ns, '-j', 'link', 'show'])) as { ifname: string }[]).map((l) => l.ifname);
}

/** The host-ports table as nft prints it, or '' when there is none. */
function table(): string {
  const names = (JSON.parse(sh(['ip', 'netns', 'exec', NS.host, 'nft', '-j', 'list', 'tables'])).nftables as { table?: { name: string } }[])
    .flatMap((o) => (o.table ? [o.table.name] : []));
  return names.includes(TABLE) ? sh(['ip', 'netns', 'exec', NS.host, 'nft', 'list', 'table', 'ip', TABLE]) : '';
}

/** Runs a node script inside `ns`, resolving with its stdout. */
function nodeIn(ns: string, code: string): Promise<string> {
  return new Promise((ok, fail) => {
    const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(p);
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('exit', (c) => (c === 0 ? ok(out.trim()) : fail(new Error(`node in ${ns} exited ${c}`))));
  });
}

/** Starts a long-running process in `ns`; resolves once `ready()` says so. */
async function startIn(ns: string, argv: string[], ready: () => Promise<boolean>): Promise<ChildProcess> {
  const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  for (let i = 0; i < 100; i++) {
    if (p.exitCode !== null) throw new Error(`${argv.join(' ')} exited ${p.exitCode}`);
    if (await ready()) return p;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${argv.join(' ')} not ready`);
}

function listening(ns: string, proto: 'tcp' | 'udp', port: number): () => Promise<boolean> {
  return async () => sh(['ip', 'netns', 'exec', ns, 'ss', '-Hln', proto === 'tcp' ? '-t' : '-u', `sport = :${port}`]).trim() !== '';
}

/** `curl` from `ns`: the body, or `ERR <exit code>`. */
function fetch(ns: string, url: string): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-s', '--noproxy', '*', '-m', '3', url], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : `ERR ${r.status}`;
}

/** One UDP datagram from `ns` to host:port; the reply, or `timeout`. */
function udpAsk(ns: string, host: string, port: number, text: string): Promise<string> {
  return nodeIn(ns, `const s = require('dgram').createSocket('udp4');
    const timer = setTimeout(() => { console.log('timeout'); s.close(); }, 3000);
    s.on('message', (m) => { clearTimeout(timer); console.log(String(m)); s.close(); });
    s.send(${JSON.stringify(text)}, ${port}, ${JSON.stringify(host)});`);
}

t.before(async () => {
  for (const n of Object.values(NS)) sh(['ip', 'netns', 'add', n]);
  sh(['ip', '-n', NS.host, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0', 'netns', NS.client]);
  sh(['ip', '-n', NS.host, 'addr', 'add', `${NODE}/24`, 'dev', 'up0']);
  sh(['ip', '-n', NS.client, 'addr', 'add', `${CLIENT}/24`, 'dev', 'up0']);
  for (const n of Object.values(NS)) sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
  for (const n of [NS.host, NS.client]) sh(['ip', '-n', n, 'link', 'set', 'up0', 'up']);
  dataRoot = await mkdtemp(join(tmpdir(), 'shoal-gw-'));
  www = join(dataRoot, 'www');
  sh(['mkdir', '-p', www]);
  await writeFile(join(www, 'index.html'), 'hello from t1\n');
  gw = await GatewayBridge.open({ dataRoot, logger: nullLogger, hostNetns: NS.host });
});

t.after(async () => {
  try {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null && p.pid) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((ok) => p.on('exit', ok)) : undefined)));
  } finally {
    for (const n of Object.values(NS)) spawnSync('ip', ['netns', 'del', n]);
    if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(tag));
    if (left.length) throw new Error(`clean-up: left ${JSON.stringify(left)}`);
  }
});

t('a client fetches a task\'s page through the node\'s address (TCP)', async () => {
  const t0 = performance.now();
  // As the network agent does while it makes a task's netns: the bridge goes first (once).
  gw!.warm();
  gw!.warm();
  await gw!.attach('task1', NS.t1, 1, [{ protocol: 'tcp', published: 8080, target: 80 }]);
  console.log(`  first attach (bridge, sysctls, veth, table): ${(performance.now() - t0).toFixed(1)} ms`);
  assert.is(gw!.addressOf('task1'), '172.18.0.2');
  const route = sh(['ip', '-n', NS.t1, 'route', 'show', 'default']);
  assert.match(route, 'default via 172.18.0.1 dev eth1');
  assert.ok(links(NS.host).includes('gwac120002') && links(NS.host).includes('shoal-gw'), links(NS.host).join(' '));
  // Replies of a `local` mesh policy come back through the bridge: loose reverse-path filtering there.
  assert.is(sh(['ip', 'netns', 'exec', NS.host, 'sysctl', '-n', 'net.ipv4.conf.shoal-gw.rp_filter']).trim(), '2');
  await startIn(NS.t1, ['busybox', 'httpd', '-f', '-p', '80', '-h', www], listening(NS.t1, 'tcp', 80));
  assert.is(fetch(NS.client, `http://${NODE}:8080/`), 'hello from t1\n');
  // busybox nc as well (wget crashes on this kernel).
  const r = spawnSync('ip', ['netns', 'exec', NS.client, 'busybox', 'nc', '-w', '3', NODE, '8080'], { input: 'GET / HTTP/1.0\r\n\r\n', encoding: 'utf8' });
  assert.match(r.stdout, /^HTTP\/1\.[01] 200/);
  assert.match(r.stdout, 'hello from t1');
});

t('the node itself reaches the port on its own address and on 127.0.0.1', () => {
  assert.is(fetch(NS.host, `http://${NODE}:8080/`), 'hello from t1\n');
  assert.is(fetch(NS.host, 'http://127.0.0.1:8080/'), 'hello from t1\n');
});

t('UDP: a datagram to the node reaches the task, which answers the client', async () => {
  const t0 = performance.now();
  await gw!.attach('task2', NS.t2, 1, [{ protocol: 'udp', published: 5353, target: 53 }]);
  console.log(`  attach (veth, table): ${(performance.now() - t0).toFixed(1)} ms`);
  assert.is(gw!.addressOf('task2'), '172.18.0.3');
  await startIn(NS.t2, [process.execPath, '-e', `const s = require('dgram').createSocket('udp4');
    s.on('message', (m, r) => s.send('t2 got ' + m + ' from ' + r.address, r.port, r.address)); s.bind(53);`], listening(NS.t2, 'udp', 53));
  assert.is(await udpAsk(NS.client, NODE, 5353, 'ping'), `t2 got ping from ${CLIENT}`);
});

t('tasks reach out through the node (masqueraded) and reach each other through a published port (hairpin)', async () => {
  await startIn(NS.client, [process.execPath, '-e', `require('net').createServer((s) => s.end('peer ' + s.remoteAddress)).listen(9000, '0.0.0.0')`],
    listening(NS.client, 'tcp', 9000));
  const seen = await nodeIn(NS.t2, `require('net').connect(9000, ${JSON.stringify(CLIENT)}).on('data', (d) => console.log(String(d)))`);
  assert.is(seen, `peer ${NODE}`);
  assert.is(fetch(NS.t2, `http://${NODE}:8080/`), 'hello from t1\n');
  const direct = spawnSync('ip', ['netns', 'exec', NS.t2, 'curl', '-s', '--noproxy', '*', '-m', '2', `http://${gw!.addressOf('task1')}:80/`], { encoding: 'utf8' });
  assert.is.not(direct.status, 0, 'no traffic between tasks over the bridge itself (icc off, as Docker\'s gwbridge)');
});

t('a port another task publishes is refused; nothing changes', async () => {
  const before = { table: table(), host: links(NS.host), t3: links(NS.t3), file: await readFile(join(dataRoot, 'swarm/network/gateway.json'), 'utf8') };
  try {
    await gw!.attach('task3', NS.t3, 1, [{ protocol: 'tcp', published: 9090, target: 80 }, { protocol: 'tcp', published: 8080, target: 80 }]);
    assert.unreachable('attach should have been refused');
  } catch (err) {
    assert.instance(err, GatewayError);
    assert.match((err as Error).message, 'port 8080/tcp is already published on this node by task task1');
  }
  const after = { table: table(), host: links(NS.host), t3: links(NS.t3), file: await readFile(join(dataRoot, 'swarm/network/gateway.json'), 'utf8') };
  assert.equal(after, before);
  assert.is(gw!.addressOf('task3'), undefined);
});

t('an interface name taken in the task netns is refused; nothing changes', async () => {
  const before = { table: table(), host: links(NS.host) };
  try {
    await gw!.attach('task4', NS.t1, 1, []);                               // t1 has eth1 (task1's) already
    assert.unreachable('attach should have been refused');
  } catch (err) {
    assert.instance(err, GatewayError);
    assert.match((err as Error).message, `netns "${NS.t1}" has a eth1 already`);
  }
  assert.equal({ table: table(), host: links(NS.host) }, before);
  assert.is(gw!.addressOf('task4'), undefined);
});

t('attaching an attached task again keeps its veth and address, and updates its ports', async () => {
  const ifindex = () => (JSON.parse(sh(['ip', '-n', NS.host, '-j', 'link', 'show', 'dev', 'gwac120002'])) as { ifindex: number }[])[0].ifindex;
  const first = ifindex();
  const t0 = performance.now();
  await gw!.attach('task1', NS.t1, 1, [{ protocol: 'tcp', published: 8080, target: 80 }, { protocol: 'tcp', published: 8081, target: 80 }]);
  console.log(`  re-attach (ports only): ${(performance.now() - t0).toFixed(1)} ms`);
  assert.is(ifindex(), first);
  assert.is(gw!.addressOf('task1'), '172.18.0.2');
  assert.is(fetch(NS.client, `http://${NODE}:8081/`), 'hello from t1\n');
});

t('detach removes the rules and the veth and frees the address; twice is harmless', async () => {
  await gw!.attach('task3', NS.t3, 1, [{ protocol: 'udp', published: 8080, target: 80 }]);
  const t0 = performance.now();
  await gw!.detach('task1');
  console.log(`  detach: ${(performance.now() - t0).toFixed(1)} ms`);
  await gw!.detach('task1');
  assert.not.ok(links(NS.host).includes('gwac120002'), links(NS.host).join(' '));
  assert.not.ok(links(NS.t1).includes('eth1'), links(NS.t1).join(' '));
  const tbl = table();
  assert.not.match(tbl, '172.18.0.2 .');
  assert.match(tbl, 'udp . 5353 : 172.18.0.3 . 53');
  assert.is(fetch(NS.client, `http://${NODE}:8080/`), 'ERR 7', 'refused: nothing maps the port any more');
  assert.is(gw!.addressOf('task1'), undefined);
});

t('open() after a restart keeps the allocations, drops gone tasks and stray veths', async () => {
  sh(['ip', '-n', NS.host, 'link', 'add', 'gwac1200fe', 'type', 'veth', 'peer', 'name', 'stray0']); // a veth of ours no task holds
  sh(['ip', 'netns', 'del', NS.t3]);                                           // task3's netns went away while down
  const t0 = performance.now();
  const again = await GatewayBridge.open({ dataRoot, logger: nullLogger, hostNetns: NS.host });
  console.log(`  open() re-adopting 2 tasks: ${(performance.now() - t0).toFixed(1)} ms`);
  assert.is(again.addressOf('task2'), '172.18.0.3');
  assert.is(again.addressOf('task3'), undefined);
  assert.not.ok(links(NS.host).includes('gwac1200fe') || links(NS.host).includes('stray0'), 'stray link removed');
  assert.ok(links(NS.host).includes('gwac120003'), 'task2 keeps its veth');
  assert.is(await udpAsk(NS.client, NODE, 5353, 'again'), `t2 got again from ${CLIENT}`);
  // Concurrent calls are serialized; new tasks take the lowest free addresses, never task2's.
  sh(['ip', 'netns', 'add', NS.t3]);
  await Promise.all([
    again.attach('task1', NS.t1, 1, [{ protocol: 'tcp', published: 8080, target: 80 }]),
    again.attach('task3', NS.t3, 1, []),
  ]);
  assert.equal([again.addressOf('task1'), again.addressOf('task3')].sort(), ['172.18.0.2', '172.18.0.4']);
  assert.is(fetch(NS.client, `http://${NODE}:8080/`), 'hello from t1\n');
  gw = again;
});

t('a second gateway with a name prefix shares the netns without touching the first', async () => {
  const root2 = join(dataRoot, 'second');
  const before = { table: table(), ours: links(NS.host).filter((l) => l.startsWith('gw') || l === 'shoal-gw') };
  let other: GatewayBridge | undefined = await GatewayBridge.open({ dataRoot: root2, logger: nullLogger, hostNetns: NS.host, namePrefix: 'x', subnet: '172.19.0.0/16' });
  try {
    await other.attach('task4', NS.t4, 0, [{ protocol: 'tcp', published: 9091, target: 80 }]);
    assert.is(other.table, 'xshoal-hostports');
    assert.ok(links(NS.host).includes('xshoal-gw') && links(NS.host).includes('xgwac130002'), links(NS.host).join(' '));
    await startIn(NS.t4, ['busybox', 'httpd', '-f', '-p', '80', '-h', www], listening(NS.t4, 'tcp', 80));
    assert.is(fetch(NS.client, `http://${NODE}:9091/`), 'hello from t1\n');
    // The subnet cannot change under attached tasks; once they are gone it can, and the bridge follows.
    const open2 = (subnet: string) => GatewayBridge.open({ dataRoot: root2, logger: nullLogger, hostNetns: NS.host, namePrefix: 'x', subnet });
    try {
      await open2('172.20.0.0/16');
      assert.unreachable('open should have been refused');
    } catch (err) {
      assert.match((err as Error).message, 'tasks hold addresses in 172.19.0.0/16; cannot switch the gateway subnet to 172.20.0.0/16');
    }
    await other.detach('task4');
    other = await open2('172.20.0.0/16');
    await other.attach('task4', NS.t4, 0, []);
    assert.is(other.addressOf('task4'), '172.20.0.2');
    const addrs = (JSON.parse(sh(['ip', '-n', NS.host, '-j', '-4', 'addr', 'show', 'dev', 'xshoal-gw'])) as { addr_info: { local: string }[] }[])[0].addr_info.map((a) => a.local);
    assert.equal(addrs, ['172.20.0.1']);
    await other.removeAll();
    other = undefined;
    assert.not.ok(links(NS.host).some((l) => l.startsWith('x')), links(NS.host).join(' '));
    assert.equal({ table: table(), ours: links(NS.host).filter((l) => l.startsWith('gw') || l === 'shoal-gw') }, before);
    assert.is(fetch(NS.client, `http://${NODE}:8080/`), 'hello from t1\n');
  } finally {
    await other?.removeAll();
  }
});

t('fresh attaches at once get an address, a veth and a default route each, all in the file', async () => {
  const fresh = ['f1', 'f2', 'f3'] as const;
  await Promise.all(fresh.map((k) => gw!.attach(`fresh-${k}`, NS[k], 0, [], { fresh: true })));
  const addrs = fresh.map((k) => gw!.addressOf(`fresh-${k}`)!);
  assert.is(new Set(addrs).size, 3, addrs.join(' '));
  for (const [i, k] of fresh.entries()) {
    assert.match(sh(['ip', '-n', NS[k], '-4', '-o', 'addr', 'show', 'dev', 'eth0']), `${addrs[i]}/16`);
    assert.match(sh(['ip', '-n', NS[k], 'route', 'show', 'default']), 'default via 172.18.0.1 dev eth0');
    assert.ok(links(NS.host).includes(hostVethName(addrs[i])), links(NS.host).join(' '));
  }
  const saved = JSON.parse(await readFile(join(dataRoot, 'swarm', 'network', 'gateway.json'), 'utf8')) as { tasks: Record<string, { address: string }> };
  assert.equal(fresh.map((k) => saved.tasks[`fresh-${k}`]?.address), addrs);
  for (const k of fresh) await gw!.detach(`fresh-${k}`);
});

t('a fresh attach whose veth cannot be made frees its address and leaves no veth or file entry', async () => {
  sh(['ip', '-n', NS.f4, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other0']); // the name the veth's task end needs
  const before = links(NS.host).filter((l) => l.startsWith('gw'));
  try {
    await gw!.attach('fresh-f4', NS.f4, 0, [], { fresh: true });
    assert.unreachable('the attach should have failed');
  } catch (err) {
    assert.not.instance(err, assert.Assertion);
  }
  assert.is(gw!.addressOf('fresh-f4'), undefined);
  assert.equal(links(NS.host).filter((l) => l.startsWith('gw')), before);
  const saved = JSON.parse(await readFile(join(dataRoot, 'swarm', 'network', 'gateway.json'), 'utf8')) as { tasks: Record<string, unknown> };
  assert.is(saved.tasks['fresh-f4'], undefined);
  // The address is free again: the next task takes it.
  sh(['ip', '-n', NS.f4, 'link', 'del', 'eth0']);
  await gw!.attach('fresh-f4', NS.f4, 0, [], { fresh: true });
  assert.ok(gw!.addressOf('fresh-f4'));
  await gw!.detach('fresh-f4');
});

t('removeAll removes the table, the veths, the bridge and the state file', async () => {
  await gw!.removeAll();
  assert.is(table(), '');
  assert.equal(links(NS.host).filter((l) => l.startsWith('gw') || l === 'shoal-gw'), []);
  assert.not.ok(links(NS.t1).includes('eth1'));
  const left = await readFile(join(dataRoot, 'swarm/network/gateway.json'), 'utf8').then(() => true, () => false);
  assert.not.ok(left, 'state file removed');
});

t.run();
