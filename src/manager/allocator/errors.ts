/**
 * IPAM errors (net/ipam) turned into the API's error classes, keeping the HTTP status
 * IPAM chose for each kind, so the routes can report them as they are.
 */
import { ApiError, ConflictError, InvalidArgumentError, NotFoundError } from '../../api/errors.ts';
import { IpamError } from '../../../net/ipam/index.ts';

/** The API error for an IPAM error (same message and status); anything else is returned unchanged. */
export function toApiError(err: unknown): unknown {
  if (!(err instanceof IpamError)) return err;
  const message = err.message.replace(/^ipam: /, '');
  switch (err.status) {
    case 400: return new InvalidArgumentError(message, { cause: err });
    case 404: return new NotFoundError(message, { cause: err });
    case 409: return new ConflictError(message, { cause: err });
    default: return new ApiError(message, err.status, { cause: err });
  }
}

/** A short message for any error (logs and `Status.Err`). */
export function messageOf(err: unknown): string {
  const e = toApiError(err);
  return e instanceof Error ? e.message : String(e);
}
