/** Pieces of `nft -f` text shared by the VIP and routing-mesh tables (nft 1.0.6 syntax). */
import { formatAddress, parseAddress } from '../ipam/cidr.ts';
import { LbSpecError } from './errors.ts';

/** `A` for one backend, else a numgen map over all of them. */
export function pick(backends: readonly string[]): string {
  if (backends.length === 1) return backends[0];
  return `numgen random mod ${backends.length} map { ${backends.map((b, i) => `${i} : ${b}`).join(', ')} }`;
}

/** An `elements = { … }` line, or none for an empty set or map (nft refuses `{ }`). */
export function elements(items: string[]): string[] {
  return items.length === 0 ? [] : [`elements = { ${items.join(', ')} }`];
}

/** A block of lines; nft 1.0.6 refuses a statement and `}` on one line, so every line breaks. */
export function block(head: string, lines: string[]): string {
  return [`  ${head} {`, ...lines.map((l) => `    ${l}`), '  }'].join('\n');
}

/** A chain block. */
export function chain(name: string, lines: string[]): string {
  return block(`chain ${name}`, lines);
}

/** The table name from the options or `fallback`, checked. */
export function tableName(opts: { table?: string }, fallback: string): string {
  const t = opts.table ?? fallback;
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,30}$/.test(t)) throw new LbSpecError(`invalid table name "${t}"`);
  return t;
}

/** A name made safe for a chain name (lower case, `[a-z0-9_]`, ≤ 40 chars). */
export function sanitize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 40) || 'svc';
}

/** A canonical IPv4 address, or `LbSpecError` naming `what`. */
export function addr(text: string, what: string): string {
  try { return formatAddress(parseAddress(text)); } catch { throw new LbSpecError(`invalid ${what}: "${text}"`); }
}

/** An interface name, quoted for a ruleset (`"NAME"`), or `LbSpecError`: only what the kernel allows anyway. */
export function ifname(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new LbSpecError(`invalid interface name "${name}"`);
  return `"${name}"`;
}

/** A port 1–65535, or `LbSpecError` naming the service. */
export function port(n: number, service: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new LbSpecError(`invalid port "${n}" for service "${service}"`);
  return n;
}
