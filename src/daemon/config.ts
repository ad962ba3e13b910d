/**
 * The daemon's configuration, from `shoal daemon` flags (merged with daemon.json by
 * daemon-json.ts). `parseDaemonConfig` checks
 * every value and names the bad one; it does no I/O.
 */
import os from 'node:os';
import { parseGenericResource } from '../api/spec/host-access.ts';
import type { GenericResource } from '../api/types/service.ts';
import { isIP } from 'node:net';
import { DEFAULT_HOST, parseHost, type HostAddress } from '../api/client.ts';

type UnixAddress = Extract<HostAddress, { kind: 'unix' }>;

export interface DaemonConfig {
  /** Directory of all persistent state (default /var/lib/shoal). */
  dataRoot: string;
  /** Where the control API listens locally (default unix:///run/shoal/shoal.sock); always served. */
  host: string;
  /** `host` parsed: always a unix socket (`tcp://` hosts go to `remoteHosts`). */
  hostAddress: UnixAddress;
  /** `tcp://` hosts the control API is also served on (default none); each needs `tls` or `insecureTcp`. */
  remoteHosts: { host: string; port: number }[];
  /** `--tlsverify`: PEM file paths; remote clients must present a certificate signed by `caCert`. */
  tls?: { caCert: string; cert: string; key: string };
  /** `--insecure-tcp-host`: serve `remoteHosts` as plain HTTP with no authentication (default false). */
  insecureTcp: boolean;
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
  /** `--metrics-addr HOST:PORT`: where Prometheus metrics are served (default: off, as dockerd). */
  metricsAddr?: { ip: string; port: number };
  /** Generic resources this node advertises to the scheduler (`--node-generic-resource gpu=2`, dockerd's `node-generic-resources`). */
  nodeGenericResources: GenericResource[];
  /** `--dashboard-addr`: where a manager serves the read-only web dashboard (default: off; a bare PORT means 127.0.0.1:PORT). */
  dashboardAddr?: { ip: string; port: number };
}

export interface DaemonFlags {
  dataRoot?: string;
  /** One `unix://` host and any number of `tcp://` hosts. */
  host?: string | string[];
  listenAddr?: string;
  advertiseAddr?: string;
  hostname?: string;
  insecureRegistry?: string[];
  runtime?: string;
  label?: string[];
  metricsAddr?: string;
  nodeGenericResource?: string[];
  dashboardAddr?: string;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  insecureTcpHost?: boolean;
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

/** `--dashboard-addr`: `IP:PORT`, `[IPv6]:PORT`, or a bare `PORT` / `:PORT` on loopback (127.0.0.1). */
export function parseDashboardAddr(value: string): { ip: string; port: number } {
  const bare = /^:?(\d+)$/.exec(value);
  const addr = bare ? { ip: '127.0.0.1', port: Number(bare[1]) } : parseAddrPort(value, '--dashboard-addr');
  if (!bare && !/:\d+$/.test(value)) throw new ConfigError(`invalid --dashboard-addr "${value}": a port is required (IP:PORT or PORT)`);
  if (!Number.isInteger(addr.port) || addr.port < 1 || addr.port > 65535) throw new ConfigError(`invalid --dashboard-addr "${value}": port must be 1-65535`);
  return addr;
}

/** `--metrics-addr`: `IP:PORT` or `[IPv6]:PORT`; the port is required (dockerd has no default either). */
export function parseMetricsAddr(value: string): { ip: string; port: number } {
  if (!/:\d+$/.test(value)) throw new ConfigError(`invalid --metrics-addr "${value}": expected IP:PORT`);
  return parseAddrPort(value, '--metrics-addr');
}

export function parseDaemonConfig(flags: DaemonFlags): DaemonConfig {
  const { host, hostAddress, remoteHosts } = parseHosts(flags.host);
  const tls = parseTls(flags, remoteHosts.length > 0);
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
    metricsAddr: flags.metricsAddr === undefined ? undefined : parseMetricsAddr(flags.metricsAddr),
    nodeGenericResources: (flags.nodeGenericResource ?? []).map((g) => {
      try { return parseGenericResource(g); } catch (e) { throw new ConfigError(`invalid --node-generic-resource: ${(e as Error).message}`); }
    }),
    dashboardAddr: flags.dashboardAddr === undefined ? undefined : parseDashboardAddr(flags.dashboardAddr),
    remoteHosts,
    tls,
    insecureTcp: flags.insecureTcpHost === true,
  };
}

/** Splits `--host` values into the one local socket (default when none) and the TCP hosts. */
function parseHosts(value: string | string[] | undefined): { host: string; hostAddress: UnixAddress; remoteHosts: { host: string; port: number }[] } {
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const unix: { host: string; hostAddress: UnixAddress }[] = [];
  const remoteHosts: { host: string; port: number }[] = [];
  for (const v of values) {
    let a: HostAddress;
    try {
      a = parseHost(v);
    } catch (err) {
      throw new ConfigError(`invalid --host: ${(err as Error).message}`);
    }
    if (a.kind === 'unix') unix.push({ host: v, hostAddress: a });
    else if (!isIP(a.host)) throw new ConfigError(`invalid --host "${v}": a tcp:// host must be an IP address`);
    else remoteHosts.push({ host: a.host, port: a.port });
  }
  if (unix.length > 1) throw new ConfigError(`invalid --host: only one unix:// host is supported, got ${unix.map((u) => u.host).join(', ')}`);
  // The local socket is always served: the CLI on this host and the lab use it.
  const local = unix[0] ?? { host: DEFAULT_HOST, hostAddress: parseHost(DEFAULT_HOST) as UnixAddress };
  return { ...local, remoteHosts };
}

/**
 * `--tlsverify` with its three files, as dockerd: clients must present a certificate the
 * CA signed. A TCP host without it is refused unless `--insecure-tcp-host` says otherwise,
 * since whoever reaches the port gets root on this host.
 */
function parseTls(flags: DaemonFlags, hasTcp: boolean): DaemonConfig['tls'] {
  const files = { tlscacert: flags.tlscacert, tlscert: flags.tlscert, tlskey: flags.tlskey };
  const given = Object.entries(files).filter(([, v]) => v !== undefined).map(([k]) => `--${k}`);
  if (!flags.tlsverify) {
    if (given.length) throw new ConfigError(`invalid ${given.join(', ')}: needs --tlsverify`);
    if (hasTcp && !flags.insecureTcpHost) {
      throw new ConfigError('a tcp:// --host needs --tlsverify with --tlscacert, --tlscert and --tlskey (anyone reaching an unauthenticated port is root on this host); --insecure-tcp-host serves it without TLS anyway');
    }
    return undefined;
  }
  if (flags.insecureTcpHost) throw new ConfigError('--insecure-tcp-host and --tlsverify contradict each other: pick one');
  if (!hasTcp) throw new ConfigError('--tlsverify needs a tcp:// --host to protect');
  const missing = Object.entries(files).filter(([, v]) => v === undefined).map(([k]) => `--${k}`);
  if (missing.length) throw new ConfigError(`--tlsverify needs ${missing.join(', ')}`);
  for (const [k, v] of Object.entries(files)) if (!v!.startsWith('/')) throw new ConfigError(`invalid --${k} "${v}": must be an absolute path`);
  return { caCert: files.tlscacert!, cert: files.tlscert!, key: files.tlskey! };
}
