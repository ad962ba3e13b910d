/**
 * Who may read the dashboard. On a loopback address anyone on the machine may (as with
 * a local `docker` socket's read side), but only through a loopback `Host:` name, so a
 * web page elsewhere cannot read it by DNS rebinding. On any other address every request
 * carries the bearer token printed when the daemon starts: as `Authorization: Bearer …`,
 * or as the cookie that opening `/?token=…` once sets (a browser cannot add headers to a
 * page it navigates to). Pure: decisions only, no sockets.
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** The cookie that carries the token after `/?token=…`. */
export const TOKEN_COOKIE = 'shoal_dashboard';

/** Whether `ip` is a loopback address (127.0.0.0/8, ::1, ::ffff:127.x). */
export function isLoopback(ip: string): boolean {
  if (isIP(ip) === 4) return ip.startsWith('127.');
  const v6 = ip.toLowerCase();
  return v6 === '::1' || v6.startsWith('::ffff:127.');
}

/** What a request presents. */
export interface Presented {
  /** The `Host:` header. */
  host?: string;
  /** The `Authorization:` header. */
  authorization?: string;
  /** The `Cookie:` header. */
  cookie?: string;
}

/** The answer: allowed, or refused with the status and message to send. */
export type AuthDecision = { ok: true } | { ok: false; status: 401 | 403; message: string };

/** Compares two secrets in constant time. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The value of cookie `name` in a `Cookie:` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}

/** The host part of a `Host:` header (`[::1]:8080` → `::1`, `localhost:80` → `localhost`). */
function hostName(header: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(header);
  if (m) return m[1];
  const i = header.lastIndexOf(':');
  return i >= 0 && header.indexOf(':') === i ? header.slice(0, i) : header;
}

/**
 * Decides one request. `token` undefined means the loopback mode (no token, loopback
 * `Host:` names only); otherwise the token must be presented.
 */
export function authorize(p: Presented, token: string | undefined): AuthDecision {
  if (token === undefined) {
    const name = hostName(p.host ?? '').toLowerCase();
    if (name === 'localhost' || (isIP(name) !== 0 && isLoopback(name))) return { ok: true };
    return { ok: false, status: 403, message: `dashboard: host "${p.host ?? ''}" refused: the dashboard listens on loopback; open it as http://127.0.0.1:PORT/` };
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(p.authorization ?? '')?.[1];
  const given = bearer ?? cookieValue(p.cookie, TOKEN_COOKIE);
  if (given !== undefined && sameSecret(given, token)) return { ok: true };
  return { ok: false, status: 401, message: 'dashboard: a token is required: open /?token=TOKEN (printed by the daemon at start) or send "Authorization: Bearer TOKEN"' };
}

/** Whether `given` (from `/?token=…`) is the token. */
export function tokenMatches(given: string, token: string): boolean {
  return sameSecret(given, token);
}
