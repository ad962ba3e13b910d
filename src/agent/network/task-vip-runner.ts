/**
 * How a task's VIP table reaches its netns.
 *
 * - As nf_tables netlink batches through the agent's netns helper (`netlink`:
 *   net/lb/vip-netlink.ts): the first table (part of the task's attach), and every change
 *   after it, with no process at all. When a batch fails, the same change goes as text.
 * - Text (without the helper, or after a failed batch) goes through the task's own
 *   long-lived `nft -i` (`NftSession`, ≈ 3–5 ms an apply once it runs). While the agent's
 *   nft spawner works (nft-spawner.pl: a fork of a small helper and nft's exec, no fork of
 *   the daemon), the session starts with the first text apply; when it does not (no perl,
 *   it crashed), a session start would fork the daemon itself, so text goes through the
 *   agent's pooled shell (`nsenter … nft -f`) until the session, started later, runs.
 *
 * Measured with `npm run bench -- dataplane --rounds 1`, 20 attaches at once on a warm
 * sandbox, alternating (2026-12-07, load ~2-4): the first table through the shell with the
 * session started after the attaches 447, 448, 438 ms (42 forks a wave); the session
 * started by the first apply 368, 357, 328 ms (20 forks); `--rounds 3` with the first table
 * as a netlink batch (a session per task started after the attaches, for changes): 98.5 ms
 * (98–112), 2 forks; with every change as netlink, no session: 68.4 ms (59–71), no fork.
 */
import type { NftRunner, NftSession, RulesetOptions, VipRunner, VipService } from '../../../net/lb/index.ts';
import { encodeVipReplace, encodeVipUpdate, renderReplace, renderUpdate } from '../../../net/lb/index.ts';

export interface TaskVipRunnerParts {
  session: Pick<NftSession, 'pid' | 'apply' | 'warm'>;
  /** The pooled shell's `nsenter … nft -f`. */
  cold: NftRunner;
  /** Runs `start` when the agent has time for it (after the attaches in flight, one at a time); a failed start is retried by the next cold apply. */
  later: (start: () => Promise<void>) => void;
  /** Whether a session not running yet should start for a text apply (the spawner works) rather than the shell apply it. */
  sessionFirst?: () => boolean;
  /**
   * Sends one nf_tables batch in the task's netns; absent: text only. A batch the kernel
   * refused changed nothing; one whose answer was lost (the helper died after sending) may
   * have been applied, and the text sent after it then fails or repeats it: either way the
   * table's next sync starts from a whole replacement (VipTable forgets a failed apply).
   */
  netlink?: (batch: { bytes: Buffer; lastSeq: number }) => Promise<void>;
  /**
   * Told of each failed batch (the error, and how many failed for this task so far) before
   * the text fallback runs: a node where every batch fails would otherwise show it only as
   * `vip.by=text` on attaches.
   */
  onNetlinkFailure?: (err: unknown, failures: number) => void;
}

export class TaskVipRunner implements VipRunner {
  private warming = false;
  /** How the last whole table went (the attach's debug line says it). */
  lastWhole: 'netlink' | 'text' | undefined;
  /** Batches that failed for this task (each change then went as text). */
  netlinkFailures = 0;

  constructor(private readonly parts: TaskVipRunnerParts) {}

  async apply(text: string): Promise<void> {
    const { session, cold, sessionFirst } = this.parts;
    if (session.pid !== undefined || sessionFirst?.()) return session.apply(text);
    await cold.apply(text);
    this.warmLater();
  }

  async replaceVips(services: readonly VipService[], opts: RulesetOptions): Promise<void> {
    if (await this.viaNetlink(() => encodeVipReplace(services, opts))) {
      this.lastWhole = 'netlink';
      return;
    }
    await this.apply(renderReplace(services, opts));
    this.lastWhole = 'text';
  }

  async updateVips(applied: readonly VipService[], services: readonly VipService[], opts: RulesetOptions): Promise<void> {
    if (await this.viaNetlink(() => encodeVipUpdate(applied, services, opts))) return;
    await this.apply(renderUpdate(applied, services, opts));
  }

  /** True when the batch went; false when there is no netlink path or the batch failed (see `netlink`). */
  private async viaNetlink(batch: () => { bytes: Buffer; lastSeq: number }): Promise<boolean> {
    if (!this.parts.netlink) return false;
    try {
      await this.parts.netlink(batch());
      return true;
    } catch (err) {
      this.parts.onNetlinkFailure?.(err, ++this.netlinkFailures);
      return false; // the same change goes as text
    }
  }

  /** Asks for the session to be started off the apply path, once until it ran or failed. */
  private warmLater(): void {
    if (this.warming) return;
    this.warming = true;
    this.parts.later(() => this.parts.session.warm().finally(() => { this.warming = false; }));
  }
}
