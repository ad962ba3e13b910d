/**
 * Task veths deleted from a sandbox a wave at a time: every delete asked for while the
 * sandbox's previous wave runs (or in the same turn of the event loop) goes in one batch
 * that puts the veths in one interface group and deletes the group
 * (`link set V group G` …, `link del group G`).
 *
 * Why: the kernel waits for an RCU grace period per deleted device (≈ 20–30 ms each on
 * the lab), one after another, so 20 tasks detached at once spent ≈ 600 ms in 20 single
 * `link del`s; a group goes in one `unregister_netdevice_many`, one wait for all
 * (≈ 40 ms for 20, labs/bench/dataplane.ts `detach20_ms`). The devices gone are the same.
 *
 * A wave that fails (a veth already gone, a refused line) falls back to one `link del` per
 * veth, each failure ignored as before: a veth not made yet, or gone with its netns, is no
 * error of the detach.
 */

/** Runs `ip` batch lines in a netns (the agent's `IpBatchRunner.runIn`). */
export type RunIn = (netns: string, lines: readonly string[]) => Promise<void>;

/** Interface groups used for waves: far from 0 (the default) and from small numbers an admin might use. */
const GROUP_BASE = 0x5e000000;
const GROUP_SPAN = 0x00ffffff;

/**
 * The lines of one wave: each veth into `group`, then the group deleted. Pure. One veth
 * is plainly `link del` (no group needed).
 */
export function waveLines(veths: readonly string[], group: number): string[] {
  if (veths.length === 1) return [`link del ${veths[0]}`];
  if (!Number.isInteger(group) || group <= 0 || group > 0xffffffff) throw new RangeError(`veth-wave: bad interface group ${group}`);
  return [...veths.map((v) => `link set ${v} group ${group}`), `link del group ${group}`];
}

interface Ask { veth: string; done: () => void }

/** Coalesces veth deletes per sandbox netns into waves (see the file comment). */
export class VethWaves {
  private readonly queued = new Map<string, Ask[]>();
  private readonly running = new Set<string>();
  private nextGroup = 0;

  /** `onWave`: called with each wave's netns and size (tests). */
  constructor(private readonly runIn: RunIn, private readonly opts: { onWave?: (netns: string, size: number) => void } = {}) {}

  /** Deletes `veth` in `netns` in the next wave; resolves when that wave is done, never rejects. */
  delete(netns: string, veth: string): Promise<void> {
    return new Promise((done) => {
      let q = this.queued.get(netns);
      if (!q) this.queued.set(netns, (q = []));
      q.push({ veth, done });
      // One wave per netns at a time; the next starts when it ends. A first ask waits for
      // the end of this turn, so detaches asked together share the wave.
      if (q.length === 1 && !this.running.has(netns)) setImmediate(() => this.next(netns));
    });
  }

  private next(netns: string): void {
    if (this.running.has(netns)) return;
    const asks = this.queued.get(netns);
    this.queued.delete(netns);
    if (!asks?.length) return;
    this.running.add(netns);
    void this.wave(netns, asks).finally(() => {
      this.running.delete(netns);
      for (const a of asks) a.done();
      if (this.queued.has(netns)) this.next(netns);
    });
  }

  private async wave(netns: string, asks: Ask[]): Promise<void> {
    const veths = [...new Set(asks.map((a) => a.veth))];
    this.opts.onWave?.(netns, veths.length);
    this.nextGroup = (this.nextGroup % GROUP_SPAN) + 1;
    try {
      await this.runIn(netns, waveLines(veths, GROUP_BASE + this.nextGroup));
    } catch {
      // One by one, as before waves: the wave stopped at a line (a veth gone already), and
      // the veths grouped before it are deleted by their own line here.
      if (veths.length > 1) await Promise.all(veths.map((v) => this.runIn(netns, [`link del ${v}`]).catch(() => {})));
    }
  }
}
