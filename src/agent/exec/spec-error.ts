/**
 * A task spec that cannot become a container (bad mount, no command, a device or user that
 * does not resolve): the task fails with this message, and retrying cannot help. In a module
 * of its own so that the spec builder and the resolvers it calls (`users.ts`, `devices.ts`)
 * can all throw it without importing one another.
 */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  readonly retryable = false;
  constructor(message: string) { super(`exec: ${message}`); }
}
