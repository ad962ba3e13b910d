/**
 * Variable interpolation in compose values, as Compose and `docker stack deploy` do it:
 * `$VAR`, `${VAR}`, `${VAR:-default}` / `${VAR-default}` (unset or empty / unset),
 * `${VAR:?err}` / `${VAR?err}` (fail), `${VAR:+alt}` / `${VAR+alt}` (replace when set),
 * `$$` for a literal `$`. Defaults may nest (`${A:-${B}}`). Only values are
 * interpolated, never keys. Pure: the environment is passed in.
 */
import { ComposePathError, type ComposePath } from './errors.ts';

/** Looks a variable up; undefined when unset. */
export type Lookup = (name: string) => string | undefined;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Interpolates one string; throws a ComposePathError (at `path`) for `${VAR:?err}` or bad syntax. */
export function interpolateString(s: string, env: Lookup, path: ComposePath = []): string {
  const [out, end] = scan(s, 0, env, path, false);
  if (end !== s.length) throw new ComposePathError(path, `invalid interpolation format for "${s}": unexpected "}"`);
  return out;
}

/** Scans from `i`; inside a default (`nested`), stops at the closing brace it does not own. */
function scan(s: string, i: number, env: Lookup, path: ComposePath, nested: boolean): [string, number] {
  let out = '';
  while (i < s.length) {
    const c = s[i];
    if (nested && c === '}') return [out, i];
    if (c !== '$') { out += c; i++; continue; }
    const next = s[i + 1];
    if (next === '$') { out += '$'; i += 2; continue; }
    if (next === '{') {
      const [value, end] = braced(s, i + 2, env, path);
      out += value;
      i = end;
      continue;
    }
    const m = NAME.exec(s.slice(i + 1));
    if (!m) throw new ComposePathError(path, `invalid interpolation format for "${s}": a "$" must be followed by a name, "{" or "$" (write "$$" for a literal "$")`);
    out += env(m[0]) ?? '';
    i += 1 + m[0].length;
  }
  if (nested) throw new ComposePathError(path, `invalid interpolation format for "${s}": missing "}"`);
  return [out, i];
}

/** `${…}` starting after the brace; returns the value and the index after the closing brace. */
function braced(s: string, i: number, env: Lookup, path: ComposePath): [string, number] {
  const m = NAME.exec(s.slice(i));
  if (!m) throw new ComposePathError(path, `invalid interpolation format for "${s}": a variable name must follow "\${"`);
  const name = m[0];
  i += name.length;
  if (s[i] === '}') return [env(name) ?? '', i + 1];
  if (i >= s.length) throw new ComposePathError(path, `invalid interpolation format for "${s}": missing "}"`);
  const op = s[i] === ':' ? s.slice(i, i + 2) : s[i];
  if (!op || !['-', '?', '+', ':-', ':?', ':+'].includes(op)) {
    throw new ComposePathError(path, `invalid interpolation format for "${s}": unknown operator after \${${name}`);
  }
  const [arg, end] = scan(s, i + op.length, env, path, true);
  const value = env(name);
  const missing = op.startsWith(':') ? value === undefined || value === '' : value === undefined;
  switch (op.slice(-1)) {
    case '-': return [missing ? arg : value!, end + 1];
    case '+': return [missing ? '' : arg, end + 1];
    default:
      if (missing) throw new ComposePathError(path, `required variable ${name} is missing a value${arg ? `: ${arg}` : ''}`);
      return [value!, end + 1];
  }
}

/** Interpolates every string value of a parsed document (keys untouched); returns a new tree. */
export function interpolate(value: unknown, env: Lookup, path: ComposePath = []): unknown {
  if (typeof value === 'string') return interpolateString(value, env, path);
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...path, k])]));
  }
  return value;
}
