/**
 * How the `shoal node …` and `shoal swarm …` commands print, as docker prints them:
 * the `node ls` table and its template fields, `node inspect --pretty`, and the
 * JSON array `inspect` commands write.
 */
import type { Node } from '../src/api/types/node.ts';
import type { SwarmInfo } from '../src/api/types/system.ts';
import type { TLSInfo } from '../src/api/types/swarm.ts';
import { applyTemplate, table } from './format.ts';

/** Docker's PrettyPrint of an enum value: first letter upper case, the rest lower (`ready` → `Ready`). */
export function prettyPrint(s: string | undefined): string {
  if (!s) return '';
  if (s.length === 1) return s.toLowerCase();
  return s[0].toUpperCase() + s.slice(1).toLowerCase();
}

/** One `node ls` row; its field names are those docker's `--format` templates use. */
export interface NodeRow {
  ID: string;
  Self: boolean;
  Hostname: string;
  Status: string;
  Availability: string;
  ManagerStatus: string;
  EngineVersion: string;
  TLSStatus: string;
}

/** A node as `node ls` shows it; `info` is this daemon's swarm part of `GET /info` (for Self and TLS status). */
export function nodeRow(n: Node, info: SwarmInfo | undefined): NodeRow {
  const ms = n.ManagerStatus;
  return {
    ID: n.ID,
    Self: n.ID === info?.NodeID,
    Hostname: n.Description.Hostname,
    Status: prettyPrint(n.Status.State),
    Availability: prettyPrint(n.Spec.Availability),
    ManagerStatus: ms ? (ms.Leader ? 'Leader' : prettyPrint(ms.Reachability)) : '',
    EngineVersion: n.Description.Engine.EngineVersion,
    TLSStatus: tlsStatus(n, info),
  };
}

function tlsStatus(n: Node, info: SwarmInfo | undefined): string {
  const cluster = (info?.Cluster as { TLSInfo?: TLSInfo } | undefined)?.TLSInfo;
  const mine = n.Description.TLSInfo;
  if (!cluster?.TrustRoot || !mine?.TrustRoot) return 'Unknown';
  const same = mine.TrustRoot === cluster.TrustRoot && mine.CertIssuerSubject === cluster.CertIssuerSubject && mine.CertIssuerPublicKey === cluster.CertIssuerPublicKey;
  return same ? 'Ready' : 'Needs Rotation';
}

/** Sorts as docker's natural order of host names (`node2` before `node10`). */
export function byHostname(a: Node, b: Node): number {
  return a.Description.Hostname.localeCompare(b.Description.Hostname, 'en', { numeric: true });
}

/** docker's `node ls` table: `ID *` marks this node, then HOSTNAME … ENGINE VERSION. */
export function nodeTable(rows: NodeRow[]): string {
  return table(
    ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'],
    rows.map((r) => [`${r.ID} ${r.Self ? '*' : ' '}`, r.Hostname, r.Status, r.Availability, r.ManagerStatus, r.EngineVersion]),
  );
}

/** Sizes in binary units as docker's units.BytesSize (`7.704GiB`). */
export function bytesSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${+n.toPrecision(4)}${units[i]}`;
}

/** An RFC 3339 time as Go's time.String prints it (`2026-11-23 14:32:28.123 +0000 UTC`). */
export function goTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const frac = /\.(\d+)/.exec(iso)?.[1]?.replace(/0+$/, '') ?? '';
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)}${frac ? `.${frac}` : ''} +0000 UTC`;
}

function labelLines(labels: Record<string, string> | undefined): string[] {
  return Object.keys(labels ?? {}).sort().map((k) => ` - ${k}${labels![k] ? `=${labels![k]}` : ''}`);
}

/**
 * `node inspect --pretty`: docker's layout line for line, tabs included (they line
 * the values up at column 24 on a terminal).
 */
export function prettyNode(n: Node): string {
  const lines = [`ID:\t\t\t${n.ID}`];
  if (n.Spec.Name) lines.push(`Name:\t\t\t${n.Spec.Name}`);
  if (Object.keys(n.Spec.Labels ?? {}).length) lines.push('Labels:', ...labelLines(n.Spec.Labels));
  lines.push(
    `Hostname:              \t${n.Description.Hostname}`,
    `Joined at:             \t${goTime(n.CreatedAt)}`,
    'Status:',
    ` State:\t\t\t${prettyPrint(n.Status.State)}`,
  );
  if (n.Status.Message) lines.push(` Message:              \t${prettyPrint(n.Status.Message)}`);
  lines.push(` Availability:         \t${prettyPrint(n.Spec.Availability)}`);
  if (n.Status.Addr) lines.push(` Address:\t\t${n.Status.Addr}`);
  if (n.ManagerStatus) {
    lines.push(
      'Manager Status:',
      ` Address:\t\t${n.ManagerStatus.Addr}`,
      ` Raft Status:\t\t${prettyPrint(n.ManagerStatus.Reachability)}`,
      ` Leader:\t\t${n.ManagerStatus.Leader ? 'Yes' : 'No'}`,
    );
  }
  const { Platform: p, Resources: r, Engine: e, TLSInfo: tls } = n.Description;
  lines.push(
    'Platform:',
    ` Operating System:\t${p.OS}`,
    ` Architecture:\t\t${p.Architecture}`,
    'Resources:',
    ` CPUs:\t\t\t${Math.trunc((r.NanoCPUs || 0) / 1e9)}`,
    ` Memory:\t\t${r.MemoryBytes ? bytesSize(r.MemoryBytes) : ''}`,
  );
  if (e.Plugins?.length) {
    const byType = new Map<string, string[]>();
    for (const pl of e.Plugins) byType.set(pl.Type, [...(byType.get(pl.Type) ?? []), pl.Name]);
    lines.push('Plugins:', ...[...byType.keys()].sort().map((t) => ` ${t}:\t\t${byType.get(t)!.join(', ')}`));
  }
  lines.push(`Engine Version:\t\t${e.EngineVersion}`);
  if (Object.keys(e.Labels ?? {}).length) lines.push('Engine Labels:', ...labelLines(e.Labels));
  if (tls?.TrustRoot) {
    lines.push('TLS Info:', ' TrustRoot:', tls.TrustRoot, ` Issuer Subject:\t${tls.CertIssuerSubject}`, ` Issuer Public Key:\t${tls.CertIssuerPublicKey}`);
  }
  return lines.join('\n');
}

/**
 * What docker's `inspect` commands print for the objects found: a JSON array indented
 * by four spaces, or with `--format` one line per object (`json` meaning `{{json .}}`).
 */
export function inspectOutput(items: unknown[], format: string | undefined): string {
  if (!format) return JSON.stringify(items, null, 4) + '\n';
  if (format === 'json') return items.map((i) => JSON.stringify(i)).join('\n') + (items.length ? '\n' : '');
  return items.map((i) => applyTemplate(format, i)).join('\n') + (items.length ? '\n' : '');
}
