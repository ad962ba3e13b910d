/**
 * The node's default `bridge` network (Docker's `docker0`) for standalone containers:
 * a Linux bridge `shoal0` on 172.17.0.0/16 in the daemon's netns, one veth per container
 * (`eth0`, its own address, default route via 172.17.0.1), masquerade to the outside
 * and `-p` ports DNATed from every local address, all through nftables.
 *
 * It is the same machine as the swarm's gateway bridge (`../gateway.ts`: bookkeeping,
 * ruleset, persistence, re-adoption after a restart), given its own name, subnet, state
 * file and table, with containers allowed to talk to each other (Docker's `icc`). The
 * bridge and its table exist only while they serve: `idleMs` after the last detach (and
 * at daemon stop, `close`) they are removed, so a node with no standalone container on
 * `bridge` keeps nothing of it; in between, `docker run --rm` does not pay for making
 * and removing them each time.
 *
 *   const br = new DefaultBridge({ dataRoot, logger });
 *   const ip = await br.attach(cid, 'shoal-abc…', [{ protocol: 'tcp', published: 8080, target: 80 }]);
 *   await br.detach(cid);
 */
import { join } from 'node:path';
import type { Logger } from '../../../common/logger.ts';
import { GatewayBridge, type GatewayPort } from '../gateway.ts';

/** Docker's default bridge subnet. */
export const DEFAULT_BRIDGE_SUBNET = '172.17.0.0/16';
/** Name of the bridge device. */
export const DEFAULT_BRIDGE_NAME = 'shoal0';

/** Options of the default bridge. */
export interface DefaultBridgeOptions {
  /** The state is kept in `<dataRoot>/network/bridge.json`. */
  dataRoot: string;
  logger: Logger;
  /** Default {@link DEFAULT_BRIDGE_SUBNET}. */
  subnet?: string;
  /** How long the bridge stays after its last container left, ms; default 30 000. */
  idleMs?: number;
}

/** The default bridge, opened on first use. Calls are serialized by the gateway underneath. */
export class DefaultBridge {
  private gw?: Promise<GatewayBridge>;
  /** attach/detach/restore one at a time: a detach that removes the bridge never races an attach. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Removes the idle bridge when it fires; cleared by an attach. */
  private idleTimer?: NodeJS.Timeout;

  constructor(private readonly opts: DefaultBridgeOptions) {}

  private open(): Promise<GatewayBridge> {
    this.gw ??= GatewayBridge.open({
      dataRoot: this.opts.dataRoot, logger: this.opts.logger, subnet: this.opts.subnet ?? DEFAULT_BRIDGE_SUBNET,
      stateFile: join(this.opts.dataRoot, 'network', 'bridge.json'), bridgeName: DEFAULT_BRIDGE_NAME, namePrefix: 'sb', isolate: false,
    });
    this.gw.catch(() => { this.gw = undefined; });
    return this.gw;
  }

  /** The gateway address containers route through. */
  async gateway(): Promise<string> { return (await this.open()).gateway; }

  /** The subnet (`A.B.C.D/N`). */
  get subnet(): string { return this.opts.subnet ?? DEFAULT_BRIDGE_SUBNET; }

  /** Host ports (`PROTO/PORT`) published by attached containers. */
  async publishedPorts(): Promise<Set<string>> {
    const gw = await this.open();
    return new Set(gw.publishedPorts().map((p) => `${p.protocol}/${p.published}`));
  }

  /**
   * Gives container `cid` (netns `/run/netns/<netns>`, made, `lo` up) `eth0` on the bridge
   * and publishes `ports`. Returns its address. Throws GatewayError (nothing changed) on
   * a port taken or a full subnet.
   */
  attach(cid: string, netns: string, ports: readonly GatewayPort[]): Promise<string> {
    return this.serial(async () => {
      clearTimeout(this.idleTimer);
      const gw = await this.open();
      // The executor made the netns for this container moments ago: nothing of it exists yet.
      await gw.attach(cid, netns, 0, ports, { fresh: true });
      return gw.addressOf(cid)!;
    });
  }

  /** Removes the container's veth and ports; the bridge and its table go `idleMs` after the last one. Idempotent. */
  detach(cid: string): Promise<void> {
    return this.serial(async () => {
      const gw = await this.open();
      await gw.detach(cid);
      if (gw.attachedCount() > 0) return;
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => void this.removeIfIdle().catch((err) => this.opts.logger.warn('bridge: could not remove the idle bridge', { error: err })), this.opts.idleMs ?? 30_000);
      this.idleTimer.unref();
    });
  }

  /** Removes the bridge and its table when no container is attached. */
  private removeIfIdle(): Promise<void> {
    return this.serial(async () => {
      const gw = await this.open();
      if (gw.attachedCount() === 0) await gw.removeAll();
    });
  }

  /** Daemon stop: an idle bridge goes now (one with containers stays for them and the next daemon). */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    if (this.gw) await this.removeIfIdle();
  }

  /** At daemon start: re-adopts the saved state (containers still running keep their address); removes all if none is left. */
  restore(): Promise<void> {
    return this.serial(async () => {
      const gw = await this.open();
      if (gw.attachedCount() === 0) await gw.removeAll();
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
