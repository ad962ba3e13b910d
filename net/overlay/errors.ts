/** Errors of the overlay driver, one class per kind. */

/** A peer or sandbox description that cannot be programmed (bad MAC, address). Not retryable. */
export class OverlaySpecError extends Error {
  override name = 'OverlaySpecError';
  readonly retryable = false;
  constructor(message: string) { super(`overlay: ${message}`); }
}

/** `ip`/`bridge` refused a batch; `stderr` holds its words. */
export class BatchError extends Error {
  override name = 'BatchError';
  readonly retryable = true;
  constructor(message: string, readonly stderr: string, opts?: { cause?: unknown }) {
    super(`overlay: ${message}${stderr ? `: ${stderr.trim()}` : ''}`, opts);
  }
}
