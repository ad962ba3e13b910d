// Every name and address of a lab, derived from its prefix (pure, no I/O), so two labs with
// different prefixes (a user's `shoal` and the tests' `shoalt`) never collide.
import { join } from 'node:path';

/** The underlay subnet; the switch (bridge, registry) is .1, host i is .(10+i). */
export const UNDERLAY_PREFIX = '192.168.100';
/** Prefix length of the underlay. */
export const UNDERLAY_BITS = 24;
/** Underlay MTU on every veth and the bridge, in bytes. */
export const UNDERLAY_MTU = 1500;
/** Port of the lab registry on the switch address. */
export const REGISTRY_PORT = 5000;
/** Node-to-node port of each daemon. */
export const SWARM_PORT = 2377;
/** Most hosts a lab may have (addresses .11 … .(10+MAX)). */
export const MAX_HOSTS = 200;

/** Thrown for a bad prefix, host name or count. */
export class LabNameError extends Error {
  override name = 'LabNameError';
}

/** Checks a lab prefix: lower-case letter then letters/digits, at most 10 characters. */
export function checkPrefix(prefix: string): string {
  if (!/^[a-z][a-z0-9]{0,9}$/.test(prefix)) throw new LabNameError(`lab: invalid prefix "${prefix}": want [a-z][a-z0-9]{0,9}`);
  return prefix;
}

/** The lab's base directory: `opts.baseDir`, else $SHOAL_LAB_DIR, else /tmp/<prefix>-lab. */
export function labBaseDir(prefix: string, baseDir?: string): string {
  return baseDir ?? process.env.SHOAL_LAB_DIR ?? `/tmp/${prefix}-lab`;
}

/** Host index of `hN` (1-based); throws for anything else. */
export function hostIndex(host: string): number {
  const m = /^h([1-9]\d*)$/.exec(host);
  if (!m) throw new LabNameError(`lab: invalid host name "${host}": want h1, h2, …`);
  return Number(m[1]);
}

/** Names of one lab: namespaces, links, directories, nftables table, cgroup. */
export class LabNames {
  readonly prefix: string;
  readonly baseDir: string;

  constructor(prefix: string, baseDir?: string) {
    this.prefix = checkPrefix(prefix);
    this.baseDir = labBaseDir(prefix, baseDir);
  }

  /** Network namespace of the switch (holds the bridge and the registry). */
  get switchNetns(): string {
    return `${this.prefix}-sw`;
  }
  /** Bridge device inside the switch namespace. */
  readonly bridge = 'br0';
  /** Address of the bridge (and registry) on the underlay. */
  readonly switchAddress = `${UNDERLAY_PREFIX}.1`;
  /** `host:port` of the lab registry. */
  readonly registryAddress = `${UNDERLAY_PREFIX}.1:${REGISTRY_PORT}`;
  /** nftables table (family inet, in a host's netns) that partitions it. */
  get nftTable(): string {
    return `shoal-lab-${this.prefix}`;
  }
  /** Name of the lab's cgroup (v2 hierarchy), holding one child per host plus `sw`. */
  get cgroupName(): string {
    return `${this.prefix}-lab`;
  }
  /** The lab's state file (hosts, pids, namespace inodes). */
  get stateFile(): string {
    return join(this.baseDir, 'lab.json');
  }
  /** Directory of the registry (config, storage, log, pid). */
  get registryDir(): string {
    return join(this.baseDir, 'registry');
  }

  /** `hN` for 1-based index i. */
  host(i: number): string {
    return `h${i}`;
  }
  /** Network namespace of host `hN`. */
  hostNetns(host: string): string {
    return `${this.prefix}-${host}`;
  }
  /** Underlay address of host `hN`: 192.168.100.(10+N). */
  hostAddress(host: string): string {
    const i = hostIndex(host);
    if (i > MAX_HOSTS) throw new LabNameError(`lab: host ${host} beyond ${MAX_HOSTS}`);
    return `${UNDERLAY_PREFIX}.${10 + i}`;
  }
  /** The host's UTS hostname (same as the daemon's --hostname). */
  hostname(host: string): string {
    return host;
  }
  /** The host's veth end inside the switch namespace (the host side is `eth0`). */
  switchPort(host: string): string {
    return host;
  }
  /** Directory of host `hN` (visible from the root mount namespace and the host's). */
  hostDir(host: string): string {
    return join(this.baseDir, host);
  }
  /** Path of host `hN`'s daemon socket. */
  socket(host: string): string {
    return join(this.hostDir(host), 'shoal.sock');
  }
}
