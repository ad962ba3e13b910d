/**
 * CA errors. A certificate that does not verify (wrong CA, expired, not a node
 * certificate) is a `CertificateError`; bad requests from joining nodes (malformed
 * CSR, bad token) are the API's `InvalidArgumentError`, since they reach clients.
 */

/** A certificate or key failed to parse or verify. Not retryable. */
export class CertificateError extends Error {
  override name = 'CertificateError';
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
