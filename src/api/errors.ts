/**
 * The kinds of error the control API reports, one class per kind, each with the HTTP
 * status Docker's Engine API uses for it. The server maps them to `{"message": …}`
 * responses at the boundary only (`src/common/router.ts`); the client turns
 * responses back into `ApiError`.
 */

/** Base of every error the API reports to a client; `status` is the HTTP status code. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 400: the request is malformed or names a bad value; nothing was changed. */
export class InvalidArgumentError extends ApiError {
  override name = 'InvalidArgumentError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 400, options);
  }
}

/** 404: the object does not exist. */
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 404, options);
  }
}

/** 409: the request conflicts with the current state (name in use, update out of sequence). */
export class ConflictError extends ApiError {
  override name = 'ConflictError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 409, options);
  }
}

/** 503: the node cannot serve the request now (not in a swarm, no quorum); retryable. */
export class UnavailableError extends ApiError {
  override name = 'UnavailableError';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 503, options);
  }
}
