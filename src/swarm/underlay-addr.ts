/**
 * Underlay addresses of nodes (pure): what may be a node's VXLAN tunnel endpoint or its
 * advertised swarm address. A bad value here must never reach a peer table, where one
 * unusable entry would make a node's whole FDB/neighbour batch fail.
 */

/** True for an IPv4 unicast address (dotted quad): not 0/8, not multicast, not broadcast. Loopback passes. */
export function isUnicastIPv4(ip: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return false;
  const o = m.slice(1).map(Number);
  return !o.some((x) => x > 255) && o[0] !== 0 && o[0] < 224;
}

/** An IPv4 unicast address with a port, as `resolveAdvertiseAddr` makes them: `A.B.C.D:PORT`. */
export function isUnicastIPv4Port(addr: string): boolean {
  const m = /^(.+):(\d{1,5})$/.exec(addr);
  return !!m && isUnicastIPv4(m[1]) && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

/** The swarm port, when a heartbeat names none that is valid. */
const DEFAULT_SWARM_PORT = 2377;

/**
 * A connection's remote address as a node's underlay IPv4 address: IPv4-mapped IPv6 is
 * unwrapped; anything that is not an IPv4 unicast address (multicast, broadcast,
 * unspecified, IPv6) is undefined. Loopback passes: it is where a node on the same host
 * really is.
 */
export function underlayIp(remote: string | undefined): string | undefined {
  const ip = remote?.startsWith('::ffff:') ? remote.slice(7) : remote;
  return ip && isUnicastIPv4(ip) ? ip.split('.').map(Number).join('.') : undefined;
}

/** The port of a heartbeat's `IP:PORT`, or the swarm port when it has none that is valid. */
export function portOf(addr: string): number {
  const m = /:(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[1]) : 0;
  return port >= 1 && port <= 65535 ? port : DEFAULT_SWARM_PORT;
}

/** Whether `ip` may be a VXLAN tunnel endpoint in a peer table: a canonical IPv4 unicast address. */
export function isVtepAddr(ip: string): boolean {
  return underlayIp(ip) === ip;
}
