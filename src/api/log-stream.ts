/**
 * Docker's log stream, both ends. Pure.
 *
 * - The multiplexed stream (`stdcopy`): each frame is an 8-byte header — stream type
 *   (0 stdin, 1 stdout, 2 stderr, 3 system error), three zero bytes, the payload length
 *   as a big-endian uint32 — then the payload.
 * - A line of `…/logs` is `[TIMESTAMP ][DETAILS ]MESSAGE`: the timestamp in RFC 3339
 *   with nanoseconds (`timestamps=1`), the details as `k=v,k=v` with keys sorted and
 *   both sides query-escaped (`details=1`; service logs carry `com.docker.swarm.node.id`,
 *   `…service.id`, `…task.id`).
 */

/** Stream types of the frame header. */
export const STDOUT = 1;
export const STDERR = 2;
/** Docker's "system error" stream: the daemon's own error, shown by the client. */
export const SYSTEMERR = 3;

/** One frame of the multiplexed stream. */
export function encodeFrame(stream: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** A decoded frame. */
export interface Frame { stream: number; payload: Buffer }

/** Decodes frames as bytes arrive; keeps a partial frame for the next push. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the complete frames. Throws on a header that is not Docker's. */
  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.pending.length >= 8) {
      const stream = this.pending[0];
      if (stream > 3 || this.pending[1] || this.pending[2] || this.pending[3]) throw new Error(`logs: not a multiplexed stream (header byte ${stream})`);
      const len = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + len) break;
      out.push({ stream, payload: this.pending.subarray(8, 8 + len) });
      this.pending = this.pending.subarray(8 + len);
    }
    return out;
  }

  /** Bytes of a frame not complete yet. */
  get buffered(): number {
    return this.pending.length;
  }
}

/** Go's `url.QueryEscape` (space as `+`), as Docker escapes details. */
function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function queryUnescape(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

/** Details as Docker writes them: sorted by key, escaped, comma-separated. */
export function formatDetails(attrs: Record<string, string>): string {
  return Object.keys(attrs).sort().map((k) => `${queryEscape(k)}=${queryEscape(attrs[k])}`).join(',');
}

/** Parses details written by {@link formatDetails}; throws on a pair without `=`. */
export function parseDetails(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!s) return out;
  for (const pair of s.split(',')) {
    const i = pair.indexOf('=');
    if (i < 0) throw new Error(`logs: invalid details ${JSON.stringify(pair)}`);
    out[queryUnescape(pair.slice(0, i))] = queryUnescape(pair.slice(i + 1));
  }
  return out;
}

/** An ISO time (ms) as Docker's RFC3339NanoFixed (`…05.678000000Z`). */
export function nanoTime(iso: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(new Date(iso).toISOString());
  if (!m) return iso;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}

/** What a line of `…/logs` is made of. */
export interface LogLine { time?: string; details?: Record<string, string>; message: string }

/** Builds a line's payload; the message keeps its newline (one is added when it had none). */
export function formatLine(l: LogLine): string {
  let out = '';
  if (l.time !== undefined) out += `${nanoTime(l.time)} `;
  if (l.details !== undefined) out += `${formatDetails(l.details)} `;
  return out + (l.message.endsWith('\n') ? l.message : `${l.message}\n`);
}

/** Splits a payload asked with the given options back into its parts. */
export function parseLine(payload: string, opts: { timestamps: boolean; details: boolean }): LogLine {
  let rest = payload;
  const out: LogLine = { message: '' };
  const take = () => {
    const i = rest.indexOf(' ');
    const head = i < 0 ? rest : rest.slice(0, i);
    rest = i < 0 ? '' : rest.slice(i + 1);
    return head;
  };
  if (opts.timestamps) out.time = take();
  if (opts.details) out.details = parseDetails(take());
  out.message = rest;
  return out;
}
