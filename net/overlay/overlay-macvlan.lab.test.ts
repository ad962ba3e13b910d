// The `macvlan` task path (plan.ts, TaskPath) across two emulated hosts (root):
// no sandbox bridge; task interfaces are macvlans on vxlan0 made straight into the task
// netns, and the gateway address sits on the sandbox's gw0 macvlan. Tasks on two hosts
// reach each other over VXLAN at MTU 1450, two tasks on one host reach each other and the
// gateway without leaving it, and no bridge exists. The agent's path for every sandbox but
// ingress (src/agent/network/task-path.ts). All namespaces are this test's own and removed in `after`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawnSync } from 'node:child_process';
import { GATEWAY_DEV, attachTask, createSandbox, macFromIp, syncPeers, type Peer } from './plan.ts';
import { IprouteBatch } from './batch.ts';
import { deleteNetns, linkTwoHosts } from './lab-netns.ts';

const tag = `ovmv${process.pid}`;
const ns = (n: string) => `${tag}-${n}`;
const ALL = ['h1', 'h2', 's1', 's2', 'c1', 'c2', 'c3'].map(ns);
const VTEP = { 1: '192.168.101.1', 2: '192.168.101.2' } as const;
const GW = '10.98.0.1';
/** c1 and c3 on host 1, c2 on host 2. */
const TASKS = [{ n: 'c1', host: 1, ip: '10.98.0.5' }, { n: 'c2', host: 2, ip: '10.98.0.6' }, { n: 'c3', host: 1, ip: '10.98.0.7' }] as const;
const t = suite('overlay-macvlan');

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** One busybox ping; a failed one waits `-W` seconds, a working one returns at once. */
function ping(from: string, to: string, extra: string[] = [], wait = 2): Promise<boolean> {
  return new Promise((ok) => execFile('ip', ['netns', 'exec', from, 'busybox', 'ping', '-c', '1', '-W', String(wait), ...extra, to], (err) => ok(!err)));
}

t.before(async () => {
  for (const n of ALL) sh(['ip', 'netns', 'add', n]);
  linkTwoHosts([ns('h1'), ns('h2')], [VTEP[1], VTEP[2]]);
  for (const i of [1, 2] as const) {
    const h = ns(`h${i}`);
    await new IprouteBatch({ hostNetns: h }).run(ns(`s${i}`), createSandbox({ vni: 4097, subnet: '10.98.0.0/24', gateway: GW, localVtep: VTEP[i], mtu: 1450, sandbox: ns(`s${i}`), taskPath: 'macvlan' }));
  }
  for (const task of TASKS) {
    const runner = new IprouteBatch({ hostNetns: ns(`h${task.host}`) });
    const a = attachTask({ taskNetns: ns(task.n), index: 0, ip: task.ip, prefixBits: 24, mtu: 1450, taskPath: 'macvlan' });
    await runner.runIn(ns(`s${task.host}`), a.sandbox);
    await runner.runIn(ns(task.n), a.task);
  }
  const peers: Peer[] = TASKS.map((x) => ({ ip: x.ip, mac: macFromIp(x.ip), vtep: VTEP[x.host] }));
  for (const i of [1, 2] as const) await new IprouteBatch({ hostNetns: ns(`h${i}`) }).run(ns(`s${i}`), syncPeers(VTEP[i], [], peers));
});

t.after(() => deleteNetns(ALL, tag));

t('no bridge: the task interface is a macvlan on vxlan0, the gateway on gw0', () => {
  const sb = JSON.parse(sh(['ip', '-n', ns('s1'), '-d', '-j', 'link', 'show'])) as { ifname: string; linkinfo?: { info_kind?: string } }[];
  assert.not.ok(sb.some((l) => l.linkinfo?.info_kind === 'bridge'), 'no bridge in the sandbox');
  assert.ok(sb.some((l) => l.ifname === GATEWAY_DEV && l.linkinfo?.info_kind === 'macvlan'), 'gw0 is a macvlan');
  assert.match(sh(['ip', '-n', ns('s1'), '-br', 'addr', 'show', GATEWAY_DEV]), new RegExp(`${GW.replace(/\./g, '\\.')}/24`));
  const [eth0] = JSON.parse(sh(['ip', '-n', ns('c1'), '-d', '-j', 'link', 'show', 'eth0'])) as { mtu: number; address: string; linkinfo: { info_kind: string } }[];
  assert.is(eth0.linkinfo.info_kind, 'macvlan');
  assert.is(eth0.mtu, 1450);
  assert.is(eth0.address, macFromIp('10.98.0.5'));
});

t('tasks on two hosts reach each other over VXLAN, full-size packets too', async () => {
  assert.ok(await ping(ns('c1'), '10.98.0.6', [], 3), 'c1 → c2');
  assert.ok(await ping(ns('c2'), '10.98.0.5'), 'c2 → c1');
  assert.ok(await ping(ns('c2'), '10.98.0.7'), 'c2 → c3');
  assert.ok(await ping(ns('c1'), '10.98.0.6', ['-s', '1422']), 'a full 1450-byte packet passes');
});

t('tasks on one host reach each other and the gateway without the bridge', async () => {
  assert.ok(await ping(ns('c1'), '10.98.0.7'), 'c1 → c3 (macvlan bridge mode)');
  assert.ok(await ping(ns('c3'), GW), 'c3 → the gateway on gw0');
  assert.ok(await ping(ns('c2'), GW), 'c2 → its own host\'s gateway');
});

t.run();
