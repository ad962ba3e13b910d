/**
 * `-p` port bindings of a standalone container on the bridge network: parsing Docker's
 * `HostConfig.PortBindings`, choosing host ports for `-p 80` (HostPort empty), and the
 * `Ports` shapes `docker ps` and `docker inspect` show. Pure.
 */
import { CreateConfigError } from './errors.ts';

/** One published port. `hostPort` 0: chosen at start from the ephemeral range. */
export interface PortBinding {
  protocol: 'tcp' | 'udp';
  /** Port inside the container. */
  port: number;
  hostPort: number;
}

/** The range ephemeral host ports are taken from (Linux's default ip_local_port_range). */
export const EPHEMERAL = { low: 32768, high: 60999 };

function portNumber(v: string, what: string): number {
  if (!/^\d+$/.test(v)) throw new CreateConfigError(`HostConfig.PortBindings: invalid ${what} '${v}'`);
  const n = Number(v);
  if (n < 1 || n > 65535) throw new CreateConfigError(`HostConfig.PortBindings: ${what} ${n} is out of range 1-65535`);
  return n;
}

/** Parses `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`. Host IPs and port ranges are refused (501). */
export function parsePortBindings(raw: unknown): PortBinding[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new CreateConfigError('HostConfig.PortBindings: must be a map');
  const out: PortBinding[] = [];
  for (const [key, list] of Object.entries(raw as Record<string, unknown>)) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
    if (!m) throw new CreateConfigError(`HostConfig.PortBindings: invalid port '${key}'`);
    const protocol = (m[2] ?? 'tcp') as 'tcp' | 'udp' | 'sctp';
    if (protocol === 'sctp') throw new CreateConfigError(`HostConfig.PortBindings: sctp ports are not supported by shoal (${key})`, 501);
    const port = portNumber(m[1], 'container port');
    if (list === null) continue;
    if (!Array.isArray(list)) throw new CreateConfigError(`HostConfig.PortBindings: bindings of ${key} must be a list`);
    for (const b of list as { HostIp?: unknown; HostPort?: unknown }[]) {
      const ip = b?.HostIp ?? '';
      if (ip !== '' && ip !== '0.0.0.0') throw new CreateConfigError(`HostConfig.PortBindings: binding ${key} to host address ${String(ip)} is not supported by shoal (all addresses are)`, 501);
      const hp = String(b?.HostPort ?? '');
      if (hp.includes('-')) throw new CreateConfigError(`HostConfig.PortBindings: host port ranges are not supported by shoal (${hp})`, 501);
      const hostPort = hp === '' || hp === '0' ? 0 : portNumber(hp, 'host port');
      out.push({ protocol, port, hostPort });
    }
  }
  for (let i = 0; i < out.length; i++) {
    for (let j = i + 1; j < out.length; j++) {
      if (out[i].hostPort && out[i].hostPort === out[j].hostPort && out[i].protocol === out[j].protocol) {
        throw new CreateConfigError(`HostConfig.PortBindings: host port ${out[i].hostPort}/${out[i].protocol} is bound twice`);
      }
    }
  }
  return out;
}

/**
 * Gives every binding a host port: the asked one, or the lowest free one of the
 * ephemeral range. `taken`: `PROTO/PORT` already published on this node. Throws
 * (Docker's message) when an asked port is taken.
 */
export function assignHostPorts(bindings: readonly PortBinding[], taken: ReadonlySet<string>): PortBinding[] {
  const used = new Set(taken);
  const out: PortBinding[] = [];
  for (const b of bindings.filter((x) => x.hostPort)) {
    const k = `${b.protocol}/${b.hostPort}`;
    if (used.has(k)) throw new CreateConfigError(`Bind for 0.0.0.0:${b.hostPort} failed: port is already allocated`, 409);
    used.add(k);
  }
  for (const b of bindings) {
    if (b.hostPort) { out.push(b); continue; }
    let p = EPHEMERAL.low;
    while (p <= EPHEMERAL.high && used.has(`${b.protocol}/${p}`)) p++;
    if (p > EPHEMERAL.high) throw new CreateConfigError('no free host port in the ephemeral range');
    used.add(`${b.protocol}/${p}`);
    out.push({ ...b, hostPort: p });
  }
  return out;
}

/** `NetworkSettings.Ports` of inspect: every exposed or published port, bound ones with their host port. */
export function inspectPorts(exposed: readonly string[], bound: readonly PortBinding[]): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const e of exposed) out[e.includes('/') ? e : `${e}/tcp`] = null;
  for (const b of bound) {
    const k = `${b.port}/${b.protocol}`;
    (out[k] ??= []).push({ HostIp: '0.0.0.0', HostPort: String(b.hostPort) });
  }
  return out;
}

/** `Ports` of a `docker ps` row. */
export function summaryPorts(exposed: readonly string[], bound: readonly PortBinding[]): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = bound.map((b) => ({ IP: '0.0.0.0', PrivatePort: b.port, PublicPort: b.hostPort, Type: b.protocol }));
  for (const e of exposed) {
    const [p, proto = 'tcp'] = e.split('/');
    if (!bound.some((b) => String(b.port) === p && b.protocol === proto)) rows.push({ PrivatePort: Number(p), Type: proto });
  }
  return rows;
}
