/** Pieces of `nft -f` text shared by the VIP and routing-mesh tables (nft 1.0.6 syntax). */
import { formatAddress, parseAddress } from '../ipam/cidr.ts';
import { LbSpecError } from './errors.ts';

/**
 * How a rule picks a backend for a new connection: the one address, or `numgen random mod
 * MOD` looked up in a map of `entries` (each a range FROM–TO of the number, inclusive).
 */
export type PickPlan =
  | { readonly kind: 'one'; readonly addr: string }
  | { readonly kind: 'map'; readonly mod: number; readonly entries: readonly { readonly from: number; readonly to: number; readonly addr: string }[] };

/**
 * The plan for `backends`: one backend, else a numgen map over all of them. With `weights`
 * (address → integer ≥ 0; absent addresses weigh 1) each backend gets a share of new
 * connections proportional to its weight, as ranges of `numgen random mod SUM`; weight 0
 * leaves a backend out (all 0: every backend weighs the same).
 */
export function pickPlan(backends: readonly string[], weights?: Readonly<Record<string, number>>): PickPlan {
  if (backends.length === 1) return { kind: 'one', addr: backends[0] };
  const ws = backends.map((b) => weights?.[b] ?? 1);
  if (!weights || ws.every((w) => w === ws[0]) || ws.every((w) => w === 0)) {
    return { kind: 'map', mod: backends.length, entries: backends.map((addr, i) => ({ from: i, to: i, addr })) };
  }
  const live = backends.map((b, i) => ({ b, w: ws[i] })).filter((x) => x.w > 0);
  if (live.length === 1) return { kind: 'one', addr: live[0].b };
  const g = live.reduce((a, x) => gcd(a, x.w), 0);
  let at = 0;
  const entries = live.map(({ b, w }) => {
    const n = w / g;
    const e = { from: at, to: at + n - 1, addr: b };
    at += n;
    return e;
  });
  return { kind: 'map', mod: at, entries };
}

/** {@link pickPlan} of `backends` as `nft` text. */
export function pick(backends: readonly string[], weights?: Readonly<Record<string, number>>): string {
  return pickText(pickPlan(backends, weights));
}

/** A plan as `nft` text: `A`, or `numgen random mod N map { 0 : A, 1-3 : B }`. */
export function pickText(p: PickPlan): string {
  if (p.kind === 'one') return p.addr;
  return `numgen random mod ${p.mod} map { ${p.entries.map((e) => `${e.from === e.to ? e.from : `${e.from}-${e.to}`} : ${e.addr}`).join(', ')} }`;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Weights for {@link pick}, checked: integers 0–1,000,000 keyed by canonical address. */
export function weightsOf(weights: Readonly<Record<string, number>> | undefined, service: string): Record<string, number> | undefined {
  if (!weights) return undefined;
  const out: Record<string, number> = {};
  for (const [a, w] of Object.entries(weights)) {
    if (!Number.isInteger(w) || w < 0 || w > 1_000_000) throw new LbSpecError(`invalid weight ${w} of backend ${a} of service "${service}"`);
    out[addr(a, `weighted backend of service "${service}"`)] = w;
  }
  return out;
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

/**
 * A canonical IPv4 address, or `LbSpecError` naming `what` (its cause net/ipam's refusal):
 * the text goes into `nft -f` input, so only a plain dotted quad passes.
 */
export function addr(text: string, what: string): string {
  try {
    return formatAddress(parseAddress(text));
  } catch (e) {
    throw new LbSpecError(`invalid ${what}: "${text}"`, { cause: e });
  }
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

/** A table's own (non-hook) chain: its name and rules. */
export interface NamedChain { name: string; rules: string[] }

/**
 * The `nft -f` text that refills table `ip TABLE`'s maps and sets with `sets` and turns its
 * own chains `was` into `chains` (flushed and refilled, added or deleted) in one transaction,
 * its hook chains untouched: the in-place update shared by the VIP and mesh tables
 * (ruleset.ts's `renderUpdate` says why not a whole-table replacement).
 */
export function renderInPlace(table: string, sets: readonly { kind: 'map' | 'set'; name: string; items: string[] }[], was: readonly NamedChain[], chains: readonly NamedChain[]): string {
  const t = `ip ${table}`;
  const old = new Set(was.map((x) => x.name));
  const now = new Set(chains.map((x) => x.name));
  return [
    // Emptied first: a deleted chain must have no map element pointing at it.
    ...sets.map((s) => `flush ${s.kind} ${t} ${s.name}`),
    ...[...old].filter((n) => !now.has(n)).map((n) => `delete chain ${t} ${n}`),
    ...chains.flatMap((x) => [old.has(x.name) ? `flush chain ${t} ${x.name}` : `add chain ${t} ${x.name}`, ...x.rules.map((r) => `add rule ${t} ${x.name} ${r}`)]),
    ...sets.filter((s) => s.items.length).map((s) => `add element ${t} ${s.name} { ${s.items.join(', ')} }`),
  ].join('\n') + '\n';
}
