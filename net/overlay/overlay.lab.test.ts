// Overlay across two emulated hosts (root): host namespaces joined by an underlay veth,
// a sandbox per host built from `createSandbox`, a container netns per host on the
// sandbox bridge, and peers programmed by `syncPeers`. Containers reach each other over
// VXLAN at MTU 1450 without multicast or learning; removing a peer cuts it off.
// All namespaces are this test's own and removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawnSync } from 'node:child_process';
import { attachTask, createSandbox, macFromIp, sandboxVethName, syncPeers, type Peer } from './plan.ts';
import { IprouteBatch } from './batch.ts';
import { deleteNetns, linkTwoHosts } from './lab-netns.ts';

const tag = `shoal-ov${process.pid}`;
const ns = (n: string) => `${tag}-${n}`;
const ALL = ['h1', 'h2', 's1', 's2', 'c1', 'c2'].map(ns);
const VTEP = { 1: '192.168.100.1', 2: '192.168.100.2' } as const;
const CT = { 1: '10.99.0.5', 2: '10.99.0.6' } as const;
const peers = { 1: { ip: CT[1], mac: macFromIp(CT[1]), vtep: VTEP[1] }, 2: { ip: CT[2], mac: macFromIp(CT[2]), vtep: VTEP[2] } };
const t = suite('overlay');

function sh(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

/** One busybox ping (iputils is not installed); a failed one waits `-W` seconds, a working one returns at once. */
function ping(from: string, to: string, extra: string[] = [], wait = 1): Promise<boolean> {
  return new Promise((ok) => execFile('ip', ['netns', 'exec', from, 'busybox', 'ping', '-c', '1', '-W', String(wait), ...extra, to], (err) => ok(!err)));
}

function mtu(netns: string, dev: string): number {
  const r = spawnSync('ip', ['-n', netns, '-json', 'link', 'show', dev], { encoding: 'utf8' });
  return (JSON.parse(r.stdout) as { mtu: number }[])[0].mtu;
}

t.before(async () => {
  for (const n of ALL) sh(['ip', 'netns', 'add', n]);
  linkTwoHosts([ns('h1'), ns('h2')], [VTEP[1], VTEP[2]]);
  for (const i of [1, 2] as const) {
    const h = ns(`h${i}`);
    const runner = new IprouteBatch({ hostNetns: h });
    await runner.run(ns(`s${i}`), createSandbox({ vni: 4096, subnet: '10.99.0.0/24', gateway: '10.99.0.1', localVtep: VTEP[i], mtu: 1450, sandbox: ns(`s${i}`) }));
    const a = attachTask({ taskNetns: ns(`c${i}`), index: 0, ip: CT[i], prefixBits: 24, mtu: 1450 });
    await runner.runIn(ns(`s${i}`), a.sandbox);
    await runner.runIn(ns(`c${i}`), a.task);
  }
});

t.after(() => deleteNetns(ALL, tag));

const all: Peer[] = [peers[1], peers[2]];

t('without peers the containers cannot reach each other', async () => {
  assert.not.ok(await ping(ns('c1'), CT[2]));
});

t('programmed peers connect containers on two hosts over VXLAN at MTU 1450', async () => {
  const r1 = new IprouteBatch({ hostNetns: ns('h1') });
  const r2 = new IprouteBatch({ hostNetns: ns('h2') });
  await r1.run(ns('s1'), syncPeers(VTEP[1], [], all));
  await r2.run(ns('s2'), syncPeers(VTEP[2], [], all));
  sh(['ip', '-n', ns('c1'), 'neigh', 'flush', 'all']); // the failed lookup of the first test
  assert.ok(await ping(ns('c1'), CT[2], [], 3), 'c1 → c2');
  assert.ok(await ping(ns('c2'), CT[1]), 'c2 → c1');
  assert.ok(await ping(ns('c1'), CT[2], ['-s', '1422']), 'a full 1450-byte packet passes');
  // busybox ping cannot set DF, so check the MTU of every overlay interface instead.
  for (const [n, dev] of [['s1', 'vxlan0'], ['s1', 'br0'], ['s1', sandboxVethName(CT[1])], ['c1', 'eth0'], ['s2', 'vxlan0'], ['c2', 'eth0']]) {
    assert.is(mtu(ns(n), dev), 1450, `${n} ${dev}`);
  }
});

t('removing a peer cuts it off', async () => {
  await new IprouteBatch({ hostNetns: ns('h1') }).run(ns('s1'), syncPeers(VTEP[1], all, [peers[1]]));
  sh(['ip', '-n', ns('c1'), 'neigh', 'flush', 'all']);
  assert.not.ok(await ping(ns('c1'), CT[2]));
});

t.run();
