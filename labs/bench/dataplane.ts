/**
 * The worker's data plane, `ip` against rtnetlink (issue 20, item 4): `npm run bench --
 * dataplane [--rounds N]` (root). Each round, for each path (`dataPlane: 'ip'` and
 * 'netlink', alternating which goes first), a fresh `NetworkAgent` in a lab host netns:
 *
 * - `attach20_cold_ms`: 20 tasks attached at once on a network new to the node (its
 *   sandbox, and for netlink its relay, made within);
 * - `attach20_ms`: 20 more attached at once while the sandbox is there (the steady case);
 * - `peer_update_ms`: a view moving 8 of 24 remote peers to other nodes, from `setView`
 *   to applied (median of 5 per round); nothing else in the view changes;
 * - `detach20_ms`: those 20 detached at once (the sandbox stays: others use it).
 *
 * and, alone (no agent around them, so less of the node's other work in the figure):
 * - `veth20_ms`: the sandbox side of 20 task veths made at once (`ip -batch` through the
 *   agent's shell pool, against one in-process RTM_NEWLINK each);
 * - `peer_batch_ms`: one peer update's FDB and neighbour lines (8 of 24 peers move);
 * - netlink only, the sandbox's relay (net/netlink/relay.pl): `relay_first_ms`, its
 *   start and first batch (24 peers programmed); `relay_rss_kb`, its resident memory
 *   then; `relay_cpu_ms`, the CPU it used by then (clock ticks, 10 ms steps).
 *
 * and, beside the wall times (the lab's 2 cores are shared: see dataplane-cost.ts), what the
 * warm attach wave and the detach cost: `attach20_cpu_ms` / `detach20_cpu_ms` (this
 * process: the agent), `…_child_cpu_ms` (its children and what they reaped: the pooled
 * shells' `ip`/`nft`, the netns helper, the relays, the DNS child; 10 ms ticks) and
 * `…_forks` (processes forked on the machine meanwhile, others' included). Per-step
 * medians of both are printed; `DP_COST_BY=1` splits the children's CPU by command;
 * `DP_PROFILE=PREFIX` writes a CPU profile of each warm wave.
 *
 * Every figure is the median of the rounds with min and max; the kept path's figures
 * are the unsuffixed keys, both paths' are `…_ip` / `…_netlink`. Times include the whole
 * attach (netns, veths, DNS sockets, VIP table). The load average is in the JSON.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../src/api/types/task.ts';
import type { NodeNetworkView } from '../../src/wire/network-view-types.ts';
import type { Logger } from '../../src/common/logger.ts';
import { IprouteBatch, NetlinkBatch, attachTask, createSandbox, macFromIp, syncPeers, type IpBatchRunner } from '../../net/overlay/index.ts';
import { NetnsNetlink } from '../../net/netlink/index.ts';
import { ShellBatch } from '../../src/agent/network/shell-batch.ts';
import { ShellIproute } from '../../src/agent/network/shell-runners.ts';
import { NetworkAgent } from '../../src/agent/network/network-agent.ts';
import { DEFAULT_TASK_PATH } from '../../src/agent/network/task-path.ts';
import { alternateRecords, figureFields, median } from './fair.ts';
import { cpuTimeMs } from '../lib/procs.ts';
import { costMark, costSince } from './dataplane-cost.ts';

type Path = 'ip' | 'netlink';
const PATHS: readonly Path[] = ['ip', 'netlink'];
const tag = `shoaldp${process.pid % 100000}`;
const HOST_NS = `${tag}-h`;
const VTEP = '192.168.100.11';
const N = 20;
/** `DP_TASK_PATH=bridge|macvlan`: the agent's task path (its default when unset), for an A/B of the two (issue 20 item 3). */
const TASK_PATH = ((): 'bridge' | 'macvlan' | undefined => {
  const v = process.env.DP_TASK_PATH;
  if (v === undefined || v === '') return undefined;
  if (v !== 'bridge' && v !== 'macvlan') throw new Error(`bench dataplane: DP_TASK_PATH "${v}" is not bridge or macvlan`);
  return v;
})();
const SUBNET = '10.97.0.0/22';
const GATEWAY = '10.97.0.1';
const ip = (i: number) => `10.97.${Math.floor((10 + i) / 250)}.${(10 + i) % 250 + 2}`;
const id = (i: number) => `dp${String(i).padStart(3, '0')}task0000000000000`;

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const ours = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(tag));

function task(i: number, net: { id: string; vni: number }): Task {
  return {
    ID: id(i), Version: { Index: 1 }, CreatedAt: '', UpdatedAt: '', Labels: {}, Spec: {} as Task['Spec'], ServiceID: 'svc-dp', Slot: i + 1,
    Name: `dp.${i + 1}.${id(i)}`, Status: { Timestamp: '', State: 'assigned', Message: '' }, DesiredState: 'running',
    NetworksAttachments: [{
      Network: { ID: net.id, Spec: { Name: 'dp' }, Allocation: { Subnet: SUBNET, Gateway: GATEWAY, IPRange: SUBNET, VNI: net.vni, MTU: 1450 } },
      Addresses: [`${ip(i)}/22`],
    }],
  } as Task;
}

/** The view: 2N local tasks, 24 remote peers on 3 nodes (`shift` moves 8 of them to a fourth and fifth). */
function view(net: { id: string; vni: number }, shift: number): NodeNetworkView {
  const local = Array.from({ length: 2 * N }, (_, i) => ({ ip: ip(i), mac: macFromIp(ip(i)), vtep: VTEP }));
  const remote = Array.from({ length: 24 }, (_, k) => {
    const pip = ip(100 + k);
    const node = k < 8 && shift % 2 === 1 ? 21 + 3 + (k % 2) : 21 + (k % 3);
    return { ip: pip, mac: macFromIp(pip), vtep: `192.168.100.${node}` };
  });
  return {
    vtep: VTEP,
    networks: [{
      id: net.id, name: 'dp', ingress: false, subnet: SUBNET, gateway: GATEWAY, vni: net.vni, mtu: 1450, peers: [...local, ...remote],
      services: [{ id: 'svc-dp', name: 'dp', endpointMode: 'vip', vip: '10.97.0.2', aliases: [], tasks: local.map((p, i) => ({ name: `dp.${i + 1}.${id(i)}`, ip: p.ip })) }],
    }],
  };
}

/** Steps of each attach (the agent's debug line), for the per-step medians printed; warnings printed. */
const steps: Record<string, number[]> = {};
const logger: Logger = {
  info() {}, error(m, f) { console.error(`  error: ${m} ${JSON.stringify(f ?? {})}`); }, warn(m, f) { console.error(`  warn: ${m} ${JSON.stringify(f ?? {})}`); },
  debug(m, f) {
    const what = m === 'network: task attached' ? 'attach' : m === 'network: task detached' ? 'detach' : undefined;
    if (what) for (const [k, v] of Object.entries(f ?? {})) if (k.startsWith('ms')) (steps[`${what}:${k}`] ??= []).push(Number(v));
  },
  child: () => logger,
};

async function measure(path: Path, round: number): Promise<Record<string, number>> {
  for (const k of Object.keys(steps)) delete steps[k];
  const net = { id: `dpnet${path}${round}`.padEnd(25, '0'), vni: 4400 + round * 2 + (path === 'ip' ? 0 : 1) };
  const dataRoot = mkdtempSync(join(tmpdir(), 'shoal-dp-'));
  const agent = await NetworkAgent.open({
    dataRoot, logger, localAddr: () => VTEP, upstreams: [], hostNetns: HOST_NS, namePrefix: `${tag}${path[0]}${round}-`, gateway: null, wireguard: null, dataPlane: path,
    ...(TASK_PATH ? { taskPath: TASK_PATH } : {}),
  });
  try {
    agent.setView(view(net, 0));
    await agent.settled();
    let t0 = performance.now();
    await Promise.all(Array.from({ length: N }, (_, i) => agent.attach(task(i, net))));
    const cold = performance.now() - t0;
    await agent.settled();
    for (const k of Object.keys(steps)) delete steps[k]; // the warm wave's steps only
    const prof = process.env.DP_PROFILE ? await startProfile() : undefined;
    let mark = costMark();
    t0 = performance.now();
    await Promise.all(Array.from({ length: N }, (_, i) => agent.attach(task(N + i, net))));
    const warm = performance.now() - t0;
    const warmCost = costSince(mark);
    if (prof) await prof(`${process.env.DP_PROFILE}-${path}-${round}.cpuprofile`);
    console.log(`  ${path}: warm attach steps (ms since its start, median of ${N}): ${Object.entries(steps).map(([k, v]) => `${k} ${median(v)}`).join(' ')}`);
    for (const k of Object.keys(steps)) delete steps[k];
    await agent.settled();
    const updates: number[] = [];
    for (let s = 1; s <= 5; s++) {
      t0 = performance.now();
      agent.setView(view(net, s));
      await agent.settled();
      updates.push(performance.now() - t0);
    }
    mark = costMark();
    t0 = performance.now();
    await Promise.all(Array.from({ length: N }, (_, i) => agent.detach(id(N + i))));
    const detach = performance.now() - t0;
    const detachCost = costSince(mark);
    console.log(`  ${path}: detach steps (ms since its start, median of ${N}): ${Object.entries(steps).map(([k, v]) => `${k} ${median(v)}`).join(' ')}`);
    if (agent.endpoints(net.id).length !== N) throw new Error(`expected ${N} tasks left, got ${agent.endpoints(net.id).length}`);
    return {
      attach20_cold_ms: cold, attach20_ms: warm, peer_update_ms: median(updates)!, detach20_ms: detach,
      ...prefixed('attach20', warmCost), ...prefixed('detach20', detachCost),
    };
  } finally {
    await agent.removeAll().catch((e) => console.error(`  clean-up of the ${path} agent: ${String(e)}`));
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

/**
 * `DP_PROFILE=PREFIX`: this process's CPU profile of each warm attach wave, written to
 * `PREFIX-PATH-ROUND.cpuprofile` (Chrome DevTools format), to see where the daemon's own
 * CPU goes (`attach20_cpu_ms`).
 */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const s = new Session();
  s.connect();
  await s.post('Profiler.enable');
  await s.post('Profiler.setSamplingInterval', { interval: 200 });
  await s.post('Profiler.start');
  return async (file) => {
    const { profile } = await s.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    s.disconnect();
  };
}

/** `{ cpu_ms: 1 }` as `{ attach20_cpu_ms: 1 }`. */
function prefixed(what: string, cost: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(cost).map(([k, v]) => [`${what}_${k}`, v]));
}

/** The parts alone: 20 veths at once into one sandbox, and one peer update's lines; each path's runner of the agent. */
async function parts(path: Path, round: number): Promise<Record<string, number>> {
  const sb = `${tag}-p${path[0]}${round}`;
  const tasks = Array.from({ length: N }, (_, i) => `${sb}-t${i}`);
  const shell = new ShellBatch();
  const nl = new NetnsNetlink();
  const ipb = new ShellIproute(shell, { hostNetns: HOST_NS });
  const runner: IpBatchRunner = path === 'ip' ? ipb : new NetlinkBatch(ipb, nl, { useNetlink: (n) => n === sb });
  const vtep = (k: number, shift: number) => `192.168.100.${k < 8 && shift % 2 === 1 ? 24 + (k % 2) : 21 + (k % 3)}`;
  const peers = (shift: number) => Array.from({ length: 24 }, (_, k) => ({ ip: `10.96.0.${100 + k}`, mac: macFromIp(`10.96.0.${100 + k}`), vtep: vtep(k, shift) }));
  try {
    for (const n of [sb, ...tasks]) sh(['ip', 'netns', 'add', n]);
    await new IprouteBatch({ hostNetns: HOST_NS }).run(sb, createSandbox({ vni: 4600 + round * 2 + (path === 'ip' ? 0 : 1), subnet: '10.96.0.0/22', gateway: '10.96.0.1', localVtep: VTEP, mtu: 1450, sandbox: sb }));
    let t0 = performance.now();
    await runner.run(sb, syncPeers(VTEP, [], peers(0))); // a relay, if any, is up before the clock starts
    const relay = path === 'netlink' ? relayCost(nl.pid(sb), performance.now() - t0) : {};
    const specs = tasks.map((n, i) => attachTask({ taskNetns: n, index: 0, ip: `10.96.1.${10 + i}`, prefixBits: 22, mtu: 1450 }));
    t0 = performance.now();
    await Promise.all(specs.map((a) => runner.runIn(sb, a.sandbox)));
    const veth = performance.now() - t0;
    const batches: number[] = [];
    for (let s = 1; s <= 5; s++) {
      t0 = performance.now();
      await runner.run(sb, syncPeers(VTEP, peers(s - 1), peers(s)));
      batches.push(performance.now() - t0);
    }
    return { veth20_ms: veth, peer_batch_ms: median(batches)!, ...relay };
  } finally {
    nl.closeAll();
    shell.close();
    for (const n of [...tasks, sb]) spawnSync('ip', ['netns', 'del', n]);
  }
}

/** A relay's cost from /proc: its start and first batch (`firstMs`), resident memory, CPU (user + system). */
function relayCost(pid: number | undefined, firstMs: number): Record<string, number> {
  if (pid === undefined) throw new Error('bench: the netlink path has no relay for its sandbox');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  const cpu = cpuTimeMs(pid);
  if (cpu === undefined) throw new Error(`bench: the sandbox relay (pid ${pid}) ended before it was measured`);
  return { relay_first_ms: firstMs, relay_rss_kb: rss, relay_cpu_ms: cpu };
}

/** `npm run bench -- dataplane [--rounds N]`. */
export async function run(args: string[]): Promise<void> {
  const rounds = Math.max(1, Number(args[args.indexOf('--rounds') + 1]) || 3);
  const load = loadavg();
  sh(['ip', 'netns', 'add', HOST_NS]);
  let res;
  try {
    sh(['ip', '-n', HOST_NS, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1']);
    sh(['ip', '-n', HOST_NS, 'link', 'set', 'u1', 'up']);
    sh(['ip', '-n', HOST_NS, 'addr', 'add', `${VTEP}/24`, 'dev', 'u0']);
    sh(['ip', '-n', HOST_NS, 'link', 'set', 'u0', 'up']);
    res = await alternateRecords(rounds, PATHS, async (path, round) => {
      const r = { ...await measure(path, round), ...await parts(path, round) };
      console.log(`  round ${round + 1} ${path.padEnd(7)} ${Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(1)}`).join('  ')}`);
      return r;
    });
  } finally {
    for (const n of ours()) spawnSync('ip', ['netns', 'del', n]);
  }
  const keys = ['attach20_ms', 'attach20_cold_ms', 'detach20_ms', 'peer_update_ms', 'veth20_ms', 'peer_batch_ms',
    ...['attach20', 'detach20'].flatMap((w) => [`${w}_cpu_ms`, `${w}_child_cpu_ms`, `${w}_forks`])];
  // The path kept in the code (net/overlay/batch.ts): the faster of the two in the parts
  // that differ (veth20_ms, peer_batch_ms); the whole-agent figures move with the node's load.
  const kept: Path = 'netlink';
  const out: Record<string, unknown> = { bench: 'dataplane', kept, rounds, tasks: N, task_path: TASK_PATH ?? DEFAULT_TASK_PATH };
  for (const k of keys) Object.assign(out, figureFields(k, res[kept].figures[k]));
  for (const p of PATHS) for (const k of keys) Object.assign(out, figureFields(k.endsWith(`_ms`) ? k.replace(/_ms$/, `_ms_${p}`) : `${k}_${p}`, res[p].figures[k]));
  for (const k of ['relay_first_ms', 'relay_rss_kb', 'relay_cpu_ms']) Object.assign(out, figureFields(k, res.netlink.figures[k]));
  for (const p of PATHS) if (res[p].failed.length) out[`failed_${p}`] = res[p].failed;
  out.target_attach20_ms = 300;
  out.target_met = typeof out.attach20_ms === 'number' ? (out.attach20_ms as number) < 300 : 'not measured';
  out.loadavg_start = load.map((x) => +x.toFixed(2));
  out.loadavg_end = loadavg().map((x) => +x.toFixed(2));
  out.node = process.version;
  console.log(JSON.stringify(out));
}
