/**
 * How the `shoal service …` and `shoal node ps` commands print, as docker prints them:
 * the `service ls` table, the task table of `service ps` / `node ps` (history entries
 * marked `\_`), and the progress lines `service create` shows until a service converges.
 */
import type { Node } from '../src/api/types/node.ts';
import type { Service } from '../src/api/types/service.ts';
import type { Task } from '../src/api/types/task.ts';
import { render, table, timeAgo } from './format.ts';
import { prettyPrint } from './swarm-format.ts';
import { portsColumn } from './network-options.ts';

/** One `service ls` row; field names are docker's `--format` fields. */
export interface ServiceRow {
  ID: string;
  Name: string;
  Mode: string;
  Replicas: string;
  Image: string;
  Ports: string;
}

function mode(s: Service): string {
  const m = s.Spec.Mode ?? {};
  if (m.Global) return 'global';
  if (m.ReplicatedJob) return 'replicated job';
  if (m.GlobalJob) return 'global job';
  return 'replicated';
}

/** Docker's PORTS: the ports as the allocator published them (the spec's until it has). */
function ports(s: Service): string {
  return portsColumn(s.Endpoint?.Ports ?? s.Spec.EndpointSpec?.Ports);
}

export function serviceRow(s: Service): ServiceRow {
  const st = s.ServiceStatus;
  const m = mode(s);
  let replicas = st ? `${st.RunningTasks}/${st.DesiredTasks}` : '';
  if (st && m.endsWith('job')) replicas = `${st.RunningTasks}/${st.DesiredTasks} (${st.CompletedTasks}/${s.Spec.Mode?.ReplicatedJob?.TotalCompletions ?? st.DesiredTasks} completed)`;
  if (s.Spec.TaskTemplate.Placement?.MaxReplicas) replicas += ` (max ${s.Spec.TaskTemplate.Placement.MaxReplicas} per node)`;
  return { ID: s.ID.slice(0, 12), Name: s.Spec.Name, Mode: m, Replicas: replicas, Image: s.Spec.TaskTemplate.ContainerSpec.Image, Ports: ports(s) };
}

export function serviceTable(rows: ServiceRow[]): string {
  return table(['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'], rows.map((r) => [r.ID, r.Name, r.Mode, r.Replicas, r.Image, r.Ports]));
}

/** One task row of `service ps` / `node ps`. */
export interface TaskRow {
  ID: string;
  Name: string;
  Image: string;
  Node: string;
  DesiredState: string;
  CurrentState: string;
  Error: string;
  Ports: string;
}

/** Docker's task name: `service.slot` (or `service.nodeid`), `\_ …` for an older task of the same slot. */
function taskDisplayName(t: Task, history: boolean): string {
  const name = `${t.ServiceAnnotations?.Name ?? t.ServiceID}.${t.Slot ? t.Slot : (t.NodeID ?? '')}`;
  return history ? ` \\_ ${name}` : name;
}

/**
 * Task rows in docker's order: by service name, slot (or node), newest first within a
 * slot, the older ones marked as history. `nodes` names hosts; `now` for "… ago".
 */
export function taskRows(tasks: Task[], nodes: Map<string, Node>, opts: { now?: number; noTrunc?: boolean } = {}): TaskRow[] {
  const key = (t: Task) => `${t.ServiceAnnotations?.Name ?? t.ServiceID}\u0000${t.Slot ? String(t.Slot).padStart(8, '0') : (t.NodeID ?? '')}`;
  const sorted = [...tasks].sort((a, b) => key(a).localeCompare(key(b)) || Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt));
  let prev = '';
  return sorted.map((t) => {
    const k = key(t);
    const history = k === prev;
    prev = k;
    const err = t.Status.Err ?? '';
    return {
      ID: opts.noTrunc ? t.ID : t.ID.slice(0, 12),
      Name: taskDisplayName(t, history),
      Image: t.Spec.ContainerSpec.Image,
      Node: t.NodeID ? (nodes.get(t.NodeID)?.Description.Hostname ?? t.NodeID) : '',
      DesiredState: prettyPrint(t.DesiredState),
      CurrentState: `${prettyPrint(t.Status.State)} ${timeAgo(t.Status.Timestamp, opts.now).toLowerCase()}`,
      Error: opts.noTrunc || err.length <= 30 ? err : `"${err.slice(0, 29)}…"`,
      Ports: (t.Status.PortStatus?.Ports ?? []).map((p) => `*:${p.PublishedPort}->${p.TargetPort}/${p.Protocol ?? 'tcp'}`).join(', '),
    };
  });
}

export function taskTable(rows: TaskRow[]): string {
  return table(['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'],
    rows.map((r) => [r.ID, r.Name, r.Image, r.Node, r.DesiredState, r.CurrentState, r.Error, r.Ports]));
}

/**
 * The progress `service create` prints for a replicated service: one line per slot with
 * its newest task's state, and the overall count. Pure: the caller prints what changed.
 */
export function progressLines(service: Service, tasks: Task[]): { lines: string[]; converged: boolean } {
  const replicas = service.Spec.Mode?.Replicated?.Replicas;
  const wanted = tasks.filter((t) => t.DesiredState === 'running');
  const running = wanted.filter((t) => t.Status.State === 'running');
  const total = replicas ?? wanted.length;
  const lines = [`overall progress: ${running.length} out of ${total} tasks`];
  const bySlot = new Map<string, Task>();
  for (const t of wanted) bySlot.set(t.Slot ? String(t.Slot) : (t.NodeID ?? ''), t);
  for (const [slot, t] of [...bySlot].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true }))) {
    const label = replicas ? `${slot}/${replicas}` : slot.slice(0, 12);
    lines.push(`${label}: ${t.Status.State}${t.Status.Err ? ` (${t.Status.Err})` : ''}`);
  }
  return { lines, converged: running.length === total && wanted.length === total };
}

/**
 * `service inspect --pretty`, after docker's layout: what the service runs, its networks
 * (by name when known), endpoint mode, published ports and virtual IPs.
 */
export function prettyService(s: Service, networkNames: ReadonlyMap<string, string> = new Map()): string {
  const lines: string[] = [];
  const row = (k: string, v: string | number) => lines.push(`${`${k}:`.padEnd(16)}${v}`);
  const name = (id: string) => networkNames.get(id) ?? id;
  row('ID', s.ID);
  row('Name', s.Spec.Name);
  const labels = Object.entries(s.Spec.Labels ?? {});
  if (labels.length) {
    lines.push('Labels:');
    for (const [k, v] of labels) lines.push(` ${k}=${v}`);
  }
  const m = mode(s);
  row('Service Mode', m.charAt(0).toUpperCase() + m.slice(1));
  if (s.Spec.Mode?.Replicated) row(' Replicas', s.Spec.Mode.Replicated.Replicas ?? 1);
  lines.push('ContainerSpec:');
  row(' Image', s.Spec.TaskTemplate.ContainerSpec.Image);
  const args = [...(s.Spec.TaskTemplate.ContainerSpec.Command ?? []), ...(s.Spec.TaskTemplate.ContainerSpec.Args ?? [])];
  if (args.length) row(' Args', args.join(' '));
  const nets = [...(s.Spec.TaskTemplate.Networks ?? []), ...(s.Spec.Networks ?? [])];
  if (nets.length) {
    row('Networks', nets.map((n) => name(n.Target)).join(' '));
    for (const n of nets) if (n.Aliases?.length) lines.push(` ${name(n.Target)} aliases: ${n.Aliases.join(', ')}`);
  }
  row('Endpoint Mode', s.Spec.EndpointSpec?.Mode ?? 'vip');
  const ports = s.Endpoint?.Ports ?? s.Spec.EndpointSpec?.Ports ?? [];
  if (ports.length) {
    lines.push('Ports:');
    for (const p of ports) {
      lines.push(` PublishedPort = ${p.PublishedPort ?? 0}`, `  Protocol = ${p.Protocol ?? 'tcp'}`, `  TargetPort = ${p.TargetPort}`, `  PublishMode = ${p.PublishMode ?? 'ingress'}`);
    }
  }
  const vips = s.Endpoint?.VirtualIPs ?? [];
  if (vips.length) {
    lines.push('Virtual IPs:');
    for (const v of vips) lines.push(` ${v.Addr} on ${name(v.NetworkID)}`);
  }
  return lines.join('\n') + '\n';
}

/** What `service ps` and `node ps` print: task IDs (`--quiet`), or the task table (or `--format`). */
export async function taskListing(tasks: Task[], nodes: () => Promise<Map<string, Node>>, flags: { quiet?: boolean; format: string; 'no-trunc'?: boolean }): Promise<string> {
  if (flags.quiet) return tasks.map((t) => `${t.ID}\n`).join('');
  return render(flags.format, taskRows(tasks, await nodes(), { noTrunc: flags['no-trunc'] }), taskTable);
}
