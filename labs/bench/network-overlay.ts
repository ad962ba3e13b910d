/**
 * The overlay data plane against the lab underlay, for `npm run bench -- network`
 * (network.ts calls these once per side per round; issue 20, "an overlay at wire speed").
 * "Wire speed" here is the lab's underlay measured the same way: the same tools, between
 * the same two hosts (h1, where the `client` task runs, and the host of the `web` task).
 *
 * Throughput (iperf3, TCP, `seconds` long; underlay and overlay runs alternate, so a drift
 * of the machine's speed hits both; each ratio is the median of the per-pair ratios):
 * - `underlay_gbps`, `overlay_gbps`, `overlay_ratio`: one stream, host → host and
 *   client task → web task's overlay address.
 * - `underlay_gbps_4`, `overlay_gbps_4`, `overlay_ratio_4`: the same with 4 streams (`-P 4`).
 * - `underlay_mss`, `overlay_mss`: the MSS each path's connections used (iperf3's own
 *   report): each runs with its own, as a user sees it; the ratio is not corrected for it.
 *
 * Latency (labs/bench/tcprr.pl, Perl: no JIT or GC pauses of its own; medians of
 * `rrCount` rounds, each path's run alternating with its underlay run):
 * - `underlay_rtt_us`, `overlay_rtt_us`, `overlay_rtt_added_us`: a 1-byte TCP
 *   request/response on one connection (netperf TCP_RR), h1 → web host and client task →
 *   web task; added = overlay − underlay per pair, median.
 * - `vip_rtt_us`, `vip_rtt_added_us`: the same from the client task to the service's VIP
 *   (nftables DNAT in the client's netns, then the overlay).
 * - `underlay_connect_us`, `mesh_connect_us`, `mesh_rtt_added_us`: TCP connect time
 *   (SYN → SYN-ACK, answered by the kernel, so no user space on the far side) from the
 *   switch (outside every host) to the web host's underlay address, and to h1's published
 *   port 8080, which the routing mesh carries over the ingress overlay to the web task.
 *
 * `--rt` runs both sides' probes (iperf3, tcprr) as SCHED_FIFO 1, client and server on
 * CPUs 0 and 1: on a loaded shared
 * machine the ordinary scheduler's share, not the data path, sets the figures; it is
 * off by default because it starves everything else on the machine while it runs.
 * Recorded in the settings either way.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../src/api/client.ts';
import type { Service } from '../../src/api/types/service.ts';
import { DEFAULT_TASK_PATH, sandboxTaskPath } from '../../src/agent/network/task-path.ts';
import type { Lab } from '../lib/lab.ts';
import { run as runCmd } from '../lib/procs.ts';
import type { PlacedTask } from '../lib/swarm-net.ts';
import { median } from './fair.ts';

/** What the overlay figures run against: one side's lab and its two tasks. */
export interface OverlayContext {
  lab: Lab;
  client: PlacedTask;
  web: PlacedTask;
  /** The overlay network both tasks are on (its VIP for the `web` service). */
  netId: string;
  /** argv prefix entering a task's netns from inside its host. */
  enter: (t: PlacedTask) => string[];
}

/** Options of the overlay figures. */
export interface OverlayOptions {
  /** Underlay/overlay pairs per round (default 1). */
  reps: number;
  /** iperf3 run length, s (default 5). */
  seconds: number;
  /** Probes as SCHED_FIFO 1 (`--rt`); default false. */
  rt?: boolean;
  /** Request/response rounds per latency run (default 2000). */
  rrCount?: number;
}

type Out = Record<string, number | string>;

const TCPRR = fileURLToPath(new URL('./tcprr.pl', import.meta.url));
/** Round a median (fair.ts: null for no values) to 0.01 / 0.1; NaN for none. */
const r2 = (x: number | null) => Math.round((x ?? NaN) * 100) / 100;
const r1 = (x: number | null) => Math.round((x ?? NaN) * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A failed step's figure: 'fail: ' and the first line of its error (network.ts and network-dns.ts too). */
export const failure = (err: unknown) => `fail: ${((err as Error).message ?? String(err)).split('\n')[0].slice(0, 300)}`;
/** A fresh port for each echo server (an earlier one may still be listening until its alarm). */
let nextPort = 7100;

/** The settings these figures run with, for the benchmark's JSON. */
export function overlaySettings(o: OverlayOptions): Record<string, unknown> {
  return {
    overlay_iperf3: 'TCP, 1 and 4 streams (-P 4), underlay and overlay alternating',
    overlay_rr: `tcprr.pl: ${o.rrCount ?? 2000} 1-byte TCP request/responses per run (TCP_RR); mesh: TCP connect time`,
    // What makes the two paths comparable (net/overlay/PERFORMANCE.md, "like for like").
    overlay_same: 'same iperf3 options and CPUs both paths; each with its own MSS (underlay_mss, overlay_mss); conntrack on both (underlay: node netns; overlay: task netns, VXLAN untracked)',
    // Shoal's task path, from the agent's own default and rule (issue 20: every setting in
    // the JSON), so a change of default shows in the figures' settings.
    overlay_task_path: sandboxTaskPath({ ingress: false }, DEFAULT_TASK_PATH),
    overlay_task_path_ingress: sandboxTaskPath({ ingress: true }, DEFAULT_TASK_PATH),
    overlay_sched: o.rt ? 'SCHED_FIFO 1, client on CPU 0, server on CPU 1 (--rt), both paths' : 'normal (no --rt)',
  };
}

/** The keys {@link overlayThroughput} sets (a failed step sets each to its failure). */
export const THROUGHPUT_KEYS = ['underlay_gbps', 'overlay_gbps', 'overlay_ratio', 'underlay_gbps_4', 'overlay_gbps_4', 'overlay_ratio_4', 'underlay_mss', 'overlay_mss'];
/** The keys {@link overlayLatency} sets. */
export const LATENCY_KEYS = ['underlay_rtt_us', 'overlay_rtt_us', 'overlay_rtt_added_us', 'vip_rtt_us', 'vip_rtt_added_us', 'underlay_connect_us', 'mesh_connect_us', 'mesh_rtt_added_us'];

/**
 * The scheduling prefix of a probe: with `--rt`, SCHED_FIFO 1, and on a machine of two or
 * more CPUs the server on CPU 1 and the client on CPU 0, so the two never share one.
 */
const prio = (o: Pick<OverlayOptions, 'rt'>, role: 'server' | 'client') =>
  (o.rt ? [...(availableParallelism() >= 2 ? ['taskset', '-c', role === 'server' ? '1' : '0'] : []), 'chrt', '-f', '1'] : []);

/**
 * One iperf3 run (TCP, `streams` streams), server and client as argv prefixes inside lab
 * hosts; Gbit/s. Also the encrypted-overlay step of network.ts.
 */
export async function iperfGbps(lab: Lab, o: Pick<OverlayOptions, 'seconds' | 'rt'>, server: { host: string; enter: string[] }, client: { host: string; enter: string[] }, addr: string, streams: number): Promise<number> {
  return (await iperfRun(lab, o, server, client, addr, streams)).gbps;
}

/** {@link iperfGbps} with the MSS the client's connection used (iperf3's `tcp_mss_default`; 0 if it did not say). */
export async function iperfRun(lab: Lab, o: Pick<OverlayOptions, 'seconds' | 'rt'>, server: { host: string; enter: string[] }, client: { host: string; enter: string[] }, addr: string, streams: number): Promise<{ gbps: number; mss: number }> {
  const port = String(nextPort++);
  const srv = lab.exec(server.host, [...server.enter, ...prio(o, 'server'), 'timeout', String(o.seconds + 30), 'iperf3', '-s', '-1', '-p', port], { timeoutMs: (o.seconds + 40) * 1000 });
  try {
    for (let attempt = 0; ; attempt++) {
      await sleep(300);
      const r = await lab.exec(client.host, [...client.enter, ...prio(o, 'client'), 'iperf3', '-c', addr, '-p', port, '-t', String(o.seconds), '-P', String(streams), '-J'], { timeoutMs: (o.seconds + 30) * 1000 });
      let j: { start?: { tcp_mss_default?: number }; end?: { sum_received?: { bits_per_second?: number } }; error?: string } = {};
      try { j = JSON.parse(r.stdout); } catch { /* reported below */ }
      const bps = j.end?.sum_received?.bits_per_second;
      if (bps) return { gbps: bps / 1e9, mss: j.start?.tcp_mss_default ?? 0 };
      if (attempt >= 4) throw new Error(`iperf3 to ${addr}: ${j.error ?? r.stderr.trim().slice(-200)}`);
    }
  } finally {
    await srv;
  }
}

/** Single- and 4-stream throughput, underlay and overlay alternating. */
export async function overlayThroughput(ctx: OverlayContext, o: OverlayOptions): Promise<Out> {
  const { client, web } = ctx;
  const hosts = { server: { host: web.host, enter: [] }, client: { host: client.host, enter: [] } };
  const tasks = { server: { host: web.host, enter: ctx.enter(web) }, client: { host: client.host, enter: ctx.enter(client) } };
  const out: Out = {};
  for (const streams of [1, 4]) {
    const under: number[] = [], over: number[] = [], ratios: number[] = [];
    for (let i = 0; i < o.reps; i++) {
      // Which path goes first alternates too.
      const runU = () => iperfRun(ctx.lab, o, hosts.server, hosts.client, ctx.lab.address(web.host), streams);
      const runO = () => iperfRun(ctx.lab, o, tasks.server, tasks.client, web.ip, streams);
      const [u, v] = i % 2 === 0 ? [await runU(), await runO()] : (([b, a]) => [a, b])([await runO(), await runU()]);
      under.push(u.gbps); over.push(v.gbps); ratios.push(v.gbps / u.gbps);
      // Each path with its own MSS, as a user gets it (1448 on a 1500 underlay, 1398 in the overlay).
      out.underlay_mss ??= u.mss; out.overlay_mss ??= v.mss;
    }
    const sfx = streams === 1 ? '' : `_${streams}`;
    Object.assign(out, { [`underlay_gbps${sfx}`]: r2(median(under)), [`overlay_gbps${sfx}`]: r2(median(over)), [`overlay_ratio${sfx}`]: r2(median(ratios)) });
  }
  return out;
}

interface RrResult { n: number; p50_us: number; p90_us: number; min_us: number; errors: number }

/** Starts an echo server (tcprr.pl serve) for `secs` in a host (or a netns inside it); returns its port. */
function serve(ctx: OverlayContext, o: OverlayOptions, host: string, enter: string[], secs: number): number {
  const port = nextPort++;
  // Exits by its own alarm; its promise is left to settle (the lab's teardown kills what is left).
  void ctx.lab.exec(host, [...enter, ...prio(o, 'server'), 'perl', TCPRR, 'serve', String(port), String(secs)], { timeoutMs: (secs + 10) * 1000 }).catch(() => {});
  return port;
}

/** One tcprr client run, inside a lab host (`host`) or, with `host` null, from the root namespaces; retried while the server is still starting. */
async function rr(ctx: OverlayContext, o: OverlayOptions, host: string | null, enter: string[], mode: 'rr' | 'connect', addr: string, port: number, n: number): Promise<RrResult> {
  const argv = [...enter, ...prio(o, 'client'), 'perl', TCPRR, mode, addr, String(port), String(n)];
  for (let attempt = 0; ; attempt++) {
    const r = host === null ? await runCmd(argv[0], argv.slice(1), { timeoutMs: 120_000 }) : await ctx.lab.exec(host, argv, { timeoutMs: 120_000 });
    try {
      const j = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as RrResult;
      if (j.n > 0 && j.errors === 0) return j;
      if (attempt >= 4) throw new Error(`${j.errors} errors of ${n}`);
    } catch (err) {
      if (attempt >= 4) throw new Error(`tcprr ${mode} ${addr}:${port}: ${(err as Error).message} ${r.stderr.trim().slice(-200)}`);
    }
    await sleep(300);
  }
}

/** Request/response latency through the overlay, the VIP and the mesh, each against the underlay. */
export async function overlayLatency(ctx: OverlayContext, o: OverlayOptions): Promise<Out> {
  const { lab, client, web } = ctx;
  const n = o.rrCount ?? 2000;
  const pairs = Math.max(3, o.reps);
  const life = 60 + pairs * 20;
  const hostPort = serve(ctx, o, web.host, [], life);
  const taskPort = serve(ctx, o, web.host, ctx.enter(web), life);
  const sw = ['nsenter', `--net=/run/netns/${lab.names.switchNetns}`];
  const underAddr = lab.address(web.host);
  const svc = await new ApiClient(lab.dockerHost('h1')).get<Service>('/services/web');
  const vip = svc.Endpoint?.VirtualIPs?.find((v) => v.NetworkID === ctx.netId)?.Addr.split('/')[0];

  const under = () => rr(ctx, o, client.host, [], 'rr', underAddr, hostPort, n);
  const out: Out = {};
  const measure = async (name: string, path: () => Promise<RrResult>, base: () => Promise<RrResult>) => {
    const b: number[] = [], p: number[] = [], added: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const [x, y] = i % 2 === 0 ? [await base(), await path()] : (([q, r]) => [r, q])([await path(), await base()]);
      b.push(x.p50_us); p.push(y.p50_us); added.push(y.p50_us - x.p50_us);
    }
    return { base: r1(median(b)), path: r1(median(p)), added: r1(median(added)), name };
  };
  const step = async (keys: string[], fn: () => Promise<Out>) => {
    try { Object.assign(out, await fn()); } catch (err) {
      for (const k of keys) out[k] = failure(err);
    }
  };
  await step(['underlay_rtt_us', 'overlay_rtt_us', 'overlay_rtt_added_us'], async () => {
    const m = await measure('overlay', () => rr(ctx, o, client.host, ctx.enter(client), 'rr', web.ip, taskPort, n), under);
    return { underlay_rtt_us: m.base, overlay_rtt_us: m.path, overlay_rtt_added_us: m.added };
  });
  await step(['vip_rtt_us', 'vip_rtt_added_us'], async () => {
    if (!vip) throw new Error('no VIP on the network');
    const m = await measure('vip', () => rr(ctx, o, client.host, ctx.enter(client), 'rr', vip, taskPort, n), under);
    return { vip_rtt_us: m.path, vip_rtt_added_us: m.added };
  });
  await step(['underlay_connect_us', 'mesh_connect_us', 'mesh_rtt_added_us'], async () => {
    const c = Math.max(200, Math.round(n / 10));
    const m = await measure('mesh',
      () => rr(ctx, o, null, sw, 'connect', lab.address('h1'), 8080, c),
      () => rr(ctx, o, null, sw, 'connect', underAddr, hostPort, c));
    return { underlay_connect_us: m.base, mesh_connect_us: m.path, mesh_rtt_added_us: m.added };
  });
  return out;
}
