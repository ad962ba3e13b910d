/** The volume store's kinds of expected failure; the API maps them to 400, 404 and 409. */

/** A request that names something the store cannot do (400 at the API boundary). */
export class VolumeInvalidError extends Error {
  override name = 'VolumeInvalidError';
}
/** No volume of that name (404). */
export class NoSuchVolumeError extends Error {
  override name = 'NoSuchVolumeError';
  constructor(readonly volume: string) { super(`get ${volume}: no such volume`); }
}
/** The volume is used by containers (409); the message is Docker's. */
export class VolumeInUseError extends Error {
  override name = 'VolumeInUseError';
  constructor(readonly volume: string, readonly containers: string[]) {
    super(`remove ${volume}: volume is in use - [${containers.join(' ')}]`);
  }
}
