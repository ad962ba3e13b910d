/**
 * Applies the overlay's data-path tuning (`net/overlay/tuning.ts` says what and why):
 * br_netfilter off in each sandbox, and the node's VXLAN traffic exempt from conntrack.
 * Neither is needed for the overlay to work, only for it to run at the underlay's speed,
 * so a failure is logged and the sandbox is used as it is (the next sandbox tries the
 * node table again).
 *
 *   const tuning = new OverlayTuning(sh, { logger, hostNetns });
 *   await tuning.apply('sb-1a2b3c', '192.168.1.5');   // after the sandbox's devices exist; its VTEP
 *   await tuning.remove();             // swarm leave
 */
import type { Logger } from '../../common/logger.ts';
import { renderVxlanNotrack, renderVxlanNotrackDelete, sandboxSysctlArgv } from '../../../net/overlay/tuning.ts';
import type { ShellBatch } from './shell-batch.ts';
import { ShellNft } from './shell-runners.ts';
import { KeyedLock } from '../../common/serial.ts';

/** Options of {@link OverlayTuning}. */
export interface OverlayTuningOptions {
  logger: Logger;
  /** The node's netns name (labs whose hosts are namespaces); default the daemon's own. */
  hostNetns?: string;
  /** VXLAN UDP port; default 4789. */
  port?: number;
}

/** The tuning of one node's overlay data path. */
export class OverlayTuning {
  private readonly nft: ShellNft;
  /** The node table, once applied (reset on failure so the next sandbox tries again). */
  private host: Promise<boolean> | undefined;

  constructor(private readonly sh: ShellBatch, private readonly opts: OverlayTuningOptions) {
    this.nft = new ShellNft(sh, opts.hostNetns);
  }

  /** The node's VTEP addresses seen so far: the node table matches received VXLAN by them (tuning.ts). */
  private readonly vteps = new Set<string>();
  /** Node-table writes one at a time, in call order: the last one (listing every VTEP) is the one that stays. */
  private readonly writes = new KeyedLock();

  /**
   * The VTEP addresses of sandboxes a previous agent made (a restart): listed again in the
   * next node-table write, without a write now (the table from before the restart still
   * lists them). Without this, the first sandbox made after a restart would write the table
   * with its own address only, and the surviving sandboxes' VXLAN (an encrypted one's, on
   * its tunnel address) would go back to conntrack.
   */
  seed(vteps: readonly string[]): void {
    for (const v of vteps) if (!this.vteps.has(v) && this.valid(v)) this.vteps.add(v);
  }

  /**
   * Tunes a sandbox whose devices were just made, and the node once (again when `vtep`,
   * the sandbox's local VTEP address, is one the node table does not list yet). Resolves
   * whether all of it applied; never throws.
   */
  async apply(sandbox: string, vtep?: string): Promise<boolean> {
    if (vtep !== undefined && !this.vteps.has(vtep) && this.valid(vtep)) {
      this.vteps.add(vtep);
      this.host = undefined; // the table must list it: written again, after any write in flight
    }
    const [sb, node] = await Promise.all([this.sandbox(sandbox), this.node()]);
    return sb && node;
  }

  /** Whether the node table can match `vtep` (an IPv4 address); if not, it keeps its FIB lookup for it. */
  private valid(vtep: string): boolean {
    try {
      renderVxlanNotrack({ localAddresses: [vtep] });
      return true;
    } catch (err) {
      this.opts.logger.warn('network: VXLAN to this VTEP address stays matched by a FIB lookup', { vtep, error: err });
      return false;
    }
  }

  /** br_netfilter off in the sandbox's netns (a no-op where the module is not loaded). */
  private async sandbox(netns: string): Promise<boolean> {
    const r = await this.sh.run(['nsenter', `--net=/run/netns/${netns}`, ...sandboxSysctlArgv()]);
    if (r.code === 0) return true;
    this.opts.logger.warn('network: could not turn br_netfilter off in a sandbox; its bridged frames take the IP hooks', { netns, stderr: r.stderr.trim().slice(-300) });
    return false;
  }

  /** The VXLAN notrack table in the node's netns, applied once per agent. */
  private node(): Promise<boolean> {
    if (this.host) return this.host;
    // Rendered when its turn comes, with every address known by then.
    const write = () => this.nft.apply(renderVxlanNotrack({ port: this.opts.port, localAddresses: [...this.vteps] }));
    const p: Promise<boolean> = this.writes.run('node', write).then(() => true, (err: unknown) => {
      this.opts.logger.warn('network: could not exempt VXLAN from conntrack', { error: err });
      if (this.host === p) this.host = undefined;
      return false;
    });
    this.host = p;
    return p;
  }

  /** Removes the node table (swarm leave). Throws `NftError` if nft refuses. */
  async remove(): Promise<void> {
    this.host = undefined;
    await this.writes.run('node', () => this.nft.apply(renderVxlanNotrackDelete()));
  }
}
