/** Errors of the embedded DNS, one class per kind. */

/** A bad server option, such as an upstream that is not `IPv4[:port]`. Not retryable. */
export class DnsConfigError extends Error {
  override name = 'DnsConfigError';
  readonly retryable = false;
  constructor(message: string) { super(`dns: ${message}`); }
}
