/**
 * The daemon's side of relay.pl's framing, free of I/O: frames (u32 little-endian length
 * of what follows, a kind byte, a body), netlink messages in a reply, and what a batch's
 * replies say (how many requests ran, the kernel's errno for the one refused, answers).
 * Whatever does not fit throws `RelayProtocolError`: the caller ends that helper and
 * fails its batches, and never trusts a half-read reply.
 */

/** Largest frame either side accepts (relay.pl's MAX_FRAME). */
export const FRAME_MAX = 1 << 20;
/** Frame kinds: to the relay, a batch; from it, replies, a patch that failed, a link removed. */
export const FRAME = { BATCH: 'B', REPLIES: 'R', PATCH_FAILED: 'P', LINK_REMOVED: 'L' } as const;
const FROM_RELAY = new Set<string>([FRAME.REPLIES, FRAME.PATCH_FAILED, FRAME.LINK_REMOVED]);
export const NLMSG_HDRLEN = 16;
const NLMSG_ERROR = 2;

/** The relay spoke out of protocol (or the daemon asked it to). */
export class RelayProtocolError extends Error {
  override name = 'RelayProtocolError';
  constructor(message: string) { super(`netlink relay: ${message}`); }
}

export interface Frame { kind: string; body: Buffer }

/** One frame: length, kind, body. */
export function encodeFrame(kind: string, body: Buffer): Buffer {
  if (kind.length !== 1) throw new RelayProtocolError(`frame kind "${kind}" is not one byte`);
  if (body.length + 1 > FRAME_MAX) throw new RelayProtocolError(`a frame of ${body.length + 1} bytes exceeds ${FRAME_MAX}`);
  const head = Buffer.alloc(5);
  head.writeUInt32LE(body.length + 1, 0);
  head.write(kind, 4, 'latin1');
  return Buffer.concat([head, body]);
}

/** A netlink message for the batch, and the netns file whose fd the relay writes into it at byte `fdAt`. */
export interface BatchPart { msg: Buffer; fd?: { at: number; path: string } }

/** A 'B' frame: the patches (absolute offsets into the messages), then the messages, each 4-byte aligned. */
export function encodeBatch(parts: readonly BatchPart[]): Buffer {
  const patches: Buffer[] = [];
  const msgs: Buffer[] = [];
  let off = 0;
  for (const p of parts) {
    if (p.fd) {
      const path = Buffer.from(p.fd.path, 'utf8');
      const h = Buffer.alloc(6);
      h.writeUInt32LE(off + p.fd.at, 0);
      h.writeUInt16LE(path.length, 4);
      patches.push(h, path);
    }
    const padded = align(p.msg.length);
    msgs.push(padded === p.msg.length ? p.msg : Buffer.concat([p.msg, Buffer.alloc(padded - p.msg.length)]));
    off += padded;
  }
  const n = Buffer.alloc(2);
  n.writeUInt16LE(patches.length / 2, 0);
  return encodeFrame(FRAME.BATCH, Buffer.concat([n, ...patches, ...msgs]));
}

const align = (n: number) => (n + 3) & ~3;

/** Splits the relay's output into frames; keeps a partial one for the next chunk. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /** The frames completed by `chunk`; throws `RelayProtocolError` on a bad length or kind. */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32LE(0);
      if (len < 1 || len > FRAME_MAX) throw new RelayProtocolError(`a frame of ${len} bytes (1 to ${FRAME_MAX} allowed)`);
      if (this.buf.length < 4 + len) break;
      const kind = String.fromCharCode(this.buf[4]);
      if (!FROM_RELAY.has(kind)) throw new RelayProtocolError(`unknown frame kind 0x${this.buf[4].toString(16).padStart(2, '0')}`);
      out.push({ kind, body: this.buf.subarray(5, 4 + len) });
      this.buf = this.buf.subarray(4 + len);
    }
    return out;
  }

  /** The output ended: throws if it ended inside a frame. */
  end(): void {
    if (this.buf.length) throw new RelayProtocolError(`output ended inside a frame (${this.buf.length} bytes left)`);
  }
}

/** One netlink message: header fields and its payload. */
export interface NlMessage { type: number; flags: number; seq: number; data: Buffer }

/** The messages of a reply body, each 4-byte aligned; a short header or overlong length throws. */
export function parseMessages(body: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  for (let o = 0; o < body.length;) {
    if (o + NLMSG_HDRLEN > body.length) throw new RelayProtocolError(`a reply cut inside a netlink header (${body.length - o} bytes)`);
    const len = body.readUInt32LE(o);
    if (len < NLMSG_HDRLEN || o + len > body.length) throw new RelayProtocolError(`a netlink message of bad length ${len} in a reply`);
    out.push({ type: body.readUInt16LE(o + 4), flags: body.readUInt16LE(o + 6), seq: body.readUInt32LE(o + 8), data: body.subarray(o + NLMSG_HDRLEN, o + len) });
    o += align(len);
  }
  return out;
}

/** What a batch's replies say: `done` requests ran; `errno` (positive) refused the next one; `answers` by request index. */
export interface BatchOutcome { done: number; errno?: number; answers: NlMessage[][] }

/**
 * Checks a batch's replies against the sequence numbers it was sent with (`seqs`, one per
 * request, in order) and reads them: every request up to the first refused one has its
 * ACK (NLMSG_ERROR) in order, after its answers; nothing comes for a request after it.
 */
export function batchOutcome(seqs: readonly number[], replies: readonly NlMessage[]): BatchOutcome {
  const answers: NlMessage[][] = [];
  let i = 0;
  let current: NlMessage[] = [];
  for (let k = 0; k < replies.length; k++) {
    const m = replies[k];
    if (i >= seqs.length) throw new RelayProtocolError(`a reply (seq ${m.seq}) after the batch's last acknowledgement`);
    if (m.seq !== seqs[i]) throw new RelayProtocolError(`a reply with seq ${m.seq} where ${seqs[i]} was due`);
    if (m.type !== NLMSG_ERROR) { current.push(m); continue; }
    if (m.data.length < 4) throw new RelayProtocolError(`an acknowledgement of ${m.data.length} bytes`);
    const err = m.data.readInt32LE(0);
    if (err > 0) throw new RelayProtocolError(`an acknowledgement with a positive error ${err}`);
    answers.push(current);
    current = [];
    i++;
    if (err < 0) {
      if (k !== replies.length - 1) throw new RelayProtocolError(`replies after request ${i - 1} was refused`);
      return { done: i - 1, errno: -err, answers };
    }
  }
  if (current.length || i !== seqs.length) throw new RelayProtocolError(`the reply misses the acknowledgement of request ${i} of ${seqs.length}`);
  return { done: i, answers };
}
