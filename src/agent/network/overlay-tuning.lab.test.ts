// The overlay's data-path tuning on real devices (root, real kernel): two "nodes" (netns
// on one veth, lab underlay addresses), each with a NAT table as the gateway's (so
// conntrack runs there), a sandbox made by the overlay plan and tuned by OverlayTuning,
// and a task netns. Traffic between the tasks must cross VXLAN untracked, the sandboxes
// must not call the IP hooks for bridged frames, and VXLAN must send without an outer
// UDP checksum; a bulk TCP transfer between the tasks must cross the underlay as whole GSO
// packets (what tuning.ts relies on: nothing segments before the underlay's own device).
// Everything is removed in `finally`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { nullLogger } from '../../common/logger.ts';
import { IprouteBatch, VXLAN_DEV, VXLAN_NOTRACK_TABLE, attachTask, createSandbox, syncPeers, macFromIp } from '../../../net/overlay/index.ts';
import { OverlayTuning } from './overlay-tuning.ts';
import { ShellBatch } from './shell-batch.ts';

const P = 'shoalot';
const nodes = [
  { host: `${P}-h1`, sb: `${P}-sb1`, task: `${P}-t1`, vtep: '192.168.100.241', ip: '10.231.0.2' },
  { host: `${P}-h2`, sb: `${P}-sb2`, task: `${P}-t2`, vtep: '192.168.100.242', ip: '10.231.0.3' },
];
const t = suite('overlay-tuning');

function sh(argv: string[], input?: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const netnsList = () => (existsSync('/run/netns') ? sh(['ip', 'netns', 'list']).split('\n').map((l) => l.split(' ')[0]) : []);
function cleanup(): void {
  for (const ns of netnsList()) if (ns.startsWith(`${P}-`)) spawnSync('ip', ['netns', 'del', ns]);
}

/** Packets counted by the probe table's rule whose comment is `name`. */
function counter(ns: string, name: string): number {
  const text = sh(['ip', 'netns', 'exec', ns, 'nft', 'list', 'table', 'ip', `${P}-probe`]);
  const m = new RegExp(`packets (\\d+) bytes \\d+ comment "${name}"`).exec(text);
  if (!m) throw new Error(`no counter ${name} in ${text}`);
  return Number(m[1]);
}

/** tx/rx packets and bytes of a device in a netns. */
function stats(ns: string, dev: string): { txPackets: number; txBytes: number; rxPackets: number; rxBytes: number } {
  const [l] = JSON.parse(sh(['ip', '-n', ns, '-s', '-j', 'link', 'show', dev])) as { stats64: { tx: { packets: number; bytes: number }; rx: { packets: number; bytes: number } } }[];
  return { txPackets: l.stats64.tx.packets, txBytes: l.stats64.tx.bytes, rxPackets: l.stats64.rx.packets, rxBytes: l.stats64.rx.bytes };
}

/** Resolves once `ns` has a TCP listener on `port` (polled; the server's startup time varies). */
async function listening(ns: string, port: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    if (sh(['ip', 'netns', 'exec', ns, 'ss', '-Hltn', `sport = :${port}`]).trim()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no listener on ${ns}:${port} after 10 s`);
}

t.before(cleanup);
t.after(cleanup);

t('overlay traffic is untracked on the nodes, unhooked in the sandboxes, sent without outer checksum', async () => {
  const tunings: OverlayTuning[] = [];
  const shell = new ShellBatch();
  let server: ChildProcess | undefined;
  try {
    for (const n of nodes) for (const ns of [n.host, n.sb, n.task]) sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', nodes[0].host, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nodes[1].host]);
    for (const n of nodes) {
      sh(['ip', '-n', n.host, '-batch', '-'], `link set lo up\naddr add ${n.vtep}/24 dev eth0\nlink set eth0 up\n`);
      // What a node has anyway (the gateway's NAT): conntrack runs in its netns. And probes.
      sh(['ip', 'netns', 'exec', n.host, 'nft', '-f', '-'], [
        `table ip ${P}-probe {`,
        '  chain post { type nat hook postrouting priority 100; policy accept; }',
        '  chain in { type filter hook input priority 0; policy accept;',
        '    udp dport 4789 ct state untracked counter comment "untracked"',
        '    udp dport 4789 ct state != untracked counter comment "tracked"',
        '  }',
        '}', ''].join('\n'));
      const batch = new IprouteBatch({ hostNetns: n.host });
      await batch.run(n.sb, createSandbox({ vni: 4242, subnet: '10.231.0.0/24', gateway: '10.231.0.1', localVtep: n.vtep, mtu: 1450, sandbox: n.sb }));
      const tuning = new OverlayTuning(shell, { logger: nullLogger, hostNetns: n.host });
      tunings.push(tuning);
      assert.ok(await tuning.apply(n.sb, n.vtep), 'every tuning step applied');
      const a = attachTask({ taskNetns: n.task, index: 0, ip: n.ip, prefixBits: 24, mtu: 1450 });
      await batch.runIn(n.sb, a.sandbox);
      await batch.runIn(n.task, a.task);
    }
    const peers = nodes.map((n) => ({ ip: n.ip, mac: macFromIp(n.ip), vtep: n.vtep }));
    for (const n of nodes) await new IprouteBatch({ hostNetns: n.host }).run(n.sb, syncPeers(n.vtep, [], peers));

    // The devices as tuned.
    for (const n of nodes) {
      const [vx] = JSON.parse(sh(['ip', '-n', n.sb, '-d', '-j', 'link', 'show', VXLAN_DEV])) as { linkinfo: { info_data: { udp_csum?: boolean } } }[];
      assert.is(vx.linkinfo.info_data.udp_csum, false, 'VXLAN sends without an outer UDP checksum');
      const key = '/proc/sys/net/bridge/bridge-nf-call-iptables';
      const inSb = spawnSync('nsenter', [`--net=/run/netns/${n.sb}`, 'cat', key], { encoding: 'utf8' });
      if (inSb.status === 0) assert.is(inSb.stdout.trim(), '0', 'br_netfilter off in the sandbox');
      const table = sh(['ip', 'netns', 'exec', n.host, 'nft', 'list', 'table', 'ip', VXLAN_NOTRACK_TABLE]);
      assert.match(table, /udp dport 4789 notrack/);
      // Received VXLAN matched by the node's VTEP address, not by a FIB lookup per packet.
      assert.ok(table.includes(`ip daddr ${n.vtep} udp dport 4789 notrack`) && !table.includes('fib'), table);
    }

    // Traffic between the tasks crosses VXLAN, and the nodes never track it.
    const ping = sh(['ip', 'netns', 'exec', nodes[0].task, 'busybox', 'ping', '-c', '5', '-W', '2', nodes[1].ip]);
    assert.match(ping, / 0% packet loss/);
    for (const n of nodes) {
      assert.ok(counter(n.host, 'untracked') >= 5, `${n.host}: VXLAN arrived untracked`);
      assert.is(counter(n.host, 'tracked'), 0, `${n.host}: no VXLAN packet tracked`);
    }

    // 64 MiB of TCP from task to task: the sender's TSO packets (up to 64 KiB) must leave
    // the node whole, as UDP-tunnel GSO packets on the underlay device, and arrive whole in
    // the far sandbox (decapsulated by the VXLAN device, not segmented on the way).
    const port = 5201;
    server = spawn('ip', ['netns', 'exec', nodes[1].task, 'iperf3', '-s', '-1', '-p', String(port)], { stdio: 'ignore' });
    await listening(nodes[1].task, port);
    const under0 = stats(nodes[0].host, 'eth0');
    const vx0 = stats(nodes[1].sb, VXLAN_DEV);
    sh(['ip', 'netns', 'exec', nodes[0].task, 'iperf3', '-c', nodes[1].ip, '-p', String(port), '-n', '64M', '-J']);
    const under1 = stats(nodes[0].host, 'eth0');
    const vx1 = stats(nodes[1].sb, VXLAN_DEV);
    const avgOut = (under1.txBytes - under0.txBytes) / (under1.txPackets - under0.txPackets);
    const avgIn = (vx1.rxBytes - vx0.rxBytes) / (vx1.rxPackets - vx0.rxPackets);
    assert.ok(under1.txBytes - under0.txBytes >= 32 * 2 ** 20, `the transfer crossed the underlay (${under1.txBytes - under0.txBytes} bytes in ${under1.txPackets - under0.txPackets} packets)`);
    // A segmented path would average about one MTU (1500); whole GSO packets, tens of KiB.
    assert.ok(avgOut > 8 * 1500, `underlay packets average ${Math.round(avgOut)} bytes: segmented before the underlay`);
    assert.ok(avgIn > 8 * 1450, `decapsulated packets average ${Math.round(avgIn)} bytes: segmented on the way`);

    // A second apply (another sandbox, the same node) is harmless; removal leaves no table.
    assert.ok(await tunings[0].apply(nodes[0].sb));
    for (const [i, n] of nodes.entries()) {
      await tunings[i].remove();
      const tables = sh(['ip', 'netns', 'exec', n.host, 'nft', 'list', 'tables']);
      assert.not.match(tables, new RegExp(`\\b${VXLAN_NOTRACK_TABLE}\\b`));
      await tunings[i].remove(); // idempotent
    }
  } finally {
    server?.kill();
    cleanup();
  }
});

t.run();
