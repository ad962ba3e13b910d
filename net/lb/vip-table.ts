/**
 * Keeps one sandbox's VIP table in step with the desired services: renders the whole
 * table and replaces it in one transaction when (and only when) the text changes.
 * Updates are serialized; a burst of updates while one applies collapses into the
 * newest.
 */
import type { NftRunner } from './nft.ts';
import { renderDelete, renderReplace, renderTable, type RulesetOptions, type VipService } from './ruleset.ts';

/** A sandbox's VIP table; `sync` the desired services, `remove` at sandbox teardown. */
export class VipTable {
  private appliedText: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  private wanted: readonly VipService[] | undefined;

  constructor(private readonly runner: NftRunner, private readonly opts: RulesetOptions = {}) {}

  /**
   * Makes the table match `services` (throws `LbSpecError` at once on a bad spec).
   * Resolves when the newest desired state is applied; rejects with `NftError` if that
   * apply fails (the next `sync` tries again).
   */
  sync(services: readonly VipService[]): Promise<void> {
    renderTable(services, this.opts); // validate now, before queueing
    this.wanted = services;
    const next = this.chain.then(() => this.flush());
    this.chain = next.catch(() => {});
    return next;
  }

  /** Removes the table (also when it was never applied). */
  remove(): Promise<void> {
    this.wanted = undefined;
    const next = this.chain.then(async () => { await this.runner.apply(renderDelete(this.opts)); this.appliedText = undefined; });
    this.chain = next.catch(() => {});
    return next;
  }

  private async flush(): Promise<void> {
    const services = this.wanted;
    if (services === undefined) return;
    const table = renderTable(services, this.opts);
    if (table === this.appliedText) return;
    await this.runner.apply(renderReplace(services, this.opts));
    this.appliedText = table;
  }
}
