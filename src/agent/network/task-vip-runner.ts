/**
 * How a task's VIP table reaches its netns: through the task's own long-lived `nft -i`
 * (`NftSession`, ≈ 3–5 ms an apply once it runs), started by its first apply while the
 * agent's nft spawner works (nft-spawner.pl: a fork of a small helper and nft's exec, no
 * fork of the daemon). When the spawner does not work (no perl, it crashed), a session
 * start would fork the daemon itself, so the first applies go through the agent's pooled
 * shell (`nsenter … nft -f`) and the session is started off the attach path.
 *
 * Why the session from the first apply: the shell's apply is a process start too (sh's
 * fork, nsenter's and nft's execs), and the task's session then cost a second nft start
 * later. Measured with `npm run bench -- dataplane --rounds 1`, 20 attaches at once on a
 * warm sandbox, three pairs alternating (2026-12-07, load ~2-4): shell first 447, 448,
 * 438 ms (42 forks a wave); session first 368, 357, 328 ms (20 forks). Before the spawner
 * (sessions forked from the daemon) the session first was the slower: 441 against 389.
 */
import type { NftRunner, NftSession } from '../../../net/lb/index.ts';

export class TaskVipRunner implements NftRunner {
  private warming = false;

  /**
   * `later(start)`: runs `start` when the agent has time for it (after the attaches in
   * flight, one at a time); a failed start is retried by the next cold apply.
   * `sessionFirst()`: whether a session not running yet should start for this apply (the
   * spawner works) rather than the shell apply it.
   */
  constructor(
    private readonly session: Pick<NftSession, 'pid' | 'apply' | 'warm'>,
    private readonly cold: NftRunner,
    private readonly later: (start: () => Promise<void>) => void,
    private readonly sessionFirst: () => boolean = () => false,
  ) {}

  async apply(text: string): Promise<void> {
    if (this.session.pid !== undefined || this.sessionFirst()) return this.session.apply(text);
    await this.cold.apply(text);
    if (this.warming) return;
    this.warming = true;
    this.later(() => this.session.warm().finally(() => { this.warming = false; }));
  }
}
