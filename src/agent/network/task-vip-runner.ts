/**
 * How a task's VIP table reaches its netns.
 *
 * - Its first table (part of the task's attach), and a whole table after a failed apply, go
 *   as one nf_tables netlink batch through the agent's netns helper (`netlink`:
 *   net/lb/vip-netlink.ts): no process at all. Should that fail, the table goes as text.
 * - Text (rotation changes) goes through the task's own long-lived `nft -i` (`NftSession`,
 *   ≈ 3–5 ms an apply once it runs). After a netlink first table the session is started off
 *   the attach path (`later`). Without netlink, while the agent's nft spawner works
 *   (nft-spawner.pl: a fork of a small helper and nft's exec, no fork of the daemon), the
 *   session starts with the first apply; when the spawner does not work (no perl, it
 *   crashed), a session start would fork the daemon itself, so applies go through the
 *   agent's pooled shell (`nsenter … nft -f`) until the session, started later, runs.
 *
 * Measured with `npm run bench -- dataplane --rounds 1`, 20 attaches at once on a warm
 * sandbox, alternating (2026-12-07, load ~2-4): the first table through the shell with the
 * session started after the attaches 447, 448, 438 ms (42 forks a wave); the session
 * started by the first apply 368, 357, 328 ms (20 forks). The netlink figures are in the
 * commit that made it the first path and in the README's `dataplane` row.
 */
import type { NftRunner, NftSession, RulesetOptions, VipRunner, VipService } from '../../../net/lb/index.ts';
import { renderReplace } from '../../../net/lb/index.ts';

export interface TaskVipRunnerParts {
  session: Pick<NftSession, 'pid' | 'apply' | 'warm'>;
  /** The pooled shell's `nsenter … nft -f`. */
  cold: NftRunner;
  /** Runs `start` when the agent has time for it (after the attaches in flight, one at a time); a failed start is retried by the next cold apply. */
  later: (start: () => Promise<void>) => void;
  /** Whether a session not running yet should start for a text apply (the spawner works) rather than the shell apply it. */
  sessionFirst?: () => boolean;
  /** A whole table as one netlink batch (rejects, having changed nothing, when it cannot); absent: text only. */
  netlink?: (services: readonly VipService[], opts: RulesetOptions) => Promise<void>;
}

export class TaskVipRunner implements VipRunner {
  private warming = false;
  /** How the last whole table went (the attach's debug line says it). */
  lastWhole: 'netlink' | 'text' | undefined;

  constructor(private readonly parts: TaskVipRunnerParts) {}

  async apply(text: string): Promise<void> {
    const { session, cold, sessionFirst } = this.parts;
    if (session.pid !== undefined || sessionFirst?.()) return session.apply(text);
    await cold.apply(text);
    this.warmLater();
  }

  async replaceVips(services: readonly VipService[], opts: RulesetOptions): Promise<void> {
    if (this.parts.netlink) {
      try {
        await this.parts.netlink(services, opts);
        this.lastWhole = 'netlink';
        if (this.parts.session.pid === undefined) this.warmLater();
        return;
      } catch {
        // Nothing was applied: the same table as text says why, if it fails too.
      }
    }
    await this.apply(renderReplace(services, opts));
    this.lastWhole = 'text';
  }

  /** Asks for the session to be started off the apply path, once until it ran or failed. */
  private warmLater(): void {
    if (this.warming) return;
    this.warming = true;
    this.parts.later(() => this.parts.session.warm().finally(() => { this.warming = false; }));
  }
}
