/** Errors of IPAM, one class per kind; messages name the bad value. None is retryable. */

/** Base of IPAM errors: `status` is the HTTP status Docker's API uses for it. */
export class IpamError extends Error {
  override name = 'IpamError';
  readonly status: number = 400;
  readonly retryable: boolean = false;
}

/** A subnet, gateway, range, address or pool that does not parse or does not fit. */
export class InvalidAddressError extends IpamError {
  override name = 'InvalidAddressError';
  constructor(message: string) { super(`ipam: ${message}`); }
}

/** No subnet left in the pools, no address left in a network, or no VXLAN ID left. */
export class PoolExhaustedError extends IpamError {
  override name = 'PoolExhaustedError';
  override readonly status = 503;
  constructor(what: string) { super(`ipam: pool exhausted: ${what}`); }
}

/** A requested subnet overlaps the subnet of an existing network. */
export class OverlapError extends IpamError {
  override name = 'OverlapError';
  override readonly status = 409;
  constructor(subnet: string, network: string) { super(`ipam: subnet "${subnet}" overlaps with network "${network}"`); }
}

/** A requested address, VNI or network id is already taken. */
export class InUseError extends IpamError {
  override name = 'InUseError';
  override readonly status = 409;
  constructor(message: string) { super(`ipam: ${message}`); }
}

/** The network id is unknown to IPAM. */
export class UnknownNetworkError extends IpamError {
  override name = 'UnknownNetworkError';
  override readonly status = 404;
  constructor(id: string) { super(`ipam: no such network "${id}"`); }
}
