/**
 * Keeps one node's routing-mesh table in step with its published ports, as
 * {@link VipTable} does for a sandbox's VIPs: renders the whole table and, when (and only
 * when) the text changes, applies it in one transaction (whole at first or when its hook
 * chains change, else only its maps, sets and per-port chains); updates are serialized
 * and a burst collapses into the newest.
 *
 * It also resets established TCP connections DNATed to backends that are gone (issue 22,
 * item 4; see gone-backends.ts and mesh.ts): a backend address that left every published
 * port counts as gone after its drain time, and a timer re-renders the table when that
 * happens without any other change. The memory is keyed by address alone, across ports,
 * so an address taken again by another task is never reset.
 */
import type { NftRunner } from './nft.ts';
import { MESH_TABLE, renderMeshReplace, renderMeshTable, renderMeshUpdate, type MeshOptions, type PublishedPort } from './mesh.ts';
import { GoneBackends, GoneRefresh, realSetTimer, type GoneTiming, type SetTimer } from './gone-backends.ts';
import { tableName } from './nft-text.ts';

/** A published port as the table is given it: `drainMs` times its leaving backends. */
export interface MeshPort extends PublishedPort {
  /**
   * How long a backend that leaves may still serve its open connections before they are
   * reset (its service's stop grace plus the agent's drain), ms; absent: the default of
   * {@link GoneTiming}. Not rendered.
   */
  readonly drainMs?: number;
}

/** Options of {@link MeshTable}. */
export interface MeshTableOptions {
  /** When a backend that left counts as gone, and for how long (gone-backends.ts). */
  gone?: GoneTiming;
  /** Wall clock, ms (default Date.now). */
  now?: () => number;
  /** Runs `fn` after `ms`; returns a cancel function (default setTimeout, unref'd). */
  setTimer?: SetTimer;
}

/** The one key of the gone memory: every port's backends together. */
const ALL = 'mesh';

/** A node's mesh table; `sync` the desired ports, `remove` when the node publishes none. */
export class MeshTable {
  private appliedText: string | undefined;
  /** What `appliedText` was rendered from (the base of an in-place update). */
  private appliedFrom: { ports: PublishedPort[]; opts: MeshOptions } | undefined;
  private queue: Promise<void> = Promise.resolve();
  private wanted: { ports: readonly MeshPort[]; opts: MeshOptions } | undefined;
  private readonly gone: GoneBackends;
  private readonly now: () => number;
  private readonly refresh: GoneRefresh;

  constructor(private readonly runner: NftRunner, opts: MeshTableOptions = {}) {
    this.gone = new GoneBackends(opts.gone);
    this.now = opts.now ?? Date.now;
    this.refresh = new GoneRefresh(opts.setTimer ?? realSetTimer);
  }

  /** Whether a table is applied (as far as this object knows). */
  get applied(): boolean {
    return this.appliedText !== undefined;
  }

  /**
   * Makes the table match `ports` (throws `LbSpecError` at once on a bad spec). Resolves
   * when the newest desired state is applied; rejects with `NftError` if that apply
   * fails (the next `sync` tries again).
   */
  sync(ports: readonly MeshPort[], opts: MeshOptions): Promise<void> {
    renderMeshTable(ports, opts); // validate now, before queueing
    const all = (list: readonly MeshPort[]) => new Map([[ALL, [...new Set(list.flatMap((p) => p.backends))]]]);
    const drains = [...(this.wanted?.ports ?? []), ...ports].map((p) => p.drainMs).filter((d): d is number => d !== undefined);
    const prev = this.wanted?.ports ?? [];
    this.gone.note(all(prev), all(ports), this.now(), () => (drains.length ? Math.max(...drains) : undefined));
    this.wanted = { ports, opts };
    return this.enqueue(() => this.flush());
  }

  /** Removes the table (also when it was never applied) and forgets the gone backends' timer. */
  remove(opts: { table?: string } = {}): Promise<void> {
    this.wanted = undefined;
    this.refresh.stop();
    const table = tableName(opts, MESH_TABLE);
    return this.enqueue(async () => {
      this.appliedText = undefined;
      await this.runner.apply(`table ip ${table}\ndelete table ip ${table}\n`);
    });
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => {});
    return next;
  }

  /** The desired ports with the gone backends at `now` (on each port: rendering takes their union). */
  private decorate(now: number): PublishedPort[] {
    const gone = this.gone.active(now).get(ALL) ?? [];
    return (this.wanted?.ports ?? []).map((p) => (gone.length ? { ...p, gone: [...(p.gone ?? []), ...gone] } : p));
  }

  /** Re-renders when the gone set will change by time alone. */
  private arm(now: number): void {
    this.refresh.arm(this.gone.nextChange(now), now, () => {
      if (this.wanted !== undefined) this.enqueue(() => this.flush()).catch(() => {});
    });
  }

  private async flush(): Promise<void> {
    const w = this.wanted;
    if (w === undefined) return;
    const now = this.now();
    const ports = this.decorate(now);
    this.arm(now);
    const text = renderMeshTable(ports, w.opts);
    if (text === this.appliedText) return;
    // Same hook chains: only the maps, sets and per-port chains change (mesh.ts says why).
    const from = this.appliedText === undefined ? undefined : this.appliedFrom;
    const update = from && renderMeshUpdate(from.ports, from.opts, ports, w.opts);
    this.appliedText = undefined; // unknown until this apply succeeds: the next one replaces the whole table
    await this.runner.apply(update ?? renderMeshReplace(ports, w.opts));
    this.appliedText = text;
    this.appliedFrom = { ports, opts: w.opts };
  }
}
