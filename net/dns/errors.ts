/** Errors of the embedded DNS, one class per kind. */

/** A bad server option, such as an upstream that is not `IPv4[:port]`. Not retryable. */
export class DnsConfigError extends Error {
  override name = 'DnsConfigError';
  readonly retryable = false;
  constructor(message: string) { super(`dns: ${message}`); }
}

/** A socket could not be bound inside a network namespace. Retryable (the namespace may be in setup). */
export class NetnsBindError extends Error {
  override name = 'NetnsBindError';
  readonly retryable = true;
  constructor(message: string, opts?: { cause?: unknown }) { super(`dns: ${message}`, opts); }
}
