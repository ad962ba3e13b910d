/** Errors of standalone containers; the HTTP boundary maps them to status codes. */

/** A create (or update) body that asks for something refused (400) or not implemented (501). */
export class CreateConfigError extends Error {
  override readonly name = 'CreateConfigError';
  readonly retryable = false;
  /**
   * 400: the value is malformed; 501: a real Docker feature Shoal does not do; 409: conflicts with the node's state;
   * 403 / 404 / 503: a swarm network refused (not attachable), missing, or no leader to ask.
   */
  constructor(message: string, readonly status: 400 | 403 | 404 | 409 | 501 | 503 = 400) { super(message); }
}
