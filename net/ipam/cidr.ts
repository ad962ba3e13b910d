/**
 * IPv4 addresses and prefixes as 32-bit unsigned integers: parsing, formatting and the few
 * set operations IPAM needs. Pure; no state. The one IPv4 parser of `net/` (the nft text
 * of net/lb uses it too, on its hot path: hence its own parse of the dotted quad). The
 * `ip-address` library classifies what is not IPv4 (`ipVersion`), off the hot path: to tell
 * a user that an IPv6 address or subnet is not supported yet rather than merely "invalid".
 */
import { Address4, Address6 } from 'ip-address';
import { InvalidAddressError } from './errors.ts';

/** An IPv4 prefix: `base` is the network address (host bits zero), `bits` the prefix length. */
export interface Prefix {
  readonly base: number;
  readonly bits: number;
}

/** Four decimal octets without leading zeros (`010` could be read as octal: refused). */
const DOTTED = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/**
 * Parses a dotted-quad IPv4 address (four decimal octets ≤ 255, no leading zeros, nothing
 * around them); throws `InvalidAddressError` naming `what` and the value.
 */
export function parseAddress(text: string, what = 'address'): number {
  const n = dotted(text);
  if (n === undefined) throw invalid(text, what);
  return n;
}

/** `parseAddress` without the throw (a prefix's address part: its own refusal names the whole prefix). */
function dotted(text: string): number | undefined {
  const m = DOTTED.exec(text);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return undefined;
    n = n * 256 + o;
  }
  return n;
}

/**
 * Which IP version `text` is written in (an address, or a prefix `ADDR/N`), by the
 * `ip-address` library; `undefined` if it is neither.
 */
export function ipVersion(text: string): 4 | 6 | undefined {
  if (Address4.isValid(text)) return 4;
  if (Address6.isValid(text)) return 6;
  return undefined;
}

/** The refusal of a value that is not a dotted-quad IPv4 address or prefix: says so when it is IPv6. */
function invalid(text: string, what: string): InvalidAddressError {
  const why = ipVersion(text) === 6 ? ': IPv6 is not supported yet' : '';
  return new InvalidAddressError(`invalid ${what} "${text}"${why}`);
}

/** Formats a 32-bit unsigned integer as a dotted quad. */
export function formatAddress(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * Parses `A.B.C.D/N`. Host bits must be zero (`10.0.0.1/24` is refused, as Docker refuses
 * it for `--subnet`); throws `InvalidAddressError` naming `what` and the value.
 */
export function parsePrefix(text: string, what = 'subnet'): Prefix {
  const slash = text.indexOf('/');
  const bad = () => invalid(text, what);
  if (slash < 0 || !/^\d{1,2}$/.test(text.slice(slash + 1))) throw bad();
  const bits = Number(text.slice(slash + 1));
  if (bits > 32) throw bad();
  const base = dotted(text.slice(0, slash));
  if (base === undefined) throw bad();
  if ((base & ~mask(bits)) >>> 0 !== 0) {
    throw new InvalidAddressError(`invalid ${what} "${text}": host bits set (did you mean "${formatPrefix({ base: (base & mask(bits)) >>> 0, bits })}"?)`);
  }
  return { base, bits };
}

/** Formats a prefix as `A.B.C.D/N`. */
export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.base)}/${p.bits}`;
}

/** The netmask of a prefix length as an unsigned integer (`mask(24)` = 0xffffff00). */
export function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** Number of addresses in the prefix (2^(32-bits)). */
export function size(p: Prefix): number {
  return 2 ** (32 - p.bits);
}

/** The last address of the prefix (its broadcast address). */
export function last(p: Prefix): number {
  return p.base + size(p) - 1;
}

/** Whether `addr` lies inside `p`. */
export function containsAddress(p: Prefix, addr: number): boolean {
  return addr >= p.base && addr <= last(p);
}

/** Whether `inner` lies entirely inside `outer`. */
export function containsPrefix(outer: Prefix, inner: Prefix): boolean {
  return inner.bits >= outer.bits && containsAddress(outer, inner.base);
}

/** Whether two prefixes share any address. */
export function overlaps(a: Prefix, b: Prefix): boolean {
  return a.base <= last(b) && b.base <= last(a);
}
