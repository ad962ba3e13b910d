/** Errors of the WireGuard underlay, one class per kind. */

/** A configuration that cannot be programmed (bad key, endpoint, address). Not retryable. */
export class WireGuardSpecError extends Error {
  override name = 'WireGuardSpecError';
  readonly retryable = false;
  constructor(message: string) { super(`wireguard: ${message}`); }
}

/** The device could not be made, configured or kept running (`ip`/`wg` refused, timed out, `wireguard-go` died). Retryable. */
export class WireGuardDeviceError extends Error {
  override name = 'WireGuardDeviceError';
  readonly retryable = true;
  constructor(message: string, opts?: { cause?: unknown }) { super(`wireguard: ${message}`, opts); }
}
