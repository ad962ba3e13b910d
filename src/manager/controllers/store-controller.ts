/**
 * The one shape every leader-only controller has (SwarmKit's): `start()` makes an
 * initial pass, then store events only mark work dirty and the work happens after the
 * commit marker, one pass at a time, writing back through `store.update`; `stop()`
 * ends it. A pass that fails (a write that lost a race, no quorum) is retried after a
 * short delay. A watch the store closes (snapshot restored) starts over from a full pass.
 */
import type { Kind, MemoryStore, ObjectEvent } from '../../store/index.ts';
import type { Logger } from '../../common/logger.ts';
import { turnsOf } from './turns.ts';

/** Delay before a failed pass runs again, ms. */
const RETRY_MS = 200;

/**
 * How long after the first of a burst of arrivals (tasks placed, or reaching running)
 * a controller looks at them, all at once, ms (`markLater`). Starting 10,000 tasks
 * brings thousands of status commits; a full pass per commit was most of the leader's
 * time, and what the controllers decide never waits on a task coming up, so a short
 * delay costs nothing.
 */
export const RUNNING_COALESCE_MS = 200;

/**
 * A timer a controller keeps at most one of (a coalescing delay, a retry, a wake): `arm`
 * sets it unless it is set, `disarm` cancels it. It is unset when it fires and when its
 * controller stops (`StoreController.onceTimer`), so a new term arms its own; a stopped
 * controller arms none.
 */
export class OnceTimer {
  private isArmed = false;
  private cancel?: () => void;

  /** `set` starts a timer and returns its cancel; `live` says whether arming is allowed now. */
  constructor(
    private readonly set: (ms: number, fn: () => void) => () => void,
    private readonly live: () => boolean,
  ) {}

  /** True from `arm` until the timer fires, is disarmed, or its controller stops. */
  get armed(): boolean {
    return this.isArmed;
  }

  /** Runs `fn` in `ms` unless already armed (or the controller is stopped); returns whether it armed. */
  arm(ms: number, fn: () => void): boolean {
    if (this.isArmed || !this.live()) return false;
    this.isArmed = true;
    this.cancel = this.set(ms, () => {
      this.isArmed = false;
      this.cancel = undefined;
      fn();
    });
    return true;
  }

  /** Cancels the timer if armed; a later `arm` sets a new one. */
  disarm(): void {
    const cancel = this.cancel;
    this.isArmed = false;
    this.cancel = undefined;
    cancel?.();
  }
}

export abstract class StoreController {
  private unsubscribe?: () => void;
  private scheduled = false;
  private running = false;
  private again = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Every `onceTimer` of this controller: disarmed on stop. */
  private readonly onceTimers: OnceTimer[] = [];
  /** Runs a failed pass again after `RETRY_MS` (a new failure sets it again). */
  private readonly retry = this.onceTimer();
  /** `markLater`'s coalescing delay. */
  private readonly laterTimer = this.onceTimer();
  /** Keys given to `markLater` since its timer was set; handed to `onLater` when it fires. */
  private readonly later = new Set<string>();
  protected stopped = true;

  constructor(
    protected readonly store: MemoryStore,
    protected readonly logger: Logger,
    private readonly kinds: readonly Kind[],
  ) {}

  /** Starts watching and runs a full pass. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.subscribe();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const t of this.onceTimers) t.disarm();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.later.clear(); // its timer is gone; the next start's full pass covers them
  }

  private subscribe(): void {
    this.unsubscribe = this.store.subscribe((e) => {
      if (e.kind === 'commit') this.kick();
      else this.onEvent(e);
    }, {
      kinds: this.kinds,
      onClose: (err) => {
        if (this.stopped || !err) return;
        this.subscribe();
      },
    });
    this.markAll();
    this.kick();
  }

  /** Marks everything dirty (initial pass, re-sync). */
  protected abstract markAll(): void;
  /** Marks what an event makes dirty. Called synchronously inside the store's apply: cheap, no writes. */
  protected abstract onEvent(e: ObjectEvent): void;
  /** One pass over what is dirty. Throwing makes the pass run again after a delay. */
  protected abstract pass(): Promise<void>;

  /**
   * Runs a pass soon (after the current apply), coalescing many commits into one pass;
   * the store's controllers take turns (`turns.ts`), so one commit never runs all their
   * passes in one stretch of the event loop.
   */
  protected kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    turnsOf(this.store).next(() => {
      this.scheduled = false;
      void this.loop();
    });
  }

  /**
   * Marks dirty at a later time (a restart delay ends): runs `fn`, then a pass, in `ms`
   * unless the controller stopped meanwhile. Returns the timer's cancel.
   */
  protected at(ms: number, fn: () => void): () => void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.stopped) return;
      fn();
      this.kick();
    }, Math.max(0, ms));
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  /**
   * A set-once timer of this controller (a field initialiser's call): each firing runs its
   * `fn` through `at`, then a pass; `stop()` disarms it.
   */
  protected onceTimer(): OnceTimer {
    const t = new OnceTimer((ms, fn) => this.at(ms, fn), () => !this.stopped);
    this.onceTimers.push(t);
    return t;
  }

  /**
   * Marks `key` dirty `RUNNING_COALESCE_MS` after the first key of a burst, with every key
   * marked meanwhile (through `onLater`): arrivals make one pass, not one per commit.
   */
  protected markLater(key: string): void {
    // Without an onLater the keys would go nowhere: a programming error, logged here, in the
    // caller's stretch, and dropped, rather than thrown from a timer (which would end the daemon).
    if (this.onLater === StoreController.prototype.onLater) {
      this.logger.error('store controller: markLater without onLater; key dropped', { controller: this.constructor.name, key });
      return;
    }
    this.later.add(key);
    this.laterTimer.arm(RUNNING_COALESCE_MS, () => {
      const keys = [...this.later];
      this.later.clear();
      this.onLater(keys);
    });
  }

  /**
   * Marks dirty what `markLater` was given. A controller calling `markLater` overrides it;
   * this one is never called (markLater refuses to arm its timer without an override).
   */
  protected onLater(_keys: readonly string[]): void {}

  private async loop(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        if (this.stopped) return;
        try {
          await this.pass();
        } catch (err) {
          this.logger.debug('controller pass failed; retrying', { error: err });
          this.retry.disarm(); // the delay counts from the last failure
          this.retry.arm(RETRY_MS, () => {}); // the pass after it is the retry
        }
      } while (this.again);
    } finally {
      this.running = false;
    }
  }
}
