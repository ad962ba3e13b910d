/**
 * Keeps one sandbox's VIP table in step with the desired services: renders the whole
 * table and, when (and only when) its text changes, applies it in one transaction: whole
 * the first time, later only what changed inside it (`renderUpdate`).
 * Updates are serialized; a burst of updates while one applies collapses into the
 * newest.
 *
 * It also resets established TCP connections to backends that are gone (see
 * gone-backends.ts and ruleset.ts), so a client of a backend that died does not hang;
 * a timer re-renders the table when a backend becomes gone without any other change.
 */
import type { NftRunner } from './nft.ts';
import { renderDelete, renderTable, renderUpdate, type RulesetOptions, type VipService } from './ruleset.ts';
import { GoneBackends, GoneRefresh, realSetTimer, type GoneTiming, type SetTimer } from './gone-backends.ts';

/**
 * Where a VIP table goes: `nft` text, and optionally straight from the services without
 * `nft` (netlink batches, vip-netlink.ts): a whole replacement (the first apply, and after a
 * failed one) and an in-place update from the services last applied. Each must change
 * nothing when it rejects.
 */
export interface VipRunner extends NftRunner {
  replaceVips?(services: readonly VipService[], opts: RulesetOptions): Promise<void>;
  updateVips?(applied: readonly VipService[], services: readonly VipService[], opts: RulesetOptions): Promise<void>;
}

/** Options of {@link VipTable}. */
export interface VipTableOptions extends RulesetOptions {
  /** When a backend that left counts as gone, and for how long (gone-backends.ts). */
  gone?: GoneTiming;
  /** Wall clock, ms (default Date.now). */
  now?: () => number;
  /** Runs `fn` after `ms`; returns a cancel function (default setTimeout, unref'd). */
  setTimer?: SetTimer;
}

/** A sandbox's VIP table; `sync` the desired services, `remove` at sandbox teardown. */
export class VipTable {
  private appliedText: string | undefined;
  /** The services `appliedText` was rendered from (the base of an incremental update). */
  private appliedServices: VipService[] = [];
  private chain: Promise<void> = Promise.resolve();
  /** The desired services as given (without gone backends); undefined once removed. */
  private wanted: readonly VipService[] | undefined;
  private readonly gone: GoneBackends;
  private readonly now: () => number;
  private readonly refresh: GoneRefresh;

  constructor(private readonly runner: VipRunner, private readonly opts: VipTableOptions = {}) {
    this.gone = new GoneBackends(opts.gone);
    this.now = opts.now ?? Date.now;
    this.refresh = new GoneRefresh(opts.setTimer ?? realSetTimer);
  }

  /** The desired services with each VIP's gone backends at `now`. */
  private decorate(now: number): VipService[] {
    const gone = this.gone.active(now);
    return (this.wanted ?? []).map((s) => (gone.has(s.vip) ? { ...s, gone: [...(s.gone ?? []), ...gone.get(s.vip)!] } : s));
  }

  /** Re-renders when the gone set will change by time alone. */
  private arm(now: number): void {
    this.refresh.arm(this.gone.nextChange(now), now, () => {
      if (this.wanted !== undefined) this.enqueue(() => this.flush()).catch(() => {});
    });
  }

  /**
   * Makes the table match `services` (throws `LbSpecError` at once on a bad spec).
   * Resolves when the newest desired state is applied; rejects with `NftError` if that
   * apply fails (the next `sync` tries again).
   */
  sync(services: readonly VipService[]): Promise<void> {
    renderTable(services, this.opts); // validate now, before queueing
    const vips = (list: readonly VipService[]) => new Map(list.map((x) => [x.vip, x.backends]));
    // A backend that left drains for its service's time: the newest known for its VIP.
    const drain = new Map([...(this.wanted ?? []), ...services].filter((x) => x.drainMs !== undefined).map((x) => [x.vip, x.drainMs!]));
    this.gone.note(vips(this.wanted ?? []), vips(services), this.now(), (vip) => drain.get(vip));
    this.wanted = services;
    return this.enqueue(() => this.flush());
  }

  /** Removes the table (also when it was never applied). */
  remove(): Promise<void> {
    this.wanted = undefined;
    this.refresh.stop();
    // Forgotten before the apply: should it fail, the table is in an unknown state and the next sync replaces it whole.
    return this.enqueue(async () => { this.appliedText = undefined; await this.runner.apply(renderDelete(this.opts)); });
  }

  /** Runs `fn` after every update queued before it (a failed one included). */
  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => {});
    return next;
  }

  private async flush(): Promise<void> {
    if (this.wanted === undefined) return;
    const now = this.now();
    const services = this.decorate(now);
    this.arm(now);
    const table = renderTable(services, this.opts);
    if (table === this.appliedText) return;
    // Known table: only its maps, sets and per-port chains change (see `renderUpdate` for why).
    // Else the whole table: from the services when the runner can, or renderReplace's text
    // (without rendering the table a second time).
    const whole = this.appliedText === undefined;
    // A failed apply changed nothing (one transaction), but start over whole to be safe.
    this.appliedText = undefined;
    if (whole && this.runner.replaceVips) await this.runner.replaceVips(services, this.opts);
    else if (!whole && this.runner.updateVips) await this.runner.updateVips(this.appliedServices, services, this.opts);
    else await this.runner.apply(whole ? renderDelete(this.opts) + table : renderUpdate(this.appliedServices, services, this.opts));
    this.appliedText = table;
    this.appliedServices = services;
  }
}
