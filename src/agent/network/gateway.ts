/**
 * The node's gateway bridge (Docker's `docker_gwbridge`): tasks with `mode=host`
 * published ports get an interface on a local bridge with an address of their own and
 * a default route through it, and each (protocol, published port) on any local address
 * of the node is DNATed to that address and the target port, on this node only. The
 * same bridge is the tasks' way out (masqueraded).
 *
 * The bookkeeping is pure (`gateway-state.ts`), the ruleset too (`net/lb/host-ports.ts`);
 * this class persists the state (`<dataRoot>/swarm/network/gateway.json`, atomic
 * rename) and makes the kernel match it: the bridge and veths with `ip -batch`, the
 * table with one `nft -f` transaction per change. Calls are serialized. A failed call
 * undoes what it did, so a refused request leaves kernel and file as they were.
 */
import { spawn } from 'node:child_process';
import { access, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parsePrefix } from '../../../net/ipam/cidr.ts';
import { HOST_PORTS_TABLE, renderHostPortsDelete, renderHostPortsReplace } from '../../../net/lb/host-ports.ts';
import { NetnsNft } from '../../../net/lb/nft.ts';
import { IprouteBatch } from '../../../net/overlay/batch.ts';
import type { ShellBatch } from './shell-batch.ts';
import { ShellIproute } from './shell-runners.ts';
import { macFromIp } from '../../../net/overlay/plan.ts';
import type { Logger } from '../../common/logger.ts';
import {
  DEFAULT_GATEWAY_SUBNET, GatewayError, emptyGatewayState, gatewayAddress, hostPortMappings, hostVethName,
  parseGatewayState, planAttach, planDetach, type GatewayPort, type GatewayState, type GatewayTask,
} from './gateway-state.ts';

export { GatewayError, type GatewayPort } from './gateway-state.ts';

export interface GatewayOptions {
  /** Allocations are kept in `<dataRoot>/swarm/network/gateway.json`. */
  dataRoot: string;
  logger: Logger;
  /** Netns (`/run/netns/NAME`) where the bridge, veths and table live (tests); default: the daemon's own. */
  hostNetns?: string;
  /** Prefix (≤ 5 chars) of the bridge, veth and table names, which could collide in a shared netns (tests); default ''. */
  namePrefix?: string;
  /** The gateway subnet; the bridge takes its first address. Default `172.18.0.0/16`. */
  subnet?: string;
  /** Where the allocations are kept; default `<dataRoot>/swarm/network/gateway.json` (the node's default bridge has its own). */
  stateFile?: string;
  /** The bridge's name, default `<prefix>shoal-gw`. */
  bridgeName?: string;
  /** Veths may not talk to each other over the bridge (Docker's gwbridge, icc off); default true. Docker's default bridge: false. */
  isolate?: boolean;
  /** Run the `ip` commands through this shared batch (the network agent's) rather than a spawn each; default: a spawn each. */
  shell?: ShellBatch;
}

/** Name of the bridge (without a prefix). */
export const GATEWAY_BRIDGE = 'shoal-gw';
/** MTU of the bridge and the veths: traffic stays on this node, no encapsulation. */
export const GATEWAY_MTU = 1500;

export class GatewayBridge {
  private queue: Promise<unknown> = Promise.resolve();
  /** Set once the bridge and sysctls were checked by this process. */
  private bridgeReady = false;
  private readonly ip: Pick<IprouteBatch, 'run' | 'runIn'>;
  private readonly nft: NetnsNft;
  private readonly file: string;
  private readonly log: Logger;

  private constructor(private readonly opts: GatewayOptions, private state: GatewayState, readonly bridge: string) {
    this.ip = opts.shell ? new ShellIproute(opts.shell, { hostNetns: opts.hostNetns }) : new IprouteBatch({ hostNetns: opts.hostNetns });
    this.nft = new NetnsNft({ netns: opts.hostNetns });
    this.file = opts.stateFile ?? join(opts.dataRoot, 'swarm', 'network', 'gateway.json');
    this.log = opts.logger;
  }

  /**
   * Loads the saved allocations and re-adopts the kernel state after a daemon restart:
   * tasks whose netns is gone are dropped, a missing veth of a live task is made again,
   * veths of ours that no task holds are removed, and the table is rewritten from the state.
   */
  static async open(opts: GatewayOptions): Promise<GatewayBridge> {
    const prefix = opts.namePrefix ?? '';
    if (!/^([A-Za-z][A-Za-z0-9_-]{0,4})?$/.test(prefix)) throw new GatewayError(`invalid name prefix "${prefix}" (a letter, then up to 4 of [A-Za-z0-9_-])`);
    if (opts.hostNetns !== undefined && !/^[A-Za-z0-9_.-]+$/.test(opts.hostNetns)) throw new GatewayError(`invalid host netns name "${opts.hostNetns}"`);
    const subnet = opts.subnet ?? DEFAULT_GATEWAY_SUBNET;
    const file = opts.stateFile ?? join(opts.dataRoot, 'swarm', 'network', 'gateway.json');
    let state = emptyGatewayState(subnet);
    let text: string | undefined;
    try { text = await readFile(file, 'utf8'); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
    if (text !== undefined) {
      const saved = parseGatewayState(text);
      if (saved.subnet !== state.subnet && Object.keys(saved.tasks).length > 0) {
        throw new GatewayError(`tasks hold addresses in ${saved.subnet}; cannot switch the gateway subnet to ${state.subnet} before they are detached`);
      }
      if (saved.subnet === state.subnet) state = saved;
    }
    const gw = new GatewayBridge(opts, state, opts.bridgeName ?? `${prefix}${GATEWAY_BRIDGE}`);
    await gw.serial(() => gw.readopt());
    return gw;
  }

  /** The gateway subnet (`A.B.C.D/N`). */
  get subnet(): string { return this.state.subnet; }
  /** The bridge's address, the tasks' default gateway. */
  get gateway(): string { return gatewayAddress(this.state.subnet); }
  /** The address of an attached task, if it is attached. */
  addressOf(taskId: string): string | undefined { return this.state.tasks[taskId]?.address; }
  /** How many tasks are attached. */
  attachedCount(): number { return Object.keys(this.state.tasks).length; }
  /** Every published port of the attached tasks. */
  publishedPorts(): GatewayPort[] { return Object.values(this.state.tasks).flatMap((t) => t.ports); }

  /**
   * Gives the task's netns `taskNetns` (made already, `lo` up) `eth<ifIndex>` on the bridge,
   * with an address of its own and a default route via the gateway; then DNATs each
   * (protocol, published) on any local address of the node to that address:target.
   * Attaching an attached task again (same netns and index) replaces its ports.
   * `GatewayError` (nothing changed) on bad input, a missing netns or a port another task publishes.
   *
   * `fresh`: the caller just made the netns. A task new to the gateway then gets its address
   * in the queue, its veth made outside it (so many tasks starting at once make theirs side
   * by side, not one after another), and its rules and the file written in the queue again;
   * a failure frees the address and removes what was made.
   */
  attach(taskId: string, taskNetns: string, ifIndex: number, ports: readonly GatewayPort[], opts: { fresh?: boolean } = {}): Promise<void> {
    const spec = { netns: taskNetns, ifIndex, ports };
    if (!opts.fresh) return this.serial(() => this.attachInQueue(taskId, spec));
    return this.serial(async () => {
      // A task attached before keeps its address, whose host veth may be there: the full path.
      if (this.state.tasks[taskId]) { await this.attachInQueue(taskId, spec); return undefined; }
      const next = planAttach(this.state, taskId, spec);
      if (!(await netnsExists(taskNetns))) throw new GatewayError(`netns "${taskNetns}" of task ${taskId} does not exist`);
      await this.ensureBridge();
      this.setState(next); // the address is taken; the file follows once the veth is there
      return { task: next.tasks[taskId], reservedAt: this.version };
    }).then(async (reserved) => {
      if (!reserved) return;
      const { task, reservedAt } = reserved;
      try {
        await this.ensureLink(task, true);
      } catch (err) {
        await this.serial(async () => {
          // Another call may have written the file with this task in it meanwhile.
          const written = this.savedVersion >= reservedAt;
          this.setState(planDetach(this.state, taskId));
          if (written) { await this.save(this.state); this.savedVersion = this.version; }
        });
        throw err;
      }
      await this.serial(async () => {
        try {
          await this.applyRules(this.render(this.state));
          // Tasks whose veths were made at once share one write (one fsync).
          if (this.savedVersion !== this.version) {
            const v = this.version;
            await this.save(this.state);
            this.savedVersion = v;
          }
        } catch (err) {
          this.setState(planDetach(this.state, taskId));
          await this.delLink(task.address);
          await this.applyRules(this.render(this.state)).catch(() => undefined);
          throw err;
        }
        this.log.info('task attached to the gateway bridge', { 'task.id': taskId, address: task.address, ports: task.ports.map(fmtPort) });
      });
    });
  }

  /**
   * Makes the bridge now unless it is there (or being made): the network agent calls it as
   * a task's attach begins, so the bridge is made while the task's netns is, not after it.
   * Never throws: a failure is logged and the attach, which needs the bridge, tries again.
   */
  warm(): void {
    if (this.bridgeReady || this.warming) return;
    this.warming = this.serial(() => this.ensureBridge())
      .catch((err: unknown) => this.log.warn('gateway bridge could not be made yet; the next attach tries again', { error: err }))
      .finally(() => { this.warming = undefined; });
  }

  private warming?: Promise<void>;

  /** `attach` in the queue: the veth checked (and made if missing), rules applied, then the file. */
  private async attachInQueue(taskId: string, spec: { netns: string; ifIndex: number; ports: readonly GatewayPort[] }): Promise<void> {
    const next = planAttach(this.state, taskId, spec);
    if (!(await netnsExists(spec.netns))) throw new GatewayError(`netns "${spec.netns}" of task ${taskId} does not exist`);
    const task = next.tasks[taskId];
    const text = this.render(next);
    await this.ensureBridge();
    const created = await this.ensureLink(task);
    try {
      await this.applyRules(text);
      try {
        await this.save(next);
      } catch (err) {
        await this.applyRules(this.render(this.state)).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      if (created) await this.delLink(task.address);
      throw err;
    }
    this.setState(next);
    this.savedVersion = this.version;
    this.log.info('task attached to the gateway bridge', { 'task.id': taskId, address: task.address, ports: task.ports.map(fmtPort) });
  }

  /** Bumped at every change of `state`; `savedVersion` is the one the file holds. */
  private version = 0;
  private savedVersion = 0;

  private setState(state: GatewayState): void {
    this.state = state;
    this.version++;
  }

  /** Removes the task's port rules and veth and frees its address; a task not attached is no error. */
  detach(taskId: string): Promise<void> {
    return this.serial(async () => {
      const task = this.state.tasks[taskId];
      if (!task) return;
      const next = planDetach(this.state, taskId);
      // Rules first: no new connection is DNATed to an address that is going away.
      await this.applyRules(this.render(next));
      await this.delLink(task.address);
      await this.save(next);
      this.setState(next);
      this.savedVersion = this.version;
      this.log.info('task detached from the gateway bridge', { 'task.id': taskId, address: task.address });
    });
  }

  /** Removes the table, every veth of ours, the bridge and the state file (leaving the swarm). */
  removeAll(): Promise<void> {
    return this.serial(async () => {
      await this.nft.apply(renderHostPortsDelete({ table: this.table }));
      this.appliedRules = undefined;
      for (const name of await this.ourVeths()) await this.ipTolerant(`link del ${name}`);
      await this.ipTolerant(`link del ${this.bridge}`);
      await rm(this.file, { force: true });
      this.setState(emptyGatewayState(this.state.subnet));
      this.savedVersion = this.version;
      this.bridgeReady = false;
      this.log.info('gateway bridge removed', { bridge: this.bridge });
    });
  }

  // --- kernel -------------------------------------------------------------------------

  private async readopt(): Promise<void> {
    let state = this.state;
    for (const [id, t] of Object.entries(state.tasks)) {
      if (await netnsExists(t.netns)) continue;
      this.log.warn('task netns gone; gateway address freed', { 'task.id': id, netns: t.netns, address: t.address });
      state = planDetach(state, id);
    }
    const hasBridge = await this.linkExists(this.opts.hostNetns, this.bridge);
    if (Object.keys(state.tasks).length > 0 || hasBridge) {
      await this.ensureBridge();
      for (const [id, t] of Object.entries(state.tasks)) {
        try {
          await this.ensureLink(t);
        } catch (err) {
          this.log.warn('cannot restore a task\'s gateway veth; address freed', { 'task.id': id, netns: t.netns, err });
          state = planDetach(state, id);
        }
      }
      const keep = new Set(Object.values(state.tasks).map((t) => hostVethName(t.address, this.prefix)));
      for (const name of await this.ourVeths()) {
        if (keep.has(name)) continue;
        this.log.warn('removing a gateway veth no task holds', { link: name });
        await this.ipTolerant(`link del ${name}`);
      }
      await this.applyRules(this.render(state), true);
    }
    if (state !== this.state) await this.save(state);
    this.setState(state);
    this.savedVersion = this.version;
  }

  /** The bridge with the gateway address, up; forwarding on; loopback DNAT allowed through the bridge. */
  private async ensureBridge(): Promise<void> {
    if (this.bridgeReady) return;
    const bits = parsePrefix(this.state.subnet).bits;
    const want = `${this.gateway}/${bits}`;
    const lines = [`addr replace ${want} dev ${this.bridge}`, `link set ${this.bridge} up`];
    if (!(await this.linkExists(this.opts.hostNetns, this.bridge))) {
      lines.unshift(`link add ${this.bridge} mtu ${GATEWAY_MTU} type bridge`);
    } else {
      // A bridge left from an earlier subnet keeps only the current gateway address.
      for (const a of await this.bridgeAddresses()) if (a !== want) lines.push(`addr del ${a} dev ${this.bridge}`);
    }
    // Side by side (this is on the way of a node's first task): forwarding beside the
    // bridge, the bridge's own keys once it exists.
    const [forwarding, bridge] = await Promise.allSettled([
      this.sysctl('net.ipv4.ip_forward', '1'),
      this.hostBatch(lines).then(() => Promise.all([
        // Lets `output` DNAT a connection to 127.0.0.1:PORT out through the bridge (then masqueraded).
        this.sysctl(`net.ipv4.conf.${this.bridge}.route_localnet`, '1'),
        // Loose reverse-path filtering on the bridge: under a `local` mesh traffic policy a task
        // answers a client it was not NATed from through this bridge, while the route back to
        // its ingress address is the ingress sandbox. A host with strict filtering (rp_filter=1,
        // RHEL's default) would drop those replies; the effective value is the larger of `all`
        // and the interface's, so 2 here is loose whatever `all` says.
        this.sysctl(`net.ipv4.conf.${this.bridge}.rp_filter`, '2'),
      ])),
    ]);
    if (bridge.status === 'rejected') throw bridge.reason;
    if (forwarding.status === 'rejected') throw forwarding.reason;
    this.bridgeReady = true;
  }

  /**
   * Makes the task's veth unless both ends are there already. Returns whether it made one.
   * An `eth<N>` in the task netns without our host end is someone else's: refused.
   * `fresh`: the netns was just made by the caller and the address just allocated, so
   * neither end can exist (two `ip` runs fewer on the path of `docker run`).
   */
  private async ensureLink(t: GatewayTask, fresh = false): Promise<boolean> {
    const veth = hostVethName(t.address, this.prefix);
    const dev = `eth${t.ifIndex}`;
    const hostHas = !fresh && await this.linkExists(this.opts.hostNetns, veth);
    const taskHas = !fresh && await this.linkExists(t.netns, dev);
    if (hostHas && taskHas) return false;
    if (taskHas) throw new GatewayError(`netns "${t.netns}" has a ${dev} already`);
    if (hostHas) await this.ipTolerant(`link del ${veth}`);
    const bits = parsePrefix(this.state.subnet).bits;
    try {
      await this.ip.run(t.netns, {
        host: [
          `link add ${veth} mtu ${GATEWAY_MTU} type veth peer name ${dev} mtu ${GATEWAY_MTU} netns ${t.netns}`,
          `link set ${veth} master ${this.bridge}`,
          // No traffic between tasks over this bridge (Docker's gwbridge has icc off): with
          // br_netfilter the table's forward chain drops it (and lets published-port
          // hairpins through); without it, isolated ports do (routed hairpins still pass).
          ...(this.opts.isolate === false || await this.bridgedFramesFiltered() ? [] : [`link set ${veth} type bridge_slave isolated on`]),
          `link set ${veth} up`,
        ],
        ip: [
          `link set ${dev} address ${macFromIp(t.address)}`,
          `addr add ${t.address}/${bits} dev ${dev}`,
          `link set ${dev} up`,
          'link set lo up',
          `route replace default via ${this.gateway} dev ${dev}`,
        ],
        bridge: [],
      });
    } catch (err) {
      await this.ipTolerant(`link del ${veth}`);
      throw err;
    }
    return true;
  }

  private async delLink(address: string): Promise<void> {
    await this.ipTolerant(`link del ${hostVethName(address, this.prefix)}`);
  }

  /** Host links named like our veths (`<prefix>gw` + 8 hex digits). */
  private async ourVeths(): Promise<string[]> {
    const r = await this.exec(this.ipArgv(['-j', 'link', 'show']));
    if (r.code !== 0) throw new GatewayError(`cannot list links: ${r.stderr.trim()}`, { retryable: true });
    const re = new RegExp(`^${this.prefix}gw[0-9a-f]{8}$`);
    return (JSON.parse(r.stdout || '[]') as { ifname: string }[]).map((l) => l.ifname).filter((n) => re.test(n));
  }

  /** The bridge's IPv4 addresses as `A.B.C.D/N`. */
  private async bridgeAddresses(): Promise<string[]> {
    const r = await this.exec(this.ipArgv(['-j', '-4', 'addr', 'show', 'dev', this.bridge]));
    if (r.code !== 0) throw new GatewayError(`cannot read the addresses of ${this.bridge}: ${r.stderr.trim()}`, { retryable: true });
    const out = JSON.parse(r.stdout || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
    return out.flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
  }

  private async linkExists(netns: string | undefined, name: string): Promise<boolean> {
    const argv = ['ip', ...(netns === undefined ? [] : ['-n', netns]), '-j', 'link', 'show', 'dev', name];
    return (await this.exec(argv)).code === 0;
  }

  private async hostBatch(lines: string[]): Promise<void> {
    await this.ip.run('', { host: lines, ip: [], bridge: [] });
  }

  /** One `ip` line in the host netns that may find its object gone already (`link del`). */
  private async ipTolerant(line: string): Promise<void> {
    const r = await this.exec(this.ipArgv(line.split(' ')));
    if (r.code !== 0 && !/Cannot find device|does not exist/.test(r.stderr)) {
      throw new GatewayError(`ip ${line} failed: ${r.stderr.trim()}`, { retryable: true });
    }
  }

  private brNetfilter?: boolean;
  /** Whether bridged frames pass the IP hooks in the host netns (br_netfilter's `bridge-nf-call-iptables`). */
  private async bridgedFramesFiltered(): Promise<boolean> {
    if (this.brNetfilter === undefined) {
      const file = '/proc/sys/net/bridge/bridge-nf-call-iptables';
      // /proc/sys/net shows the reader's netns: read it here, or from inside the tests' host netns.
      const text = this.opts.hostNetns === undefined
        ? await readFile(file, 'utf8').catch(() => '')
        : (await this.exec(['ip', 'netns', 'exec', this.opts.hostNetns, 'cat', file])).stdout;
      this.brNetfilter = text.trim() === '1';
    }
    return this.brNetfilter;
  }

  private async sysctl(key: string, value: string): Promise<void> {
    const argv = ['sysctl', '-qw', `${key}=${value}`];
    const r = await this.exec(this.opts.hostNetns === undefined ? argv : ['ip', 'netns', 'exec', this.opts.hostNetns, ...argv]);
    if (r.code !== 0) throw new GatewayError(`cannot set ${key}=${value}: ${r.stderr.trim()}`, { retryable: true });
  }

  private exec(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return this.opts.shell ? this.opts.shell.run(argv) : exec(argv);
  }

  private ipArgv(args: string[]): string[] {
    return ['ip', ...(this.opts.hostNetns === undefined ? [] : ['-n', this.opts.hostNetns]), ...args];
  }

  /** The ruleset text last applied by this process (undefined: unknown, or removed). */
  private appliedRules?: string;

  /**
   * Applies the table's text unless it is the one applied last (`force`: always): a
   * container without ports changes no rule, so its attach and detach cost no `nft` run.
   */
  private async applyRules(text: string, force = false): Promise<void> {
    if (!force && text === this.appliedRules) return;
    this.appliedRules = undefined;
    await this.nft.apply(text);
    this.appliedRules = text;
  }

  private render(state: GatewayState): string {
    return renderHostPortsReplace(hostPortMappings(state), { subnet: state.subnet, bridge: this.bridge, table: this.table });
  }

  private get prefix(): string { return this.opts.namePrefix ?? ''; }
  /** The nftables table (family `ip`): `shoal-hostports`, after the name prefix. */
  get table(): string { return `${this.prefix}${HOST_PORTS_TABLE}`; }

  // --- state file and serialization ---------------------------------------------------

  private async save(state: GatewayState): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(state, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.file);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function fmtPort(p: GatewayPort): string {
  return `${p.published}/${p.protocol}->${p.target}`;
}

async function netnsExists(name: string): Promise<boolean> {
  try { await access(join('/run/netns', name)); return true; } catch { return false; }
}

function exec(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => { if (stderr.length < 8192) stderr += d; });
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: String(err) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
