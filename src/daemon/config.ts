/**
 * The daemon's configuration, from `shoal daemon` flags. `parseDaemonConfig` checks
 * every value and names the bad one; it does no I/O.
 */
import os from 'node:os';
import { isIP } from 'node:net';
import { DEFAULT_HOST, parseHost, type HostAddress } from '../api/client.ts';

export interface DaemonConfig {
  /** Directory of all persistent state (default /var/lib/shoal). */
  dataRoot: string;
  /** Where the control API listens (default unix:///run/shoal/shoal.sock). */
  host: string;
  hostAddress: HostAddress;
  /** Address for node-to-node traffic, IP:PORT (default 0.0.0.0:2377). */
  listenAddr: { ip: string; port: number };
  /** The address other nodes reach this one at (default: derived at swarm init/join). */
  advertiseAddr?: string;
  /** This node's name (default: the host name). */
  hostname: string;
  /** Registries reached over plain HTTP (HOST:PORT). */
  insecureRegistries: string[];
  /** The OCI runtime binary (default runc). */
  runtime: string;
  /** Engine labels (`key=value`), shown in `info` and usable in constraints. */
  labels: string[];
}

export interface DaemonFlags {
  dataRoot?: string;
  host?: string;
  listenAddr?: string;
  advertiseAddr?: string;
  hostname?: string;
  insecureRegistry?: string[];
  runtime?: string;
  label?: string[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_DATA_ROOT = '/var/lib/shoal';
export const SWARM_PORT = 2377;

/** Parses `IP[:PORT]` (IPv6 in brackets); the port defaults to 2377. */
export function parseAddrPort(value: string, flag: string): { ip: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(value);
  const ip = m?.[1] ?? m?.[2];
  if (!m || !ip || !isIP(ip)) throw new ConfigError(`invalid ${flag} "${value}": expected IP[:PORT]`);
  const port = m[3] === undefined ? SWARM_PORT : Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(`invalid ${flag} "${value}": port must be 1-65535`);
  return { ip, port };
}

export function parseDaemonConfig(flags: DaemonFlags): DaemonConfig {
  const host = flags.host ?? DEFAULT_HOST;
  let hostAddress: HostAddress;
  try {
    hostAddress = parseHost(host);
  } catch (err) {
    throw new ConfigError(`invalid --host: ${(err as Error).message}`);
  }
  const dataRoot = flags.dataRoot ?? DEFAULT_DATA_ROOT;
  if (!dataRoot.startsWith('/')) throw new ConfigError(`invalid --data-root "${dataRoot}": must be an absolute path`);
  if (flags.advertiseAddr !== undefined && !isIP(flags.advertiseAddr.replace(/:\d+$/, ''))) {
    throw new ConfigError(`invalid --advertise-addr "${flags.advertiseAddr}": expected an IP address`);
  }
  const hostname = flags.hostname ?? os.hostname();
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(hostname)) throw new ConfigError(`invalid --hostname "${hostname}"`);
  for (const r of flags.insecureRegistry ?? []) {
    if (!/^[A-Za-z0-9.-]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/.test(r)) throw new ConfigError(`invalid --insecure-registry "${r}": expected HOST[:PORT]`);
  }
  for (const l of flags.label ?? []) {
    if (!/^[^=]+=/.test(l)) throw new ConfigError(`invalid --label "${l}": expected key=value`);
  }
  return {
    dataRoot,
    host,
    hostAddress,
    listenAddr: parseAddrPort(flags.listenAddr ?? `0.0.0.0:${SWARM_PORT}`, '--listen-addr'),
    advertiseAddr: flags.advertiseAddr,
    hostname,
    insecureRegistries: flags.insecureRegistry ?? [],
    runtime: flags.runtime ?? 'runc',
    labels: flags.label ?? [],
  };
}
