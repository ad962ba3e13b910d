/**
 * The task paths side by side in a bare rig (root; issue 20 item 3, PERFORMANCE.md):
 *
 *   node --import tsx net/overlay/task-path-rig.ts [--rounds N] [--seconds S]
 *
 * Two host netns joined by a veth (the underlay), and on them two overlays built by
 * plan.ts at once: VNI 4096 with the `bridge` task path (the ingress sandbox's) and VNI
 * 4097 with the `macvlan` one (every other sandbox's, src/agent/network/task-path.ts), one
 * task per host on each. No nftables anywhere, so only the devices differ. Per round,
 * iperf3 (TCP, 1 then 4 streams, SCHED_FIFO 1, client on CPU 0 and server on CPU 1 as the
 * network bench's `--rt`) host → host, bridge task → task and macvlan task → task, the
 * order rotating each round. The last line is one JSON object:
 * per path and stream count the median ratio to the underlay (of the per-round ratios)
 * with min and max, the Gbit/s behind them and `uptime` before and after; and what each
 * path cost (`RunCost`): every CPU's busy share (the whole machine's: run it quiet), the bytes per packet leaving the client
 * host's underlay device (GSO intact or not) and each CPU's µs per packet. Asserts nothing
 * about time. Namespaces are named `ovtp-*`; all are removed at the end, also on failure.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { IprouteBatch } from './batch.ts';
import { attachTask, createSandbox, macFromIp, syncPeers, type TaskPath } from './plan.ts';
import { linkTwoHosts } from './lab-netns.ts';

/** The paths a round measures. */
export const RIG_PATHS = ['underlay', 'bridge', 'macvlan'] as const;
/** One round: Gbit/s per path, for `streams` streams. */
export interface RigRound {
  streams: number;
  gbps: Record<(typeof RIG_PATHS)[number], number>;
  /** Per path, what the run cost: see {@link RunCost}. Absent in rounds taken without it. */
  cost?: Partial<Record<(typeof RIG_PATHS)[number], RunCost>>;
}
/**
 * What one iperf3 run cost: each CPU's busy share over the run (0–1, from /proc/stat), and
 * the packets and bytes the client host's underlay device sent (GSO packets: its counters
 * count a packet before segmentation). With the client's CPU busy throughout, CPU time per
 * packet is what decides the ratio; the packet size shows whether GSO survives the path.
 */
export interface RunCost { busy: number[]; txPackets: number; txBytes: number; seconds: number }

const mid = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const r2 = (x: number) => Math.round(x * 100) / 100;

/**
 * The figures of a run (pure): for each task path and stream count (`_4` for 4),
 * `PATH_ratio` (median of the per-round ratios to the underlay), `_min`, `_max`, and the
 * median Gbit/s of each path (`underlay_gbps`, …). Rounds of other stream counts are
 * kept apart.
 */
export function rigFigures(rounds: readonly RigRound[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const streams of [...new Set(rounds.map((r) => r.streams))].sort((a, b) => a - b)) {
    const rs = rounds.filter((r) => r.streams === streams);
    const sfx = streams === 1 ? '' : `_${streams}`;
    for (const p of RIG_PATHS) out[`${p}_gbps${sfx}`] = r2(mid(rs.map((r) => r.gbps[p])));
    for (const p of ['bridge', 'macvlan'] as const) {
      const ratios = rs.map((r) => r.gbps[p] / r.gbps.underlay);
      Object.assign(out, { [`${p}_ratio${sfx}`]: r2(mid(ratios)), [`${p}_ratio${sfx}_min`]: r2(Math.min(...ratios)), [`${p}_ratio${sfx}_max`]: r2(Math.max(...ratios)) });
    }
    for (const p of RIG_PATHS) {
      const costs = rs.map((r) => r.cost?.[p]).filter((c): c is RunCost => c !== undefined && c.txPackets > 0);
      if (costs.length === 0) continue;
      out[`${p}_bytes_per_packet${sfx}`] = Math.round(mid(costs.map((c) => c.txBytes / c.txPackets)));
      for (let cpu = 0; cpu < costs[0].busy.length; cpu++) {
        out[`${p}_cpu${cpu}_busy${sfx}`] = r2(mid(costs.map((c) => c.busy[cpu] ?? 0)));
        // µs of CPU `cpu` per packet sent: the per-packet price of the path on that CPU.
        out[`${p}_cpu${cpu}_us_per_packet${sfx}`] = Math.round(mid(costs.map((c) => ((c.busy[cpu] ?? 0) * c.seconds * 1e6) / c.txPackets)) * 10) / 10;
      }
    }
  }
  return out;
}

/** Per CPU, jiffies busy and in all, from the text of /proc/stat (pure). */
export function cpuTimes(procStat: string): { busy: number; total: number }[] {
  const out: { busy: number; total: number }[] = [];
  for (const line of procStat.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is inside user already)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - f[3] - f[4], total };
  }
  return out;
}

/** Each CPU's busy share (0–1) between two readings of {@link cpuTimes} (pure). */
export function busyShares(before: ReturnType<typeof cpuTimes>, after: ReturnType<typeof cpuTimes>): number[] {
  return after.map((a, i) => {
    const total = a.total - (before[i]?.total ?? 0);
    return total > 0 ? Math.round(((a.busy - (before[i]?.busy ?? 0)) / total) * 1000) / 1000 : 0;
  });
}

const TAG = 'ovtp';
const ns = (n: string) => `${TAG}-${n}`;
const VTEP = { 1: '192.168.103.1', 2: '192.168.103.2' } as const;
const KINDS = [['b', 4096, 'bridge'], ['m', 4097, 'macvlan']] as const satisfies readonly (readonly [string, number, TaskPath])[];
const ALL = ['h1', 'h2', ...KINDS.flatMap(([k]) => [`s1${k}`, `s2${k}`, `c1${k}`, `c2${k}`])].map(ns);
const taskIp = (i: 1 | 2) => `10.96.0.${4 + i}`;

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`rig: ${argv.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function build(): Promise<void> {
  for (const n of ALL) sh(['ip', 'netns', 'add', n]);
  linkTwoHosts([ns('h1'), ns('h2')], [VTEP[1], VTEP[2]]);
  for (const i of [1, 2] as const) {
    const h = ns(`h${i}`);
    const b = new IprouteBatch({ hostNetns: h });
    for (const [k, vni, taskPath] of KINDS) {
      const sb = ns(`s${i}${k}`);
      await b.run(sb, createSandbox({ vni, subnet: '10.96.0.0/24', gateway: '10.96.0.1', localVtep: VTEP[i], mtu: 1450, sandbox: sb, taskPath }));
      const a = attachTask({ taskNetns: ns(`c${i}${k}`), index: 0, ip: taskIp(i), prefixBits: 24, mtu: 1450, taskPath });
      await b.runIn(sb, a.sandbox);
      await b.runIn(ns(`c${i}${k}`), a.task);
    }
  }
  const peers = ([1, 2] as const).map((i) => ({ ip: taskIp(i), mac: macFromIp(taskIp(i)), vtep: VTEP[i] }));
  for (const i of [1, 2] as const) for (const [k] of KINDS) await new IprouteBatch({ hostNetns: ns(`h${i}`) }).run(ns(`s${i}${k}`), syncPeers(VTEP[i], [], peers));
}

/** Packets and bytes the client host's underlay device has sent (every path's traffic leaves through it). */
function underlayTx(): { packets: number; bytes: number } {
  const [link] = JSON.parse(sh(['ip', '-n', ns('h1'), '-s', '-j', 'link', 'show', 'u0'])) as { stats64: { tx: { packets: number; bytes: number } } }[];
  return { packets: link.stats64.tx.packets, bytes: link.stats64.tx.bytes };
}

function teardown(): string[] {
  const left: string[] = [];
  for (const n of [...ALL].reverse()) {
    const r = spawnSync('ip', ['netns', 'del', n], { encoding: 'utf8' });
    if (r.status !== 0 && !/No such file/.test(r.stderr)) left.push(`${n}: ${r.stderr.trim()}`);
  }
  return left;
}

let nextPort = 7400;
/** The signal that asked the rig to stop, if any (main sets it). */
let stopped: string | undefined;
/** One iperf3 run between two netns; Gbit/s. Waits for its own server to exit. */
async function iperf(server: string, client: string, addr: string, streams: number, seconds: number): Promise<number> {
  const port = String(nextPort++);
  const pin = (cpu: string) => ['taskset', '-c', cpu, 'chrt', '-f', '1'];
  const srv = spawn('ip', ['netns', 'exec', server, ...pin('1'), 'timeout', String(seconds + 30), 'iperf3', '-s', '-1', '-p', port], { stdio: 'ignore' });
  const gone = new Promise<void>((r) => srv.once('exit', () => r()));
  try {
    for (let attempt = 0; ; attempt++) {
      await new Promise((r) => setTimeout(r, 300));
      if (stopped) throw new Error(`rig: ${stopped}, stopped`);
      // Bounded, so a stuck client still reaches the clean-up (spawnSync kills it by its PID).
      const r = spawnSync('ip', ['netns', 'exec', client, ...pin('0'), 'iperf3', '-c', addr, '-p', port, '-t', String(seconds), '-P', String(streams), '-J'], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
      if (r.error) throw new Error(`rig: iperf3 to ${addr} in ${client}: ${r.error.message}`);
      let bps: number | undefined;
      try { bps = (JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } }).end?.sum_received?.bits_per_second; } catch { /* below */ }
      if (bps) return bps / 1e9;
      if (attempt >= 4) throw new Error(`rig: iperf3 to ${addr} in ${client}: ${r.stderr.trim().slice(-200) || r.stdout.slice(-200)}`);
    }
  } finally {
    if (srv.exitCode === null && srv.signalCode === null) srv.kill();
    await gone;
  }
}

async function main(args: string[]): Promise<void> {
  const num = (flag: string, def: number) => {
    if (!args.includes(flag)) return def;
    const v = Number(args[args.indexOf(flag) + 1]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`rig: ${flag} needs a positive integer`);
    return v;
  };
  const unknown = args.filter((a, i) => a.startsWith('--') && !['--rounds', '--seconds'].includes(a) && !['--rounds', '--seconds'].includes(args[i - 1] ?? ''));
  if (unknown.length) throw new Error(`rig: unknown option ${unknown.join(' ')} (--rounds N, --seconds S)`);
  const roundsN = num('--rounds', 4), seconds = num('--seconds', 4);
  const uptime = () => sh(['uptime']).trim();
  const out: Record<string, unknown> = { bench: 'overlay-task-path-rig', rounds: roundsN, seconds, uptime_before: uptime() };
  const where = { underlay: [ns('h2'), ns('h1'), VTEP[2]], bridge: [ns('c2b'), ns('c1b'), taskIp(2)], macvlan: [ns('c2m'), ns('c1m'), taskIp(2)] } as const;
  const rounds: RigRound[] = [];
  // Ctrl-C or a kill: no further iperf3 run; out through the clean-up below (a second one ends at once).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { stopped = sig; });
  try {
    teardown(); // what an interrupted run left
    await build();
    for (const streams of [1, 4]) {
      for (let i = 0; i < roundsN; i++) {
        const gbps = {} as RigRound['gbps'];
        const cost: NonNullable<RigRound['cost']> = {};
        for (let j = 0; j < RIG_PATHS.length; j++) {
          const p = RIG_PATHS[(i + j) % RIG_PATHS.length];
          const cpu0 = cpuTimes(readFileSync('/proc/stat', 'utf8')), tx0 = underlayTx(), t0 = performance.now();
          gbps[p] = await iperf(where[p][0], where[p][1], where[p][2], streams, seconds);
          const tx1 = underlayTx();
          cost[p] = { busy: busyShares(cpu0, cpuTimes(readFileSync('/proc/stat', 'utf8'))), txPackets: tx1.packets - tx0.packets, txBytes: tx1.bytes - tx0.bytes, seconds: (performance.now() - t0) / 1000 };
        }
        rounds.push({ streams, gbps, cost });
        console.log(`streams=${streams} round=${i} ${RIG_PATHS.map((p) => `${p}=${gbps[p].toFixed(2)} (cpu ${cost[p]!.busy.join('/')}, ${Math.round(cost[p]!.txBytes / Math.max(1, cost[p]!.txPackets))} B/pkt)`).join(' ')}`);
      }
    }
  } finally {
    const left = teardown();
    if (left.length) console.error(`rig: clean-up left ${left.join('; ')}`);
  }
  Object.assign(out, rigFigures(rounds), { uptime_after: uptime() });
  console.log(JSON.stringify(out));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => { console.error((err as Error).message); process.exitCode = 1; });
}
