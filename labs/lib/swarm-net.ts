// Helpers of the network lab tests, the `network` benchmark and the demo: overlay networks
// and services through the Engine API (Docker's shapes, so a dockerd lab works too), where
// each task runs (host, netns, overlay address, hostname), and network checks run inside a
// task's netns with the HOST's tools (busybox, iperf3, node) — fine for network checks,
// since only the network namespace matters.
//
//   const net = await createNetwork(lab, 'front');
//   await createService(lab, webSpec('web', { networks: [net], replicas: 3 }));
//   const tasks = await placedTasks(lab, 'web', hostOf, net);
//   await inTask(lab, tasks[0], ['ping', '-c1', tasks[1].ip]);
import type { ServiceSpec, PortConfig } from '../../src/api/types/service.ts';
import type { Task } from '../../src/api/types/task.ts';
import type { Lab } from './lab.ts';
import { run, type RunResult } from './procs.ts';
import { client, IMAGE, tasksOf, waitFor } from './swarm-services.ts';

/** The web server of these tests: each answer is its container's hostname (container ID prefix). */
export const WEB_COMMAND = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'];

/** The busybox of the machine (the test image's is the same build). */
export const BUSYBOX = '/bin/busybox';

/** Name of the netns Shoal's agent makes for a task, under the lab host's /run/netns. */
export function taskNetns(taskId: string): string {
  return `t-${taskId.slice(0, 12)}`;
}

/** A running task and where to reach it. */
export interface PlacedTask {
  id: string;
  host: string;
  /** Shoal: the task's netns name under the host's /run/netns. */
  netns: string;
  /** The container's PID as the node reports it (Docker fills it; Shoal may). */
  pid?: number;
  /** Address on the network asked for (no prefix), '' if none. */
  ip: string;
  /** The container's hostname = the first 12 characters of its ID = what WEB_COMMAND answers. */
  hostname: string;
  task: Task;
}

/** Creates an overlay network through the API; resolves with its ID. */
export async function createNetwork(lab: Lab, name: string, opts: { attachable?: boolean; subnet?: string; via?: string } = {}): Promise<string> {
  const body = {
    Name: name, Driver: 'overlay', CheckDuplicate: true, Attachable: opts.attachable ?? false, Labels: {},
    ...(opts.subnet ? { IPAM: { Driver: 'default', Config: [{ Subnet: opts.subnet }] } } : {}),
  };
  const r = await client(lab, opts.via ?? 'h1').post<{ Id: string }>('/networks/create', body, { timeoutMs: 30_000 });
  if (!r?.Id) throw new Error(`swarm-net: network create ${name}: no Id in ${JSON.stringify(r)}`);
  return r.Id;
}

/** Options of {@link webSpec}. */
export interface WebSpecOptions {
  networks?: string[];
  replicas?: number;
  global?: boolean;
  endpointMode?: 'vip' | 'dnsrr';
  ports?: PortConfig[];
  constraints?: string[];
  command?: string[];
}

/** A service spec running {@link WEB_COMMAND} (or `command`) from the lab image. */
export function webSpec(name: string, o: WebSpecOptions = {}): ServiceSpec {
  return {
    Name: name, Labels: {},
    Mode: o.global ? { Global: {} } : { Replicated: { Replicas: o.replicas ?? 1 } },
    TaskTemplate: {
      ContainerSpec: { Image: IMAGE, Command: o.command ?? WEB_COMMAND, StopGracePeriod: 1e9 },
      ...(o.networks?.length ? { Networks: o.networks.map((Target) => ({ Target })) } : {}),
      ...(o.constraints?.length ? { Placement: { Constraints: o.constraints } } : {}),
    },
    ...(o.endpointMode || o.ports ? { EndpointSpec: { Mode: o.endpointMode ?? 'vip', ...(o.ports ? { Ports: o.ports } : {}) } } : {}),
  } as ServiceSpec;
}

/** POST /services/create; resolves with the service ID. */
export async function createService(lab: Lab, spec: ServiceSpec, via = 'h1'): Promise<string> {
  return (await client(lab, via).post<{ ID: string }>('/services/create', spec, { timeoutMs: 30_000 })).ID;
}

/** A task as {@link PlacedTask}; `networkId` picks the address reported. */
export function placed(t: Task, hostOf: Map<string, string>, networkId?: string): PlacedTask {
  const att = (t.NetworksAttachments ?? []).find((a) => !networkId || a.Network.ID === networkId) ?? (t.NetworksAttachments ?? [])[0];
  const cid = t.Status.ContainerStatus?.ContainerID ?? '';
  const pid = (t.Status.ContainerStatus as { PID?: number } | undefined)?.PID;
  return {
    id: t.ID, host: hostOf.get(t.NodeID!) ?? '?', netns: taskNetns(t.ID), pid: pid || undefined,
    ip: att?.Addresses?.[0]?.split('/')[0] ?? '', hostname: cid.slice(0, 12), task: t,
  };
}

/** Waits until exactly `n` tasks of a service are wanted and running (with an address on `networkId` if given); returns them placed. */
export async function placedTasks(lab: Lab, service: string, hostOf: Map<string, string>, n: number, networkId?: string, timeoutMs = 90_000): Promise<PlacedTask[]> {
  let seen = '';
  return waitFor(() => `${n} running tasks of ${service} with addresses (last: ${seen})`, async () => {
    const ts = await tasksOf(lab, service);
    seen = ts.map((t) => `${t.Status.State}/${t.DesiredState}${t.Status.Err ? ` ${t.Status.Err}` : ''}`).join(', ');
    const wanted = ts.filter((t) => t.DesiredState === 'running');
    const running = wanted.filter((t) => t.Status.State === 'running').map((t) => placed(t, hostOf, networkId));
    return wanted.length === n && running.length === n && running.every((p) => (p.ip || !networkId) && p.hostname) && running;
  }, timeoutMs);
}

/** nsenter argv entering a task's netns from inside its lab host. */
export function intoTask(t: PlacedTask | { netns: string; pid?: number }, byPid = false): string[] {
  return byPid && t.pid ? ['nsenter', '-t', String(t.pid), '-n'] : ['nsenter', `--net=/run/netns/${t.netns}`];
}

/** Runs a command inside a task's netns (host tools), from inside the task's lab host. */
export function inTask(lab: Lab, t: PlacedTask, argv: string[], timeoutMs = 30_000): Promise<RunResult> {
  return lab.exec(t.host, [...intoTask(t), ...argv], { timeoutMs });
}

/** Runs a command in the lab switch's netns (outside every host: a client of the routing mesh). */
export function inSwitch(lab: Lab, argv: string[], timeoutMs = 30_000): Promise<RunResult> {
  return run('nsenter', [`--net=/run/netns/${lab.names.switchNetns}`, ...argv], { timeoutMs });
}

/** A shell line sending `n` HTTP GETs with busybox nc, one answer line each ('' when it failed). */
export function httpLoop(addr: string, port: number, n: number, waitS = 2): string[] {
  return ['sh', '-c', `for i in $(seq ${n}); do r=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | ${BUSYBOX} nc -w ${waitS} ${addr} ${port} 2>/dev/null | tail -n 1); echo "=$r"; done`];
}

/** Parses {@link httpLoop}'s output: one entry per request, '' for a failed one. */
export function parseHttpLoop(out: string): string[] {
  return out.split('\n').filter((l) => l.startsWith('=')).map((l) => l.slice(1).trim());
}

/** Counts answers by value. */
export function tally(answers: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of answers) m.set(a, (m.get(a) ?? 0) + 1);
  return m;
}

/** `busybox nslookup -type=a NAME 127.0.0.11` in a task: exit code, the addresses (sorted, and in the answer's order), the whole output. */
export async function nslookup(lab: Lab, t: PlacedTask, name: string): Promise<{ code: number; addresses: string[]; order: string[]; out: string }> {
  const r = await inTask(lab, t, ['timeout', '5', BUSYBOX, 'nslookup', '-type=a', name, '127.0.0.11']);
  const out = r.stdout + r.stderr;
  const order = parseNslookup(out);
  return { code: r.code, addresses: [...order].sort(), order, out };
}

/** The answered IPv4 addresses of busybox nslookup's output, in order (not the server's own line). */
export function parseNslookup(out: string): string[] {
  // The server's own line reads "Address:\t127.0.0.11:53"; answers have no port.
  return [...out.matchAll(/^Address:\s+(\d+\.\d+\.\d+\.\d+)\s*$/gm)].map((m) => m[1]);
}

/** Repeats `fn` until it returns true (network programming may trail the task's `running` by a moment). */
export function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<true> {
  return waitFor(what, async () => (await fn()) || undefined, timeoutMs, 200) as Promise<true>;
}

/** One HTTP GET with busybox nc from inside a task; resolves with the answer's last line, '' when it failed. */
export async function httpGet(lab: Lab, from: PlacedTask, addr: string, port = 80, waitS = 2): Promise<string> {
  return parseHttpLoop((await inTask(lab, from, httpLoop(addr, port, 1, waitS))).stdout)[0] ?? '';
}

/** `n` HTTP GETs with busybox nc from inside a task, one after another; one answer each ('' when it failed). */
export async function httpMany(lab: Lab, from: PlacedTask, addr: string, port: number, n: number): Promise<string[]> {
  return parseHttpLoop((await inTask(lab, from, httpLoop(addr, port, n), 30_000 + n * 3000)).stdout);
}

/** `n` HTTP GETs with busybox nc from the switch (outside every host) to `addr:port`. */
export async function httpFromSwitch(lab: Lab, addr: string, port: number, n: number, waitS = 2): Promise<string[]> {
  return parseHttpLoop((await inSwitch(lab, httpLoop(addr, port, n, waitS), 30_000 + n * 3000)).stdout);
}

/** runc exec in a task's container on its host: the container's own files (resolv.conf, busybox). */
export function inContainer(lab: Lab, t: PlacedTask, argv: string[], timeoutMs = 30_000): Promise<RunResult> {
  return lab.exec(t.host, ['runc', '--root', '/run/shoal/exec/runtime', 'exec', t.task.Status.ContainerStatus!.ContainerID, ...argv], { timeoutMs });
}

/**
 * The kernel's TCP extension counters (`TcpExt:` of /proc/net/netstat: a line of names,
 * then a line of values) by name; other sections are left out.
 */
export function parseTcpExt(netstat: string): Record<string, number> {
  const rows = netstat.split('\n').filter((l) => l.startsWith('TcpExt:')).map((l) => l.split(/\s+/).slice(1));
  if (rows.length < 2) return {};
  const [names, values] = rows;
  return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]).filter(([, v]) => Number.isFinite(v)));
}

/**
 * SYNs each task's kernel dropped because its server's accept queue was full
 * (`ListenOverflows` of the task's netns; busybox httpd listens with a backlog of 9), by
 * task ID. A request that fails while its backend's count climbs was refused by a server
 * that did not keep up, not by a stale rotation: the load tests print it beside failures.
 */
export async function listenOverflows(lab: Lab, tasks: PlacedTask[]): Promise<Record<string, number>> {
  const counts = await Promise.all(tasks.map(async (t) => {
    const r = await inTask(lab, t, ['cat', '/proc/net/netstat']).catch(() => undefined);
    return [t.id.slice(0, 12), r?.code === 0 ? parseTcpExt(r.stdout).ListenOverflows ?? -1 : -1] as const;
  }));
  return Object.fromEntries(counts);
}
