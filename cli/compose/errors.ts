/**
 * The one error kind of the compose module: a compose file that cannot be deployed.
 * The message names where (`FILE:LINE: services.web.ports[0]: …`) whenever it is known.
 */

/** A path into the compose document: map keys and sequence indices. */
export type ComposePath = readonly (string | number)[];

/** A compose file that is invalid, or asks for something Shoal cannot apply. Not retryable. */
export class ComposeError extends Error {
  override readonly name = 'ComposeError';
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message.startsWith('compose: ') ? message : `compose: ${message}`, options);
  }
}

/** A conversion error that carries the document path it is about, so the loader can add FILE:LINE. */
export class ComposePathError extends ComposeError {
  constructor(readonly path: ComposePath, readonly reason: string) {
    super(`${formatPath(path)}: ${reason}`);
  }
}

/** `services.web.ports[0].published`. */
export function formatPath(path: ComposePath): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(root)';
}
