/**
 * The worker's network data plane (DESIGN.md, planes 5–6): per overlay network a sandbox
 * netns (VXLAN and a gateway macvlan, or a bridge: task-path.ts; peers from the leader's
 * view), per task a netns with one interface per attachment (a macvlan on the sandbox's
 * VXLAN, or a veth on its bridge), the embedded DNS at 127.0.0.11 and the task's VIP table, and the
 * routing mesh on the host (a veth into the ingress sandbox and the `shoal-mesh` table).
 *
 * Concurrency: operations on one sandbox or one task run one at a time (`KeyedLock`);
 * views are applied by one loop, the newest view only, so a burst of views costs one
 * apply. Kernel state outlives the daemon: `state.json` records what was made and
 * `open()` re-adopts what still exists.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Task } from '../../api/types/task.ts';
import type { Logger } from '../../common/logger.ts';
import type { NodeNetworkView } from '../../wire/network-view-types.ts';
import { MeshTable, NftSession, NftSpawner, SessionCap, VipTable } from '../../../net/lb/index.ts';
import {
  GATEWAY_DEV, LO_UP, VXLAN_DEV, type Commands, type TaskPath, createSandbox, gatewayRepair, hostVxlanName, macFromIp, sandboxVethName, syncPeers,
} from '../../../net/overlay/index.ts';
import { netnsPath } from '../exec/kernel.ts';
import { ShellBatch } from './shell-batch.ts';
import { ShellIproute, ShellNft, mustRunShell } from './shell-runners.ts';
import { TaskVipRunner } from './task-vip-runner.ts';
import { NetnsMaker } from './netns-maker.ts';
import { VethWaves } from './veth-wave.ts';
import { NetlinkBatch, type IpBatchRunner } from '../../../net/overlay/index.ts';
import { NetlinkTranslateError, NetnsNetlink, ipLine, vxlanRepair, type NlRequest } from '../../../net/netlink/index.ts';
import {
  NetworkAgentError, dnsTable, flushPeers, hostPorts, ingressLink, needsGateway, ingressUnlink, INGRESS_HOST_DEV, remotePeers,
  samePeers, sandboxFromView, sandboxNetns, taskAttachments, taskNetns, taskResolvConf, upstreamsOf,
  vipServices, meshPorts, hostModePorts, type HostPort, type SandboxParams,
} from './plan.ts';
import { StateFile, type NetworkState, type SandboxRecord, type TaskRecord } from './state.ts';
import { KeyedLock, mapLimit } from '../../common/serial.ts';
import { LatestLoop } from './latest-loop.ts';
import type { DnsSocketSource } from './socket-broker.ts';
import { InlineTaskDns, type TaskDns } from './task-dns.ts';
import type { DnsStats } from '../../../net/dns/index.ts';
import { DnsProcess } from './dns-process.ts';
import { taskName } from '../../common/task-name.ts';
import { GatewayBridge } from './gateway.ts';
import { RotationWaiters, type OutOfRotation } from './rotation.ts';
import { ENCRYPTED_OVERLAY_MTU, WireGuardPlane, viewForDisk, type WireGuardStatus } from './wireguard-plane.ts';
import { OverlayTuning } from './overlay-tuning.ts';
import { attachmentLines, checkTaskPath, recordedTaskPath, sandboxTaskPath } from './task-path.ts';

/** Host-mode published ports (`gateway.ts`'s `GatewayBridge`). */
export interface HostPortGateway {
  /** `fresh`: the caller just made `taskNetns`, so no interface of the task's is there yet (fewer checks). */
  attach(taskId: string, taskNetns: string, ifIndex: number, ports: HostPort[], opts?: { fresh?: boolean }): Promise<void>;
  detach(taskId: string): Promise<void>;
  removeAll(): Promise<void>;
  /** Makes the bridge now, if it is not there yet (the attach that follows then need not). Never throws. */
  warm?(): void;
  /** The bridge's subnet (`A.B.C.D/N`), when known: the mesh masquerades its clients under every traffic policy. */
  readonly subnet?: string;
}

export interface NetworkAgentOptions {
  /** State under `<dataRoot>/swarm/network/`. */
  dataRoot: string;
  logger: Logger;
  /** This node's underlay address (its VTEP). */
  localAddr: () => string;
  /** DNS forwarders; default: the nameservers of /etc/resolv.conf, loopback ones left out. */
  upstreams?: string[];
  /** Netns where "host" commands run (labs whose hosts are namespaces); default: the daemon's own. */
  hostNetns?: string;
  /** Prefix of every netns name made (tests in the root /run/netns); default ''. */
  namePrefix?: string;
  /** Host-mode ports; default: a `GatewayBridge` in the host netns; null: none (a task publishing host-mode ports is refused). */
  gateway?: HostPortGateway | null;
  /** The host's resolv.conf (upstreams, `search`). Default `/etc/resolv.conf`. */
  resolvConfPath?: string;
  /** Tests: DNS served in this process on sockets from here; default: a DNS child process (with its own socket broker). */
  dnsSockets?: DnsSocketSource;
  /** After a failed view apply, try again after this many ms, doubling up to 30 s (a newer view goes at once). Default 1000. */
  retryMs?: number;
  /** Encrypted overlays' WireGuard device; default: a `WireGuardPlane` in the host netns; null: none (encrypted networks refused). */
  wireguard?: WireGuardPlane | null;
  /** Sandbox peers and task veths over rtnetlink (a Perl relay per sandbox, the faster path: net/overlay/batch.ts) or all through `ip`. Default 'netlink'. */
  dataPlane?: 'netlink' | 'ip';
  /** How tasks join new overlay sandboxes (net/overlay's `TaskPath`); the ingress sandbox always gets a bridge (task-path.ts). Default 'macvlan'. */
  taskPath?: TaskPath;
  /** At most this many task VIP tables keep their `nft -i` running, the least recently used stopped beyond it (net/lb/session-cap.ts). Default 64. */
  maxLiveNftSessions?: number;
}

/**
 * Running `nft -i` sessions of task VIP tables a node keeps by default (they run only for
 * changes that go as text, task-vip-runner.ts): ~2.5 MB each, so ~160 MB at most; a task
 * beyond it starts its nft again at its next text change (nft's start and first apply,
 * ≈ 10–15 ms of CPU here, against ≈ 3 ms warm).
 */
const DEFAULT_MAX_LIVE_NFT_SESSIONS = 64;

/** What the executor needs for a task with networks. */
export interface TaskNetworking {
  netnsPath: string;
  resolvConf: string;
  /** Host-mode ports as published on this node (a `PublishedPort` 0 got one of 30000–32767), for the task's PortStatus. */
  hostPorts?: HostPort[];
}

/** A local endpoint, for `network inspect`. */
export interface LocalEndpoint {
  taskId: string;
  name: string;
  ip: string;
  mac: string;
}

/** A task attached here: its record and what lives in this process for it. */
interface TaskRuntime {
  rec: TaskRecord;
  /**
   * The task's `nft -i`, for VIP changes that go as text (when a netlink batch could not:
   * task-vip-runner.ts); started only then. Told to end when the task detaches (a process
   * inside keeps the netns alive until it is gone).
   */
  nft: NftSession;
  vip: VipTable;
  /** How the VIP table gets there (netlink or text, task-vip-runner.ts). */
  vipRunner: TaskVipRunner;
  /** Networks whose veth this task made (an attach failing part-way must not delete another task's). */
  made: Set<string>;
}

/** How long an attach waits for a detached task's netns to free the MAC it reuses (macvlan path), ms. */
const MAC_BUSY_WAIT_MS = 5_000;

/** How long a new sandbox waits for another network's sandbox to give up its VNI, ms. */
const VNI_WAIT_MS = 10_000;

/** Per-task netns work at open and removal (netns deletes, DNS binds) runs this many at a time. */
const TASK_NETNS_PARALLEL = 4;
/** A view's VIP table updates asked for at once (each a netlink batch through the netns helper, which takes them in turn). */
const VIP_PARALLEL = 32;

/** `cmds` with `lo` brought up first in the netns (what `ip netns add` leaves down). */
function withLoUp(cmds: Commands): Commands {
  return { ...cmds, ip: [LO_UP, ...cmds.ip] };
}

export class NetworkAgent {
  private readonly log: Logger;
  private readonly prefix: string;
  /** Every command of this agent goes through it: one spawn per turn, not one per command (shell-batch.ts). */
  private readonly sh: ShellBatch;
  /** Task and sandbox netns are made and deleted by one helper process, not `ip` per netns (netns-maker.ts). */
  private readonly netns: NetnsMaker;
  /** Task veths of a sandbox deleted a wave at a time (one kernel wait for all, veth-wave.ts). */
  private readonly vethWaves: VethWaves;
  private readonly batch: IpBatchRunner;
  /** rtnetlink relays of the sandboxes, and the link watch that repairs devices removed behind our back. */
  private readonly netlink: NetnsNetlink | undefined;
  private readonly file: StateFile;
  private readonly dns: TaskDns;
  private readonly lock = new KeyedLock();
  private readonly tasks = new Map<string, TaskRuntime>();
  private readonly attaching = new Map<string, Promise<TaskNetworking | undefined>>();
  /** Host-mode ports picked by attaches still in flight, so two at once never pick the same. */
  private readonly pendingPorts = new Map<string, HostPort[]>();
  /** Why the gateway bridge could not open, if it could not. */
  private gatewayError: string | undefined;
  /** Network id → tasks using its sandbox (attached or attaching). */
  private readonly users = new Map<string, Set<string>>();
  private readonly resolvConf: string;
  private view: NodeNetworkView | undefined;
  /** The routing mesh's table (and its memory of gone backends, whose connections it resets). */
  private readonly mesh: MeshTable;
  /** The routing mesh's table goes through one `nft -i` in the host's netns (as the VIP tables, see TaskRuntime). */
  private readonly meshNft: NftSession;
  /** Starts every `nft -i` of this agent, so the daemon does not fork itself for each (nft-spawner.ts). */
  private readonly nftSpawner = new NftSpawner();
  /** Bounds the task sessions running at once (the mesh's is not counted: one per node). */
  private readonly nftCap: SessionCap;
  /** br_netfilter off in sandboxes, VXLAN untracked on the node (overlay-tuning.ts). */
  private readonly tuning: OverlayTuning;
  private readonly views: LatestLoop<NodeNetworkView>;
  /** Agents waiting for a view without a stopping task to be applied. */
  private readonly rotation = new RotationWaiters();
  private readonly appliedListeners = new Set<(generation: number) => void>();
  private closed = false;
  /** This node's WireGuard tunnel (encrypted overlays); undefined: none. */
  private readonly wg: WireGuardPlane | undefined;

  private constructor(private readonly opts: NetworkAgentOptions, private readonly state: NetworkState, sh = new ShellBatch()) {
    this.sh = sh;
    this.netns = new NetnsMaker({ fallback: (argv) => mustRunShell(this.sh, argv) });
    this.log = opts.logger;
    this.prefix = opts.namePrefix ?? '';
    const ipBatch = new ShellIproute(this.sh, { hostNetns: opts.hostNetns });
    this.netlink = opts.dataPlane === 'ip' ? undefined : new NetnsNetlink({ onLinkRemoved: (ns, dev) => this.linkRemoved(ns, dev) });
    const isSandbox = (ns: string) => Object.values(this.state.sandboxes).some((sb) => sb.ready && sb.netns === ns);
    this.batch = this.netlink ? new NetlinkBatch(ipBatch, this.netlink, { useNetlink: isSandbox }) : ipBatch;
    this.netlink?.watch(opts.hostNetns);
    this.vethWaves = new VethWaves((ns, lines) => this.batch.runIn(ns, lines));
    this.meshNft = new NftSession({ netns: opts.hostNetns, spawner: this.nftSpawner });
    this.nftCap = new SessionCap(opts.maxLiveNftSessions ?? DEFAULT_MAX_LIVE_NFT_SESSIONS);
    this.mesh = new MeshTable(this.meshNft);
    this.tuning = new OverlayTuning(this.sh, { logger: opts.logger, hostNetns: opts.hostNetns });
    this.file = new StateFile(opts.dataRoot);
    this.wg = opts.wireguard === null ? undefined : opts.wireguard ?? new WireGuardPlane({ dataRoot: opts.dataRoot, logger: opts.logger, hostNetns: opts.hostNetns });
    const read = (path: string) => { try { return readFileSync(path, 'utf8'); } catch { return ''; } };
    const hostConf = read(opts.resolvConfPath ?? '/etc/resolv.conf');
    this.resolvConf = taskResolvConf(hostConf);
    // Only a local stub listed (systemd-resolved): its own upstreams, as Docker does.
    const upstreams = opts.upstreams ?? (upstreamsOf(hostConf).length || opts.resolvConfPath
      ? upstreamsOf(hostConf) : upstreamsOf(read('/run/systemd/resolve/resolv.conf')));
    if (upstreams.length === 0) this.log.warn('network: no DNS upstreams; names outside the swarm will not resolve in tasks');
    // Tests hand in their own socket source and get DNS in this process; a daemon serves
    // it from a child process of its own (see dns-process.ts).
    this.dns = opts.dnsSockets
      ? new InlineTaskDns(opts.dnsSockets, { upstreams, debug: (msg, fields) => this.log.debug(msg, fields) })
      : new DnsProcess({ logger: this.log.child('dns'), upstreams });
    this.views = new LatestLoop((view) => this.applyLogged(view), { retryMs: opts.retryMs });
  }

  /**
   * Opens the data plane, re-adopting what a previous daemon left: sandboxes and task
   * netns that still exist are kept (DNS sockets bound again in each task netns), the
   * rest is forgotten; half-made ones (a crash mid-way) are removed. The next view
   * re-syncs peers, VIP tables and the mesh.
   */
  static async open(opts: NetworkAgentOptions): Promise<NetworkAgent> {
    // Refused before anything is opened: an unknown value would otherwise silently mean 'netlink'.
    if (opts.dataPlane !== undefined && opts.dataPlane !== 'netlink' && opts.dataPlane !== 'ip') {
      throw new NetworkAgentError(`unknown dataPlane "${String(opts.dataPlane)}" (want 'netlink' or 'ip')`);
    }
    if (opts.taskPath !== undefined) checkTaskPath(opts.taskPath);
    const file = new StateFile(opts.dataRoot);
    const saved = file.load((err) => opts.logger.warn('network: state file unreadable, starting empty', { error: err }));
    const sh = new ShellBatch();
    const t0 = performance.now();
    let gateway = opts.gateway;
    let gatewayError: string | undefined;
    if (gateway === undefined) {
      // Without it only host-mode ports are refused; overlays still work.
      gateway = await GatewayBridge.open({ dataRoot: opts.dataRoot, logger: opts.logger, hostNetns: opts.hostNetns, shell: sh }).catch((err: Error) => {
        opts.logger.error('network: the gateway bridge could not open; tasks with host-mode ports will be refused', { error: err });
        gatewayError = err.message;
        return null;
      });
    }
    const tGateway = performance.now();
    const agent = new NetworkAgent({ ...opts, gateway }, saved, sh);
    agent.gatewayError = gatewayError;
    await agent.readopt();
    opts.logger.debug('network: data plane opened', { 'ms.gateway': Math.round(tGateway - t0), ms: Math.round(performance.now() - t0) });
    return agent;
  }

  /** The leader's view for this node; the newest wins. DNS answers switch at once, the kernel follows asynchronously. */
  setView(view: NodeNetworkView): void {
    if (this.closed) return;
    this.view = view;
    this.dns.setTable(dnsTable(view));
    this.views.push(view);
  }

  /**
   * Resolves once views in which `task` gets no new traffic (no DNS answer, VIP or mesh
   * backend) were applied here and, by the leader's watermark, on every node (see
   * `RotationWaiters`). The agent waits for it before a task's stop signal.
   */
  outOfRotation(task: Task, timeoutMs: number): Promise<OutOfRotation> {
    return this.rotation.wait(task, timeoutMs);
  }

  /** The leader's view watermark. */
  watermark(generation: number): void {
    this.rotation.watermark(generation);
  }

  /** Calls `fn` with the generation of every view applied here. */
  onViewApplied(fn: (generation: number) => void): void {
    this.appliedListeners.add(fn);
  }

  /** Resolves when the view loop is idle: the newest view applied (or its apply failed and waits for the retry). */
  settled(): Promise<void> {
    return this.views.idle();
  }

  /**
   * Makes the task's netns (one veth per attachment, DNS, VIP table, host-mode ports)
   * and returns what its container needs; undefined when the task has neither
   * attachments nor host-mode ports. Idempotent. On failure nothing is left behind and
   * the error says why.
   */
  attach(task: Task): Promise<TaskNetworking | undefined> {
    if (this.closed) return Promise.reject(new NetworkAgentError('the network agent is closed'));
    const done = this.tasks.get(task.ID);
    if (done) return Promise.resolve(this.networking(done.rec));
    const inflight = this.attaching.get(task.ID);
    if (inflight) return inflight;
    const p = this.lock.run(`task:${task.ID}`, () => this.doAttach(task)).finally(() => this.attaching.delete(task.ID));
    this.attaching.set(task.ID, p);
    return p;
  }

  /**
   * Where `attach` puts the task's netns and the resolv.conf it gives the task, before (or
   * without) making anything: the agent prepares the container meanwhile. Undefined exactly
   * when `attach` makes nothing (neither attachments nor host-mode ports).
   */
  async plan(task: Task): Promise<{ netnsPath: string; resolvConf: string } | undefined> {
    const done = this.tasks.get(task.ID);
    if (done) return { netnsPath: netnsPath(done.rec.netns), resolvConf: this.resolvConf };
    if (taskAttachments(task).length === 0 && hostModePorts(task).length === 0) return undefined;
    return { netnsPath: netnsPath(taskNetns(this.prefix, task.ID)), resolvConf: this.resolvConf };
  }

  /** The task ended: its DNS sockets, netns (with its veths), host ports, and sandboxes nobody needs any more go. Idempotent. */
  detach(taskId: string): Promise<void> {
    return this.lock.run(`task:${taskId}`, async () => {
      const rt = this.tasks.get(taskId);
      if (!rt) return;
      const t0 = performance.now();
      const steps: Record<string, number> = {};
      await this.undoTask(rt, (k) => { steps[k] = Math.round(performance.now() - t0); });
      this.tasks.delete(taskId);
      delete this.state.tasks[taskId];
      await this.saveSoon();
      this.log.debug('network: task detached', { 'task.id': taskId, ms: Math.round(performance.now() - t0), ...steps });
    });
  }

  /** This node's DNS query counts (metrics); undefined while not known. */
  dnsStats(): DnsStats | undefined {
    return this.dns.stats?.();
  }

  /** Local tasks attached to the network. */
  endpoints(networkId: string): LocalEndpoint[] {
    const out: LocalEndpoint[] = [];
    for (const { rec } of this.tasks.values()) {
      const a = rec.attachments.find((x) => x.networkId === networkId);
      if (a) out.push({ taskId: rec.taskId, name: rec.name, ip: a.ip, mac: macFromIp(a.ip) });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Stops serving DNS and applying views; the kernel state stays for the next `open()`. */
  async close(): Promise<void> {
    this.closed = true;
    await this.views.stop();
    await Promise.allSettled([...this.attaching.values()]);
    this.dns.close();
    await Promise.all([...this.tasks.values()].map((rt) => rt.nft.close()));
    await this.meshNft.stop();
    this.nftSpawner.close();
    this.netlink?.closeAll();
    this.netns.close();
    // wireguard-go is this daemon's child: it goes with it (the next start brings it back).
    await this.wg?.down().catch((err) => this.log.warn('network: could not remove the WireGuard device', { error: err }));
  }

  /** This node's WireGuard tunnel, for `network inspect`; undefined when it has none. */
  wireguardStatus(): WireGuardStatus | undefined {
    return this.wg?.status();
  }

  /** The tunnel address an encrypted sandbox needs (waits for the view that brings the tunnel up). */
  private tunnelAddress(networkId: string): Promise<string> {
    if (!this.wg) return Promise.reject(new NetworkAgentError(`network ${networkId} is encrypted, but this node has no WireGuard tunnel`));
    return this.wg.ready(15_000);
  }

  /** Leaving the swarm: every netns, link and table this agent made, the host ports and the state file. */
  async removeAll(): Promise<void> {
    await this.close();
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>) => { try { await fn(); } catch (err) { errors.push(err); } };
    if (this.opts.gateway) await attempt(() => this.opts.gateway!.removeAll());
    await attempt(() => this.removeMesh());
    await this.meshNft.stop();
    this.nftSpawner.close(); // close() ended it; removing the mesh table started it again
    await attempt(() => this.tuning.remove());
    if (this.wg) await attempt(() => this.wg!.remove());
    await mapLimit([...this.tasks.values()], TASK_NETNS_PARALLEL, (rt) => this.deleteNetns(rt.rec.netns));
    this.tasks.clear();
    this.state.tasks = {};
    for (const sb of Object.values(this.state.sandboxes)) await attempt(() => this.destroySandbox(sb));
    this.state.sandboxes = {};
    this.users.clear();
    if (errors.length) {
      this.save();
      throw new NetworkAgentError(`could not remove everything: ${errors.map((e) => (e as Error).message).join('; ')}`);
    }
    this.file.remove();
  }

  // ---- tasks ----

  private networking(rec: TaskRecord): TaskNetworking {
    const out: TaskNetworking = { netnsPath: netnsPath(rec.netns), resolvConf: this.resolvConf };
    if (rec.hostPorts.length) out.hostPorts = rec.hostPorts.map((p) => ({ ...p }));
    return out;
  }

  private async doAttach(task: Task): Promise<TaskNetworking | undefined> {
    const existing = this.tasks.get(task.ID);
    if (existing) return this.networking(existing.rec);
    const attachments = taskAttachments(task);
    const used = new Set<string>();
    const taken = [...[...this.tasks.values()].map((x) => x.rec.hostPorts), ...this.pendingPorts.values()];
    for (const list of taken) for (const p of list) used.add(`${p.protocol}/${p.published}`);
    const ports = hostPorts(task, used);
    if (attachments.length === 0 && ports.length === 0) return undefined;
    const outward = needsGateway(task.ID, { attachments, ports });
    if (ports.length && !this.opts.gateway) {
      throw new NetworkAgentError(`task ${task.ID} publishes host-mode ports, but this node has no gateway bridge${this.gatewayError ? ` (${this.gatewayError})` : ''}`);
    }
    const netns = taskNetns(this.prefix, task.ID);
    const owner = [...this.tasks.values()].find((x) => x.rec.netns === netns);
    if (owner) throw new NetworkAgentError(`task ${task.ID} would share netns ${netns} with task ${owner.rec.taskId}`);
    const rec: TaskRecord = { taskId: task.ID, name: taskName(task), netns, attachments, hostPorts: ports };
    const rt = this.taskRuntime(rec, new Set());
    const t0 = performance.now();
    let usedView: NodeNetworkView | undefined;
    this.pendingPorts.set(task.ID, ports);
    // Recorded before the kernel work: open() removes what a crash from here on leaves.
    this.state.tasks[task.ID] = { ...rec, ready: false };
    await this.saveSoon();
    const steps: Record<string, number> = {};
    const step = (k: string) => { steps[k] = Math.round(performance.now() - t0); };
    // Each network's sandbox is made (or found) while the task's netns is: neither needs
    // the other. A sandbox's lock is held only to make it (if missing) and to count this
    // task as its user (which keeps it from being released); the veth lines run outside it,
    // so the attaches of a deploy's tasks on one network run side by side.
    if (outward) this.opts.gateway?.warm?.();
    const sandboxes = attachments.map((a) => this.lock.run(`sb:${a.networkId}`, async () => {
      const got = await this.ensureSandbox(a);
      this.userSet(a.networkId).add(task.ID);
      return got;
    }));
    for (const p of sandboxes) p.catch(() => { /* awaited below */ });
    try {
      await this.deleteNetns(netns); // a leftover of a crash mid-attach
      // The netns with `lo` up, in one request: the DNS sockets (127.0.0.11) can be bound at once.
      await this.netns.add(netns, { loUp: true });
      step('ms.netns');
      // Then everything the task's netns gets, side by side, none waiting for another: the
      // overlay veths (each made from its sandbox's side once that sandbox is there, then the
      // task's side of all of them in one batch), the DNS sockets, the VIP table, and the
      // gateway bridge's veth (`eth<N>` after the overlay ones, and the default route).
      const overlay = async () => {
        const taskLines: string[][] = [];
        const made = await Promise.allSettled(attachments.map(async (a, i) => {
          const sb = await sandboxes[i];
          const lines = attachmentLines(sb, { netns, index: i, ip: a.ip, bits: a.bits });
          taskLines[i] = lines.task;
          await this.batch.runIn(sb.netns, lines.sandbox);
          rt.made.add(a.networkId);
        }));
        for (const r of made) if (r.status === 'rejected') throw r.reason;
        // Every MAC first, then the rest (see attachTask): the batch may be run again as it is.
        if (taskLines.length) await this.whileMacBusy(netns, () => this.taskSide(netns, [...taskLines.map((l) => l[0]), ...taskLines.flatMap((l) => l.slice(1))]));
        step('ms.veths');
        // A sandbox made just now: its peers were programmed beside the veths (never throws).
        await Promise.all(attachments.map((a) => this.firstPeers.get(a.networkId)));
        step('ms.peers');
      };
      const nets = attachments.map((a) => a.networkId);
      usedView = this.view;
      // Every task with a network that is not internal gets the node's gateway bridge (its
      // default route, the way out of the swarm, as Docker's docker_gwbridge), and host-mode
      // ports on it; a task only on internal networks has no route out at all.
      const gateway = this.opts.gateway && outward ? this.opts.gateway : undefined;
      const parts = await Promise.allSettled([
        overlay(),
        this.bindDns(rt).then(() => step('ms.dns')),
        rt.vip.sync(vipServices(usedView, nets)).then(() => step('ms.vip')),
        gateway?.attach(task.ID, netns, attachments.length, ports, { fresh: true }).then(() => step('ms.gateway')),
      ]);
      for (const r of parts) if (r.status === 'rejected') throw r.reason;
    } catch (err) {
      await Promise.allSettled(sandboxes); // a sandbox still being made counts this task as its user once it is
      await this.undoTask(rt).catch((e) => this.log.warn('network: clean-up after a failed attach was incomplete', { 'task.id': task.ID, error: e }));
      delete this.state.tasks[task.ID];
      await this.saveSoon();
      throw new NetworkAgentError(`cannot attach task ${task.ID} to its networks: ${(err as Error).message}`, { cause: err });
    } finally {
      this.pendingPorts.delete(task.ID);
    }
    this.tasks.set(task.ID, rt);
    this.state.tasks[task.ID] = rec;
    await this.saveSoon();
    // A view applied while this task was not yet listed skipped its VIP table: apply again.
    if (this.view !== usedView) this.views.again();
    this.log.debug('network: task attached', { 'task.id': task.ID, netns, ms: Math.round(performance.now() - t0), ...steps, 'vip.by': rt.vipRunner.lastWhole });
    return this.networking(rec);
  }

  /**
   * The task's side of its veths (MAC, address, up): over rtnetlink through the netns
   * helper, no process (an `ip -batch` per task was ≈ 2 ms of CPU and the slowest part of
   * 20 attaches at once), the same requests `ip` sends; through `ip` on the 'ip' data plane,
   * without the helper, or for a line rtnetlink is not spoken for.
   */
  private async taskSide(netns: string, lines: string[]): Promise<void> {
    let reqs: NlRequest[] | undefined;
    if (this.netlink && this.netns.helper) {
      try { reqs = lines.map(ipLine); } catch (err) { if (!(err instanceof NetlinkTranslateError)) throw err; }
    }
    if (reqs) await this.netns.rtnetlink(netns, reqs);
    else await this.batch.runIn(netns, lines);
  }

  /**
   * Runs `fn` (a task side's lines) again while the kernel refuses a MAC as taken, for at
   * most `MAC_BUSY_WAIT_MS`. On the macvlan path a detached task's interface keeps its MAC
   * on vxlan0 until its netns is freed (asynchronously, by the kernel's netns clean-up), so
   * a quick re-attach of the address waits for that. Waiting here, not releasing the MAC at
   * detach: a MAC change or delete costs ≈ 15 ms of kernel time per task, one task after
   * another (20 detached at once took ≈ 300 ms against ≈ 35 ms on the bridge path), while a
   * reused address is the rare case and its old netns is usually gone by then. Only this
   * task waits (no sandbox lock is held). A poll with backoff: the kernel's only sign of the
   * old netns going is a generic RTM_NEWLINK on vxlan0 in the sandbox, seen only where a
   * netlink watch runs.
   */
  private async whileMacBusy(netns: string, fn: () => Promise<void>): Promise<void> {
    const t0 = performance.now();
    for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
      try { return await fn(); } catch (err) {
        if (!/EADDRINUSE|Address already in use/.test(String((err as Error).message) + String((err as { stderr?: string }).stderr ?? '')) || this.closed) throw err;
        if (performance.now() - t0 > MAC_BUSY_WAIT_MS) {
          throw new NetworkAgentError(`a MAC of netns ${netns} is still taken on its sandbox's vxlan0 after ${MAC_BUSY_WAIT_MS} ms (a detached task's netns not freed yet): ${(err as Error).message}`, { cause: err });
        }
      }
      if (wait === 10) this.log.debug('network: a task MAC is still taken by a detached task; waiting for its netns to go', { netns });
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /**
   * Binds the embedded DNS (UDP and TCP at 127.0.0.11:53) in the task's netns, scoped to
   * its networks; a task only on internal networks gets no forwarding either (no way out).
   */
  private async bindDns(rt: TaskRuntime): Promise<void> {
    const forward = rt.rec.attachments.length === 0 || rt.rec.attachments.some((a) => !a.internal);
    await this.dns.bind(rt.rec.taskId, rt.rec.netns, rt.rec.attachments.map((a) => a.networkId), { forward });
  }

  /** Everything a task holds, in reverse: DNS, host ports, veths, netns, then sandboxes left unused. */
  private async undoTask(rt: TaskRuntime, step: (k: string) => void = () => {}): Promise<void> {
    const { rec } = rt;
    this.dns.unbind(rt.rec.taskId);
    const errors: unknown[] = [];
    if (this.opts.gateway) await this.opts.gateway.detach(rec.taskId).catch((e) => errors.push(e));
    step('ms.gateway');
    for (const a of rec.attachments) {
      // The veth first: deleting a netns frees its devices asynchronously, and a quick
      // re-attach of the same address would meet the old name. Outside the sandbox's lock
      // (this task still counts as its user, so it stays), so the veths of tasks detached
      // together go in one wave; a veth not made yet, or gone, is no error (never rejects).
      const sb = this.state.sandboxes[a.networkId];
      if (sb?.ready && rt.made.has(a.networkId) && recordedTaskPath(sb) === 'bridge') await this.vethWaves.delete(sb.netns, sandboxVethName(a.ip));
      step('ms.veth');
      await this.lock.run(`sb:${a.networkId}`, async () => {
        step(`ms.lock`);
        this.users.get(a.networkId)?.delete(rec.taskId);
        await this.releaseSandbox(a.networkId).catch((e) => errors.push(e));
      });
    }
    // Not awaited: the netns lives on only until nft, told to end, is gone (≈ 1 ms later);
    // waiting for each of 20 detaches at once took 20 ms.
    void rt.nft.close().catch(() => {});
    await this.deleteNetns(rec.netns).catch((e) => errors.push(e));
    step('ms.netns');
    if (existsSync(netnsPath(rec.netns))) errors.push(new NetworkAgentError(`netns ${rec.netns} is still there`));
    if (errors.length) throw errors[0];
  }

  /** A task's runtime: its record, its VIP table (as netlink batches, else text: task-vip-runner.ts), the networks whose veth it made. */
  private taskRuntime(rec: TaskRecord, made: Set<string>): TaskRuntime {
    const nft = new NftSession({ netns: rec.netns, spawner: this.nftSpawner, cap: this.nftCap });
    const runner = new TaskVipRunner({
      session: nft, cold: new ShellNft(this.sh, rec.netns), later: (start) => this.warmLater(start), sessionFirst: () => this.nftSpawner.working,
      netlink: (batch) => this.netns.nftables(rec.netns, batch),
      // The first failure of a task says why at warn; later ones (the same cause, most likely) at debug.
      onNetlinkFailure: (err, failures) => this.log[failures === 1 ? 'warn' : 'debug']('network: an nf_tables batch for a task\'s VIP table failed; the change goes as nft text', {
        'task.id': rec.taskId, netns: rec.netns, failures, error: err,
      }),
    });
    return { rec, nft, vip: new VipTable(runner), vipRunner: runner, made };
  }

  /** Session starts wait for the attaches in flight, then run one at a time (each is a process start on the node's cores). */
  private warmChain: Promise<void> = Promise.resolve();
  private warmLater(start: () => Promise<void>): void {
    this.warmChain = this.warmChain.then(async () => {
      await Promise.allSettled([...this.attaching.values()]);
      if (!this.closed) await start().catch((err) => this.log.debug('network: could not start a VIP table nft session; applying through the shell', { error: err }));
    });
  }

  // ---- sandboxes ----

  private userSet(networkId: string): Set<string> {
    let s = this.users.get(networkId);
    if (!s) this.users.set(networkId, (s = new Set()));
    return s;
  }

  /** The sandbox of a network, made if missing (call under its `sb:` lock), with the view's peers programmed. */
  private async ensureSandbox(p: SandboxParams): Promise<SandboxRecord> {
    const have = this.state.sandboxes[p.networkId];
    if (have?.ready) return have;
    const netns = sandboxNetns(this.prefix, p.networkId);
    // An encrypted network's VXLAN runs between WireGuard tunnel addresses, with room for the tunnel's header.
    const local = p.encrypted ? await this.tunnelAddress(p.networkId) : this.opts.localAddr();
    const mtu = p.encrypted ? Math.min(p.mtu, ENCRYPTED_OVERLAY_MTU) : p.mtu;
    // Ingress or not comes with `p` either way it is made (plan.ts): from the attachment's
    // network spec (`Spec.Ingress`) or the view's network (`ingress`, the same flag).
    const taskPath = sandboxTaskPath({ ingress: Boolean(p.ingress) }, this.opts.taskPath);
    const rec: SandboxRecord = {
      networkId: p.networkId, vni: p.vni, subnet: p.subnet, gateway: p.gateway, mtu, netns, peers: [], ready: false, taskPath, localVtep: local, ...(p.encrypted ? { encrypted: true } : {}),
    };
    await this.vniFree(p.vni, p.networkId);
    this.state.sandboxes[p.networkId] = rec;
    this.save(); // before the kernel: a crash from here on leaves a record open() cleans up
    const t0 = performance.now();
    const steps: Record<string, number> = {};
    const step = (k: string) => { steps[k] = Math.round(performance.now() - t0); };
    try {
      // Leftovers of a crash: a whole sandbox netns goes first; a VXLAN device left in the
      // host netns (the only other part made outside it) is looked for while the netns is made.
      if (existsSync(netnsPath(netns))) await this.destroySandbox(rec);
      const made = await Promise.allSettled([this.removeHostVxlan(p.vni), this.netns.add(netns)]);
      for (const r of made) if (r.status === 'rejected') throw r.reason;
      step('ms.netns');
      // The tuning needs only the netns, so it goes beside the devices; it logs what it
      // could not do (the sandbox works without it) and never throws. Both are waited for
      // before a failure is thrown, so the clean-up below never races a step still running.
      const [devices] = await Promise.allSettled([
        this.batch.run(netns, withLoUp(createSandbox({ vni: p.vni, subnet: p.subnet, gateway: p.gateway, localVtep: local, mtu, sandbox: netns, taskPath }))).then(() => step('ms.devices')),
        this.tuning.apply(netns, local).then(() => step('ms.tuning')),
      ]);
      if (devices.status === 'rejected') throw devices.reason;
    } catch (err) {
      await this.destroySandbox(rec).catch(() => {});
      delete this.state.sandboxes[p.networkId];
      this.sandboxRemoved();
      this.save();
      throw new NetworkAgentError(`cannot make the sandbox of network ${p.networkId}: ${(err as Error).message}`, { cause: err });
    }
    rec.ready = true;
    this.netlink?.watch(netns); // its rtnetlink relay starts now, not on the first attach
    this.log.info('network: sandbox created', { 'network.id': p.networkId, netns, vni: p.vni, 'task.path': taskPath, ...steps });
    this.save();
    // The view's peers next, under the sandbox's lock again but after the attaches already
    // waiting for it: their veths need only the bridge, so they are made while the peers
    // are programmed; each attach then waits for `firstPeers` before it reports the task
    // attached (a task starts with its remote peers reachable, as before).
    const peers: Promise<void> = this.lock.run(`sb:${p.networkId}`, async () => {
      if (this.state.sandboxes[p.networkId] !== rec || !rec.ready) return; // removed meanwhile
      await this.syncSandboxPeers(rec).catch((err) => this.log.warn('network: could not program peers, retrying with the next view', { 'network.id': p.networkId, error: err }));
      this.log.debug('network: sandbox peers programmed', { 'network.id': p.networkId, ms: Math.round(performance.now() - t0) });
      this.save();
    }).finally(() => { if (this.firstPeers.get(p.networkId) === peers) this.firstPeers.delete(p.networkId); });
    this.firstPeers.set(p.networkId, peers);
    return rec;
  }

  /** Network id → the first peer programming of its sandbox, while it runs (see `ensureSandbox`). */
  private readonly firstPeers = new Map<string, Promise<void>>();

  /**
   * Waits (at most `VNI_WAIT_MS`) while another network's sandbox here holds `vni`: the
   * leader frees a removed network's VNI once its tasks ended, and a network made right
   * after (a stack deployed again) may get it while this node still tears the old sandbox
   * down; the kernel would refuse the second VXLAN device with that VNI.
   */
  private async vniFree(vni: number, networkId: string): Promise<void> {
    const holder = () => Object.values(this.state.sandboxes).find((sb) => sb.vni === vni && sb.networkId !== networkId);
    // An ingress sandbox kept without tasks (a removed ingress network's) gives its VNI up at once.
    const idle = holder();
    if (idle && idle.networkId !== this.view?.ingress?.networkId && (this.users.get(idle.networkId)?.size ?? 0) === 0) {
      await this.lock.run(`sb:${idle.networkId}`, () => this.releaseSandbox(idle.networkId, true))
        .catch((err) => this.log.warn('network: could not remove an idle sandbox holding a VNI', { 'network.id': idle.networkId, vni, error: err }));
    }
    const deadline = Date.now() + VNI_WAIT_MS;
    while (holder() && Date.now() < deadline && !this.closed) {
      await new Promise<void>((resolve) => {
        const done = () => { this.sandboxGone.delete(done); clearTimeout(timer); resolve(); };
        const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
        this.sandboxGone.add(done);
      });
    }
  }

  /** Waiters of `vniFree`, called whenever a sandbox record goes. */
  private readonly sandboxGone = new Set<() => void>();

  private sandboxRemoved(): void {
    for (const fn of [...this.sandboxGone]) fn();
  }

  /** Programs the difference between the sandbox's peers and the view's (call under its lock). */
  private async syncSandboxPeers(sb: SandboxRecord): Promise<void> {
    const n = this.view?.networks.find((x) => x.id === sb.networkId);
    if (!n) return; // the view does not know the network yet: keep what is programmed
    const local = sb.encrypted ? this.wg?.address() : this.opts.localAddr();
    if (!local) return; // the tunnel is down: the next view brings it back
    const want = remotePeers(n, [this.opts.localAddr(), this.view!.vtep, local]);
    if (sb.peersUnknown) {
      await this.batch.run(sb.netns, flushPeers());
      sb.peers = [];
      sb.peersUnknown = false;
    }
    if (samePeers(sb.peers, want)) return;
    try {
      await this.batch.run(sb.netns, syncPeers(local, sb.peers, want));
      sb.peers = want;
    } catch (err) {
      sb.peersUnknown = true; // some lines ran: start from a clean table next time
      throw err;
    }
  }

  /**
   * Whether the sandbox of `networkId` stays without local tasks: the view's ingress network,
   * or, while the view has none (no port published), the one the mesh last connected to.
   */
  private keptIngress(networkId: string): boolean {
    if (this.closed) return false;
    const want = this.view?.ingress?.networkId ?? this.state.ingress?.networkId;
    return want === networkId;
  }

  /**
   * Removes the sandbox when no local task uses it and the view does not need it (call under
   * its lock). `evenIngress`: also the kept ingress sandbox (its VNI is wanted by another network).
   */
  private async releaseSandbox(networkId: string, evenIngress = false): Promise<void> {
    const sb = this.state.sandboxes[networkId];
    if (!sb || (this.users.get(networkId)?.size ?? 0) > 0) return;
    if (!evenIngress && this.keptIngress(networkId)) return;
    if (this.state.ingress?.networkId === networkId) await this.removeMesh();
    await this.destroySandbox(sb);
    delete this.state.sandboxes[networkId];
    this.users.delete(networkId);
    this.sandboxRemoved();
    this.save();
    this.log.info('network: sandbox removed', { 'network.id': networkId, netns: sb.netns });
  }

  /** Deletes the sandbox netns (its bridge, VXLAN and veths go with it) and a VXLAN device left in the host netns. */
  private async destroySandbox(sb: SandboxRecord): Promise<void> {
    // The VXLAN device first, at once: a netns is freed asynchronously, and until then its
    // device holds the VNI, so a sandbox made again right away would be refused.
    if (existsSync(netnsPath(sb.netns))) await this.sh.run(['ip', '-n', sb.netns, 'link', 'del', VXLAN_DEV]);
    // Its rtnetlink relay lives in the netns and would keep it (bridge, task veths) alive
    // until the sweep noticed the name gone: ended now, with the namespace.
    this.netlink?.close(sb.netns);
    await this.deleteNetns(sb.netns);
    await this.removeHostVxlan(sb.vni);
  }

  /** The VXLAN device of `vni` left in the host netns (made there, then moved into its sandbox), if there. */
  private async removeHostVxlan(vni: number): Promise<void> {
    const host = this.opts.hostNetns === undefined ? [] : ['-n', this.opts.hostNetns];
    const vx = hostVxlanName(vni);
    if (await this.linkExists(this.opts.hostNetns, vx)) await this.sh.run(['ip', ...host, 'link', 'del', vx]);
  }

  // ---- views ----

  /** One view apply for the loop: logs the outcome; false (retry later) when a step failed. */
  private async applyLogged(view: NodeNetworkView): Promise<boolean> {
    const t0 = performance.now();
    const errors = await this.applyView(view);
    // Also after errors: each step went on, and a task VIP table that failed is the one left behind.
    this.rotation.applied(view);
    if (view.generation !== undefined) for (const fn of this.appliedListeners) fn(view.generation);
    const ms = Math.round(performance.now() - t0);
    if (errors.length === 0) { this.log.debug('network: view applied', { ms, networks: view.networks.length, ...this.viewSteps }); return true; }
    this.log.warn('network: view applied with errors, retrying', { ms, attempt: this.views.failed + 1, errors: errors.map((e) => (e as Error).message ?? String(e)) });
    return false;
  }

  /** Times of the last view apply's steps (for its debug line). */
  private viewSteps: Record<string, number> = {};

  /** Makes the kernel match `view`; returns the errors met (each step goes on regardless). */
  private async applyView(view: NodeNetworkView): Promise<unknown[]> {
    const errors: unknown[] = [];
    const t0 = performance.now();
    const step = (k: string) => { this.viewSteps[k] = Math.round(performance.now() - t0); };
    // VIP tables beside the tunnel's and the sandboxes' work, not after it: they need
    // neither and take no sandbox lock, so a task that started running joins its VIPs'
    // rotations without waiting for attaches that hold those locks. Only tables that changed
    // are applied (VipTable compares); a new backend's peer entries came with an earlier
    // view (a peer from its assignment, a backend once it runs).
    const rts = [...this.tasks.values()];
    const vips = mapLimit(rts, VIP_PARALLEL, (rt) => rt.vip.sync(vipServices(view, rt.rec.attachments.map((a) => a.networkId))))
      .then((results) => {
        step('ms.vip');
        // A task detached meanwhile (its netns gone) is no error.
        results.forEach((r, i) => { if (r.status === 'rejected' && this.tasks.get(rts[i].rec.taskId) === rts[i]) errors.push(r.reason); });
      });
    // The WireGuard tunnel before the sandboxes: encrypted sandboxes' peers need its address.
    if (this.wg) await this.wg.apply(view).catch((e) => errors.push(e));
    step('ms.wg');
    const ingressNet = view.ingress ? view.networks.find((n) => n.id === view.ingress!.networkId) : undefined;
    if (view.ingress && !ingressNet) errors.push(new NetworkAgentError(`the view's ingress network ${view.ingress.networkId} is not among its networks`));
    if (ingressNet) {
      await this.lock.run(`sb:${ingressNet.id}`, () => this.ensureSandbox(sandboxFromView(ingressNet))).catch((e) => errors.push(e));
    }
    // Peers: each sandbox under its own lock, all at once.
    const sbs = Object.keys(this.state.sandboxes);
    const peerResults = await Promise.allSettled(sbs.map((id) => this.lock.run(`sb:${id}`, async () => {
      const sb = this.state.sandboxes[id];
      if (sb?.ready) await this.syncSandboxPeers(sb);
    })));
    for (const r of peerResults) if (r.status === 'rejected') errors.push(r.reason);
    step('ms.peers');
    await vips;
    // Routing mesh. Without published ports only its table goes: the ingress sandbox and the
    // host veth stay while this node is in the swarm (as Docker's ingress-sbox), so the next
    // deploy that publishes a port does not build them again on its way to running.
    try {
      if (view.ingress && ingressNet) await this.applyMesh(view, ingressNet.subnet, ingressNet.mtu);
      else if (!view.ingress && this.mesh.applied) await this.mesh.remove();
    } catch (e) { errors.push(e); }
    step('ms.mesh');
    // Sandboxes nobody needs any more (e.g. ingress after the last published port went), each
    // under its own lock, all at once: one busy with a task's attach holds up no other.
    const released = await Promise.allSettled(Object.keys(this.state.sandboxes).map((id) => this.lock.run(`sb:${id}`, () => this.releaseSandbox(id))));
    for (const r of released) if (r.status === 'rejected') errors.push(r.reason);
    step('ms.release');
    this.state.view = viewForDisk(view);
    this.save();
    return errors;
  }

  /** The host veth into the ingress sandbox, forwarding, and the mesh table (when its text changed). */
  private async applyMesh(view: NodeNetworkView, subnet: string, mtu: number): Promise<void> {
    const ing = view.ingress!;
    await this.lock.run(`sb:${ing.networkId}`, async () => {
      const sb = this.state.sandboxes[ing.networkId];
      if (!sb?.ready) throw new NetworkAgentError('the ingress sandbox is missing');
      // Its host veth is a bridge port: a sandbox made without a bridge (before the view named it ingress) cannot take it.
      if (recordedTaskPath(sb) !== 'bridge') throw new NetworkAgentError(`the ingress sandbox of network ${ing.networkId} has no bridge (made on the ${recordedTaskPath(sb)} task path)`);
      const cur = this.state.ingress;
      if (cur?.address !== ing.address || cur.networkId !== ing.networkId || !(await this.hostLinkExists(INGRESS_HOST_DEV))) {
        if (await this.hostLinkExists(INGRESS_HOST_DEV)) await this.batch.run(sb.netns, { host: ingressUnlink(), ip: [], bridge: [] });
        this.state.ingress = undefined;
        await this.batch.run(sb.netns, ingressLink(sb.netns, ing.address, mtu, macFromIp(ing.address.split('/')[0])));
        await this.enableForwarding();
        this.state.ingress = { networkId: ing.networkId, address: ing.address };
        this.save();
        this.log.info('network: routing mesh connected', { address: ing.address, 'network.id': ing.networkId });
      }
    });
    const natSources = this.opts.gateway?.subnet ? [this.opts.gateway.subnet] : [];
    await this.mesh.sync(meshPorts(view), { ingressSubnet: subnet, ingressDevice: INGRESS_HOST_DEV, natSources });
  }

  /** The mesh table (even if not known to be there) and the host veth, if there. */
  private async removeMesh(): Promise<void> {
    await this.mesh.remove();
    if (this.state.ingress) {
      if (await this.hostLinkExists(INGRESS_HOST_DEV)) {
        await this.batch.run('', { host: ingressUnlink(), ip: [], bridge: [] });
      }
      this.state.ingress = undefined;
      this.save();
    }
  }

  private hostLinkExists(dev: string): Promise<boolean> {
    return this.linkExists(this.opts.hostNetns, dev);
  }

  /** Whether `dev` exists in `netns` (undefined: the daemon's own netns). */
  private async linkExists(netns: string | undefined, dev: string): Promise<boolean> {
    return (await this.sh.run(['ip', ...(netns === undefined ? [] : ['-n', netns]), 'link', 'show', dev])).code === 0;
  }

  /** `net.ipv4.ip_forward=1` in the host netns: the mesh routes from the underlay into the ingress network. */
  private async enableForwarding(): Promise<void> {
    if (this.opts.hostNetns === undefined) { writeFileSync('/proc/sys/net/ipv4/ip_forward', '1'); return; }
    const r = await this.sh.run(['ip', 'netns', 'exec', this.opts.hostNetns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    if (r.code !== 0) throw new NetworkAgentError(`cannot enable forwarding in netns ${this.opts.hostNetns}: ${r.stderr.trim()}`);
  }

  /**
   * A link went away in a sandbox or the host netns. Ours going (a sandbox torn down) is
   * no news; one going behind our back is put back: a sandbox's VXLAN device is made again
   * and its peers programmed anew; the mesh's host veth comes back with the next view apply.
   */
  private linkRemoved(netns: string, dev: string): void {
    if (this.closed) return;
    if (netns === (this.opts.hostNetns ?? '') && dev === INGRESS_HOST_DEV && this.state.ingress) { this.views.again(); return; }
    const sb = Object.values(this.state.sandboxes).find((x) => x.netns === netns);
    const macvlan = sb !== undefined && recordedTaskPath(sb) === 'macvlan';
    if (!sb || (dev !== VXLAN_DEV && !(macvlan && dev === GATEWAY_DEV))) return;
    const exists = (d: string) => this.linkExists(netns, d);
    void this.lock.run(`sb:${sb.networkId}`, async () => {
      // Still ours and meant to be there (not torn down meanwhile), and really gone?
      if (this.closed || this.state.sandboxes[sb.networkId] !== sb || !sb.ready) return;
      const local = sb.encrypted ? this.wg?.address() : this.opts.localAddr();
      if (!local) return;
      const spec = { vni: sb.vni, subnet: sb.subnet, gateway: sb.gateway, localVtep: local, mtu: sb.mtu, sandbox: netns, taskPath: recordedTaskPath(sb) };
      if (dev === GATEWAY_DEV) {
        // vxlan0 gone too: its own event repairs both (gw0 went with its lower).
        if (!(await exists(VXLAN_DEV)) || (await exists(GATEWAY_DEV))) return;
        this.log.warn('network: the gateway device of a sandbox was removed behind our back; making it again', { 'network.id': sb.networkId, netns });
        await this.batch.runIn(netns, gatewayRepair(spec));
        return;
      }
      if (await exists(VXLAN_DEV)) return;
      this.log.warn('network: the VXLAN device of a sandbox was removed behind our back; making it again', { 'network.id': sb.networkId, netns });
      await this.batch.run(netns, vxlanRepair(spec));
      sb.peersUnknown = true; // its FDB went with it
      // On the macvlan path the tasks' interfaces went with their lower device: made again.
      if (macvlan) await this.remakeMacvlans(sb);
      await this.syncSandboxPeers(sb);
      this.save();
    }).catch((err) => { this.log.warn('network: could not repair a sandbox; the next view tries again', { 'network.id': sb.networkId, error: err }); this.views.again(); });
  }

  /** Every local task's macvlan on `sb` made again, as its attach made it (call under the sandbox's lock). */
  private async remakeMacvlans(sb: SandboxRecord): Promise<void> {
    const results = await Promise.allSettled([...this.tasks.values()].map(async ({ rec, made }) => {
      const i = rec.attachments.findIndex((a) => a.networkId === sb.networkId);
      if (i < 0 || !made.has(sb.networkId)) return;
      const a = rec.attachments[i];
      const lines = attachmentLines(sb, { netns: rec.netns, index: i, ip: a.ip, bits: a.bits });
      await this.batch.runIn(sb.netns, lines.sandbox);
      await this.taskSide(rec.netns, lines.task);
    }));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  // ---- restart ----

  /** Keeps recorded sandboxes and tasks whose netns still exist, removes half-made ones, rebinds DNS. */
  private async readopt(): Promise<void> {
    // The DNS table first: the sockets bound again below answer at once, and must not answer
    // from an empty table (a negative answer a task's resolver may cache). This also starts
    // the DNS child while the netns are checked: its start is most of a restart's DNS gap.
    if (this.state.view) this.dns.setTable(dnsTable(this.state.view));
    for (const [id, sb] of Object.entries(this.state.sandboxes)) {
      const alive = sb.ready && existsSync(netnsPath(sb.netns))
        && (await this.linkExists(sb.netns, VXLAN_DEV));
      if (alive) {
        if (sb.taskPath === undefined) this.log.info('network: a sandbox made by an older agent keeps its bridge task path', { 'network.id': id, netns: sb.netns });
        continue;
      }
      if (!sb.ready) await this.destroySandbox(sb).catch(() => {});
      delete this.state.sandboxes[id];
      this.log.info('network: forgot a sandbox that is gone', { 'network.id': id, netns: sb.netns });
    }
    // The node's VXLAN notrack table lists the surviving sandboxes' VTEPs in its next write
    // (an older agent's record has none: a plain sandbox's is the node's address; an
    // encrypted one's tunnel address is listed again when an encrypted sandbox is made).
    const node = (() => { try { return this.opts.localAddr(); } catch { return undefined; } })();
    this.tuning.seed(Object.values(this.state.sandboxes).flatMap((sb) => sb.localVtep ?? (sb.encrypted || !node ? [] : [node])));
    for (const [id, rec] of Object.entries(this.state.tasks)) {
      if (rec.ready === false || !existsSync(netnsPath(rec.netns)) || rec.attachments.some((a) => !this.state.sandboxes[a.networkId])) {
        await this.deleteNetns(rec.netns).catch(() => {}); // its veths go with it
        await this.opts.gateway?.detach(id).catch(() => {});
        delete this.state.tasks[id];
        this.log.info('network: forgot a task whose netns or sandbox is gone', { 'task.id': id });
        continue;
      }
      this.tasks.set(id, this.taskRuntime(rec, new Set(rec.attachments.map((a) => a.networkId))));
      for (const a of rec.attachments) this.userSet(a.networkId).add(id);
    }
    const results = await mapLimit([...this.tasks.values()], TASK_NETNS_PARALLEL, (rt) => this.bindDns(rt));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.log.warn('network: could not bind DNS again in a task netns', { netns: [...this.tasks.values()][i].rec.netns, error: r.reason });
    });
    this.save();
    // Until the session sends a view, the last one applied: DNS answers, VIP and mesh tables re-applied.
    if (this.state.view) this.setView(this.state.view);
  }

  /** Deletes netns `name` if present (a failure is not reported, as `kernel.ts`'s `deleteNetns`). */
  private async deleteNetns(name: string): Promise<void> {
    if (existsSync(netnsPath(name))) await this.netns.delete(name).catch(() => {});
  }

  /** The save `saveSoon` has scheduled, if any. */
  private pendingSave: Promise<void> | undefined;

  /**
   * Saves at the end of this turn of the event loop, once for every caller meanwhile:
   * tasks attached together (each records itself before its kernel work and after it)
   * write the file once, not 2 × 20 times (≈ 3 ms each, the event loop blocked). Resolves
   * once the state is on disk, so a caller may still count on it being there.
   */
  private saveSoon(): Promise<void> {
    this.pendingSave ??= new Promise<void>((resolve) => setImmediate(() => {
      this.pendingSave = undefined;
      this.save();
      resolve();
    }));
    return this.pendingSave;
  }

  private save(): void {
    try { this.file.save(this.state); } catch (err) { this.log.error('network: cannot save state', { error: err }); }
  }
}
