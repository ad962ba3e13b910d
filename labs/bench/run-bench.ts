/**
 * Runs one benchmark with SIGINT/SIGTERM turned into an orderly abort. Without this a
 * signal ends the process at once and no `finally` of the bench runs: a dataplane bench
 * killed mid-way left 25 `shoaldp*` network namespaces behind. Here the first signal
 * aborts the `signal` handed to the bench (a bench that waits on it, or checks it between
 * rounds, stops early), then waits for the bench's promise to settle, so its finally
 * blocks and clean-ups run, and exits 128 + the signal's number. A bench that ignores the
 * abort runs to its end (then its clean-up runs); after `graceMs` the process exits
 * anyway, saying so. A second signal exits at once, skipping what clean-up is left (labs
 * brought up by `withLab` take themselves down on the first signal: see labs/lib/lab.ts).
 */
import { constants } from 'node:os';

/** What a benchmark module exports; `ctx.signal` is aborted on SIGINT/SIGTERM. */
export interface BenchModule {
  run(args: string[], ctx?: BenchContext): Promise<void>;
}

/** What the dispatcher hands a bench besides its arguments. */
export interface BenchContext {
  /** Aborted (reason: a {@link BenchAbortedError}) when the process gets SIGINT or SIGTERM. */
  signal: AbortSignal;
}

/** The reason of an aborted bench's signal. */
export class BenchAbortedError extends Error {
  override name = 'BenchAbortedError';
  constructor(readonly signal: NodeJS.Signals) {
    super(`bench: aborted by ${signal}`);
  }
}

/** Options of {@link runBench}. */
export interface RunBenchOptions {
  /** How long to wait for an aborted bench to clean up, ms. Default 120000. */
  graceMs?: number;
  /** Where messages go. Default console.error. */
  log?: (msg: string) => void;
}

/**
 * Runs `run(args, { signal })` and resolves with the process exit code it calls for: 0
 * when the bench ended normally, 1 when it threw, 128 + signo after a signal (whatever
 * the bench did then). Signal handlers are removed when it resolves.
 */
export async function runBench(run: BenchModule['run'], args: string[], opts: RunBenchOptions = {}): Promise<number> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const controller = new AbortController();
  let caught: NodeJS.Signals | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let giveUp: (code: number) => void = () => {};
  const gaveUp = new Promise<number>((r) => (giveUp = r));
  const onSignal = (sig: NodeJS.Signals) => {
    const code = 128 + constants.signals[sig];
    if (caught) {
      log(`bench: ${sig} again: exiting without waiting for the clean-up`);
      process.exit(code);
    }
    caught = sig;
    log(`bench: ${sig}: aborting; waiting for the bench to clean up (send it again to exit at once)`);
    controller.abort(new BenchAbortedError(sig));
    graceTimer = setTimeout(() => {
      log(`bench: the bench did not finish its clean-up within ${opts.graceMs ?? 120_000} ms of ${sig}; exiting`);
      giveUp(code);
    }, opts.graceMs ?? 120_000);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const outcome = run(args, { signal: controller.signal }).then(
      () => 0,
      (err: unknown) => {
        // The abort's own error is expected once a signal came; anything else is reported.
        if (!(caught && err === controller.signal.reason)) log(String((err as Error)?.stack ?? err));
        return 1;
      },
    );
    const code = await Promise.race([outcome, gaveUp]);
    return caught ? 128 + constants.signals[caught] : code;
  } finally {
    clearTimeout(graceTimer);
    process.removeListener('SIGINT', onSignal).removeListener('SIGTERM', onSignal);
  }
}
