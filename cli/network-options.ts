/**
 * Flag values of the network-related options, parsed as docker parses them:
 * `service create -p/--publish` (short `8080:80[/udp]`, `80`, ranges `8080-8081:80-81`,
 * and the long `published=8080,target=80,protocol=udp,mode=host`), `--network` (a name,
 * or `name=N,alias=A,driver-opt=k=v`) and `network create` IPAM flags. Each parser
 * throws a plain `Error` worded as docker's, so a bad value sends nothing.
 */
import type { IPAMConfig } from '../src/api/types/network.ts';
import type { NetworkAttachmentConfig, PortConfig } from '../src/api/types/service.ts';

function port(text: string, what: string, allowZero: boolean): number {
  if (!/^\d+$/.test(text)) throw new Error(`invalid ${what} port "${text}": must be a number`);
  const n = Number(text);
  if (n > 65535 || n < (allowZero ? 0 : 1)) throw new Error(`invalid ${what} port ${n}: must be ${allowZero ? 0 : 1}-65535`);
  return n;
}

/** `A` or `A-B` as the list of ports it covers. */
function range(text: string, what: string): number[] {
  const m = /^([^-]+)(?:-(.+))?$/.exec(text);
  if (!m) throw new Error(`invalid ${what} port "${text}"`);
  const first = port(m[1], what, false);
  const last = m[2] === undefined ? first : port(m[2], what, false);
  if (last < first) throw new Error(`invalid ${what} port range "${text}": the end is before the start`);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function protocol(text: string): 'tcp' | 'udp' | 'sctp' {
  const p = text.toLowerCase();
  if (p === 'tcp' || p === 'udp' || p === 'sctp') return p;
  throw new Error(`invalid protocol value ${text}: must be tcp, udp or sctp`);
}

/** The short syntax: `[published:]target[/protocol]`, each side a port or a range. */
function parseShortPublish(value: string): PortConfig[] {
  const [ports, proto = 'tcp', ...extra] = value.split('/');
  if (extra.length) throw new Error(`invalid publish value "${value}"`);
  const protocolValue = protocol(proto);
  const parts = ports.split(':');
  if (parts.length > 2) throw new Error(`invalid publish value "${value}": hostip is not supported`);
  const target = range(parts[parts.length - 1], 'target');
  const publishedText = parts.length === 2 ? parts[0] : '';
  const published = publishedText === '' ? undefined : range(publishedText, 'published');
  if (published && published.length !== target.length) {
    throw new Error(`invalid publish value "${value}": the published and target ranges must be the same size`);
  }
  return target.map((t, i) => ({
    Protocol: protocolValue,
    TargetPort: t,
    ...(published ? { PublishedPort: published[i] } : {}),
    PublishMode: 'ingress' as const,
  }));
}

/** The long syntax: `published=8080,target=80,protocol=udp,mode=host` (target is mandatory). */
function parseLongPublish(value: string): PortConfig {
  const out: PortConfig = { Protocol: 'tcp', TargetPort: 0, PublishMode: 'ingress' };
  let hasTarget = false;
  for (const field of value.split(',')) {
    const i = field.indexOf('=');
    if (i < 0) throw new Error(`invalid field ${field} must be a key=value pair`);
    const key = field.slice(0, i).trim().toLowerCase();
    const v = field.slice(i + 1).trim();
    if (key === 'target') {
      out.TargetPort = port(v, 'target', false);
      hasTarget = true;
    } else if (key === 'published') out.PublishedPort = port(v, 'published', true);
    else if (key === 'protocol') out.Protocol = protocol(v);
    else if (key === 'mode') {
      if (v !== 'ingress' && v !== 'host') throw new Error(`invalid publish mode value (${v}): must be either "ingress" or "host"`);
      out.PublishMode = v;
    } else if (key === 'traffic-policy') {
      // Shoal's mesh traffic policy: a service label, read by commands/service/mesh-flags.ts.
    } else throw new Error(`invalid field key ${key}`);
  }
  if (!hasTarget) throw new Error('missing mandatory field "target"');
  return out;
}

/** One `-p/--publish` value as the ports it publishes (a range gives several). */
export function parsePublish(value: string): PortConfig[] {
  const v = value.trim();
  if (v === '') throw new Error('invalid publish value "": empty');
  return v.includes('=') ? [parseLongPublish(v)] : parseShortPublish(v);
}

/** Every `--publish` value, refusing the same published port twice (docker's check). */
export function parsePublishList(values: string[]): PortConfig[] {
  const out = values.flatMap(parsePublish);
  const seen = new Set<string>();
  for (const p of out) {
    if (!p.PublishedPort) continue;
    const key = `${p.PublishedPort}/${p.Protocol}`;
    if (seen.has(key)) throw new Error(`duplicate published port ${key}`);
    seen.add(key);
  }
  return out;
}

/** One `--network` value: `NAME`, or `name=NAME,alias=A,alias=B,driver-opt=k=v`. */
export function parseNetworkAttachment(value: string): NetworkAttachmentConfig {
  const v = value.trim();
  if (v === '') throw new Error('invalid network value "": empty');
  if (!v.includes('=')) return { Target: v };
  const out: NetworkAttachmentConfig = { Target: '' };
  for (const field of v.split(',')) {
    const i = field.indexOf('=');
    if (i < 0) throw new Error(`invalid field ${field} must be a key=value pair`);
    const key = field.slice(0, i).trim().toLowerCase();
    const val = field.slice(i + 1).trim();
    if (key === 'name' || key === 'target') out.Target = val;
    else if (key === 'alias') (out.Aliases ??= []).push(val);
    else if (key === 'driver-opt') {
      const j = val.indexOf('=');
      if (j <= 0) throw new Error(`invalid driver-opt ${val}: must be key=value`);
      out.DriverOpts = { ...out.DriverOpts, [val.slice(0, j)]: val.slice(j + 1) };
    } else throw new Error(`invalid field key ${key}`);
  }
  if (!out.Target) throw new Error(`network name/id is not specified in "${v}"`);
  return out;
}

/** `network create --subnet/--gateway/--ip-range` as IPAM.Config (empty when none is given). */
export function ipamConfig(f: { subnet?: string; gateway?: string; 'ip-range'?: string }): IPAMConfig[] {
  if (!f.subnet && !f.gateway && !f['ip-range']) return [];
  return [{ ...(f.subnet ? { Subnet: f.subnet } : {}), ...(f.gateway ? { Gateway: f.gateway } : {}), ...(f['ip-range'] ? { IPRange: f['ip-range'] } : {}) }];
}

/** `k=v` options to a map; unlike labels an option needs its `=`. */
export function optionsToMap(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i === 0 || p === '') throw new Error(`invalid key/value pair format in driver options: "${p}"`);
    // A bare key (`--opt encrypted`) is set to '' (docker's MapOpts).
    if (i < 0) out[p] = '';
    else out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** Docker's PORTS column: ingress ports only, `*:8080->80/tcp`, consecutive ports as ranges. */
export function portsColumn(ports: PortConfig[] | undefined): string {
  const ingress = (ports ?? []).filter((p) => (p.PublishMode ?? 'ingress') === 'ingress');
  const sorted = [...ingress].sort((a, b) => (a.Protocol ?? 'tcp').localeCompare(b.Protocol ?? 'tcp') || (a.PublishedPort ?? 0) - (b.PublishedPort ?? 0));
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    const start = sorted[i];
    let j = i;
    while (
      j + 1 < sorted.length &&
      (sorted[j + 1].Protocol ?? 'tcp') === (start.Protocol ?? 'tcp') &&
      sorted[j + 1].PublishedPort === (sorted[j].PublishedPort ?? 0) + 1 &&
      sorted[j + 1].TargetPort === sorted[j].TargetPort + 1 &&
      start.PublishedPort
    ) j++;
    const end = sorted[j];
    const pub = start.PublishedPort ? (j > i ? `${start.PublishedPort}-${end.PublishedPort}` : String(start.PublishedPort)) : '';
    const target = j > i ? `${start.TargetPort}-${end.TargetPort}` : String(start.TargetPort);
    out.push(`*:${pub}->${target}/${start.Protocol ?? 'tcp'}`);
    i = j + 1;
  }
  return out.join(', ');
}
