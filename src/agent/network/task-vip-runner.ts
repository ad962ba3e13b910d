/**
 * How a task's VIP table reaches its netns: through the task's own long-lived `nft -i`
 * (`NftSession`, ≈ 3–5 ms an apply, no process start) once that runs, and until then
 * through the agent's pooled shell (`nsenter … nft -f`), asking for the session to be
 * started off the attach path.
 *
 * Why not the session from the first apply: a task's first apply is part of its attach, and
 * starting a session is a process start (through nft-spawner.pl: a fork of a small helper
 * and nft's exec) competing with the attach's own work on the node's cores. Measured with
 * `npm run bench -- dataplane` (medians of 3), 20 attaches at once: 441 ms with a session
 * started by each attach (then forked from the daemon itself), 389 before sessions, 408
 * with the spawner and the session started after the attaches in flight. Rotation changes
 * come later, when the session runs.
 */
import type { NftRunner, NftSession } from '../../../net/lb/index.ts';

export class TaskVipRunner implements NftRunner {
  private warming = false;

  /**
   * `later(start)`: runs `start` when the agent has time for it (after the attaches in
   * flight, one at a time); a failed start is retried by the next cold apply.
   */
  constructor(private readonly session: Pick<NftSession, 'pid' | 'apply' | 'warm'>, private readonly cold: NftRunner, private readonly later: (start: () => Promise<void>) => void) {}

  async apply(text: string): Promise<void> {
    if (this.session.pid !== undefined) return this.session.apply(text);
    await this.cold.apply(text);
    if (this.warming) return;
    this.warming = true;
    this.later(() => this.session.warm().finally(() => { this.warming = false; }));
  }
}
