/** Errors of the VIP load balancer, one class per kind. */

/** A VIP service description that cannot be rendered (bad address or port, duplicate VIP). */
export class LbSpecError extends Error {
  override name = 'LbSpecError';
  readonly retryable = false;
  constructor(message: string, opts?: { cause?: unknown }) { super(`lb: ${message}`, opts); }
}

/** `nft` refused a ruleset or could not be run; `stderr` holds its words. Retryable: the kernel state is unchanged. */
export class NftError extends Error {
  override name = 'NftError';
  readonly retryable = true;
  constructor(message: string, readonly stderr: string, opts?: { cause?: unknown }) {
    super(`lb: ${message}${stderr ? `: ${stderr.trim()}` : ''}`, opts);
  }
}
