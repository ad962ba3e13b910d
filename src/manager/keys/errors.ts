/**
 * The errors of the key hierarchy, one class per kind, each an `ApiError` with the
 * status and the words Docker's daemon uses (`daemon/cluster/errors.go`), so the
 * control API can pass them through unchanged.
 */
import { ApiError, ConflictError, InvalidArgumentError, UnavailableError } from '../../api/errors.ts';

/** Docker's answer on a locked manager, for every swarm request until `swarm unlock` (503). */
export const SWARM_LOCKED_MESSAGE = 'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';

/** 503: this manager's keys are sealed by the unlock key and it has not been given it yet. */
export class SwarmLockedError extends UnavailableError {
  override name = 'SwarmLockedError';
  constructor() {
    super(SWARM_LOCKED_MESSAGE);
  }
}

/** 401: the unlock key opens nothing here (Docker's invalidUnlockKey, an Unauthorized error). */
export class InvalidUnlockKeyError extends ApiError {
  override name = 'InvalidUnlockKeyError';
  constructor(options?: { cause?: unknown }) {
    super('swarm could not be unlocked: invalid key provided', 401, options);
  }
}

/** 400: the text is not an unlock key at all (`SWMKEY-1-` and 32 bytes of base64). */
export class MalformedUnlockKeyError extends InvalidArgumentError {
  override name = 'MalformedUnlockKeyError';
  constructor(detail: string) {
    super(`invalid key string: ${detail}`);
  }
}

/** 409: `swarm unlock` on a node whose swarm is not locked (Docker's notLockedError). */
export class NotLockedError extends ConflictError {
  override name = 'NotLockedError';
  constructor() {
    super('swarm is not locked');
  }
}

/** The key files are damaged or of an unknown format: an operator must look (never silently replaced). */
export class KeyFileError extends Error {
  override name = 'KeyFileError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(`keys: ${message}`, options);
  }
}
