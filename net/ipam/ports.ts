/**
 * Published ports of the routing mesh (ingress mode): unique per protocol across the
 * swarm, a requested port checked, a left-out one assigned from 30000–32767 (as Docker
 * Swarm's). Pure, plain storable state, like `ipam.ts`.
 */
import { InUseError, InvalidAddressError, PoolExhaustedError } from './errors.ts';

/** First and last port handed out when none is requested. */
export const DYNAMIC_PORTS = { first: 30000, last: 32767 } as const;

/** Taken ports: `tcp/8080` → owner (a service id). Store as is. */
export interface PortState {
  readonly ports: Readonly<Record<string, string>>;
}

/** A port to publish: `published` absent means "pick one". */
export interface PortRequest {
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly published?: number;
}

/** No ports taken. */
export function createPortState(): PortState {
  return { ports: {} };
}

/**
 * Takes a published port for `owner`: the requested one when free (or already the owner's),
 * else the lowest free port of `DYNAMIC_PORTS`. Throws `InvalidAddressError`,
 * `InUseError` (naming the port and its owner) or `PoolExhaustedError`.
 */
export function allocatePort(state: PortState, owner: string, req: PortRequest): { state: PortState; port: number } {
  if (!['tcp', 'udp', 'sctp'].includes(req.protocol)) throw new InvalidAddressError(`invalid protocol "${String(req.protocol)}"`);
  let port: number;
  if (req.published !== undefined) {
    if (!Number.isInteger(req.published) || req.published < 1 || req.published > 65535) {
      throw new InvalidAddressError(`invalid published port "${req.published}"`);
    }
    const holder = state.ports[key(req.protocol, req.published)];
    if (holder === owner) return { state, port: req.published };
    if (holder !== undefined) throw new InUseError(`port '${req.published}/${req.protocol}' is already in use by service '${holder}'`);
    port = req.published;
  } else {
    port = -1;
    for (let p = DYNAMIC_PORTS.first; p <= DYNAMIC_PORTS.last; p++) {
      if (state.ports[key(req.protocol, p)] === undefined) { port = p; break; }
    }
    if (port < 0) throw new PoolExhaustedError(`no free ${req.protocol} port in ${DYNAMIC_PORTS.first}-${DYNAMIC_PORTS.last}`);
  }
  return { state: { ports: { ...state.ports, [key(req.protocol, port)]: owner } }, port };
}

/** Frees every port of `owner` (a removed service, or before re-allocating an updated one). */
export function releasePorts(state: PortState, owner: string): PortState {
  const ports = Object.fromEntries(Object.entries(state.ports).filter(([, o]) => o !== owner));
  return Object.keys(ports).length === Object.keys(state.ports).length ? state : { ports };
}

function key(protocol: string, port: number): string {
  return `${protocol}/${port}`;
}
