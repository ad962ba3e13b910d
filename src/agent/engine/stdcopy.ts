/**
 * Docker's multiplexed stream framing (`application/vnd.docker.multiplexed-stream`):
 * each frame is an 8-byte header (stream byte: 0 stdin, 1 stdout, 2 stderr; three zero
 * bytes; big-endian uint32 payload length) and the payload. Used by logs and exec
 * without a TTY; with a TTY the stream is raw. Pure.
 */

/** Stream numbers of the header's first byte. */
export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;

/** One frame carrying `payload` on `stream`. */
export function frame(stream: 0 | 1 | 2, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** Splits a multiplexed byte stream back into frames; keeps a partial frame for the next push. */
export class Demuxer {
  private buf: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the complete frames. Throws on a header with an unknown stream byte. */
  push(chunk: Buffer): { stream: number; payload: Buffer }[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: { stream: number; payload: Buffer }[] = [];
    while (this.buf.length >= 8) {
      const stream = this.buf[0];
      if (stream > 3) throw new Error(`stdcopy: bad stream byte ${stream}`);
      const len = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + len) break;
      out.push({ stream, payload: this.buf.subarray(8, 8 + len) });
      this.buf = this.buf.subarray(8 + len);
    }
    return out;
  }
}
