/**
 * The wire of one exec on an exec helper's socket (exec-helper.py): a JSON request line,
 * then frames of TYPE(1) LENGTH(4, big-endian) PAYLOAD both ways. Pure.
 */

/** Frame types; the daemon sends STDIN, STDIN_EOF and RESIZE, the helper the rest. */
export const Frame = {
  STDIN: 0, STDOUT: 1, STDERR: 2, EXIT: 3, PID: 4, ERROR: 5, STDIN_EOF: 6, RESIZE: 7,
} as const;

/** What a helper said about one exec. */
export type HelperEvent =
  | { kind: 'pid'; pid: number }
  | { kind: 'stdout' | 'stderr'; data: Buffer }
  | { kind: 'error'; message: string }
  | { kind: 'exit'; code: number };

/** One frame of `type` carrying `payload`. */
export function encodeFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** A resize frame (terminal rows and columns, each 1..65535). */
export function resizeFrame(height: number, width: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(Math.min(65535, Math.max(1, height)), 0);
  b.writeUInt16BE(Math.min(65535, Math.max(1, width)), 2);
  return encodeFrame(Frame.RESIZE, b);
}

/** An exec helper sent a frame this daemon does not know (a version skew: a bug). */
export class HelperProtocolError extends Error {
  override readonly name = 'HelperProtocolError';
  readonly retryable = false;
  constructor(message: string) { super(`exec helper: ${message}`); }
}

/**
 * Splits the helper's byte stream into events; bytes of a partial frame wait for the
 * next `push`. Throws HelperProtocolError on an unknown frame type.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /** The events completed by `chunk`, in order. */
  push(chunk: Buffer): HelperEvent[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: HelperEvent[] = [];
    while (this.buf.length >= 5) {
      const type = this.buf.readUInt8(0);
      const n = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + n) break;
      const body = this.buf.subarray(5, 5 + n);
      this.buf = this.buf.subarray(5 + n);
      switch (type) {
        case Frame.STDOUT: out.push({ kind: 'stdout', data: Buffer.from(body) }); break;
        case Frame.STDERR: out.push({ kind: 'stderr', data: Buffer.from(body) }); break;
        case Frame.PID: out.push({ kind: 'pid', pid: body.readUInt32BE(0) }); break;
        case Frame.EXIT: out.push({ kind: 'exit', code: body.readInt32BE(0) }); break;
        case Frame.ERROR: out.push({ kind: 'error', message: body.toString('utf8') }); break;
        default: throw new HelperProtocolError(`unknown frame type ${type}`);
      }
    }
    return out;
  }
}
