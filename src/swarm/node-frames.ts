/**
 * The frames a node sends the leader, each with the shape its type must have. One table,
 * so that "known type" and "well-formed" cannot drift apart: a malformed frame of a known
 * type closes the node's session; a frame of a type not in the table is a newer release's
 * (a rolling upgrade) and is ignored. Pure.
 */
import { isAttachmentRequest } from './attachment-tasks.ts';

type Check = (f: Record<string, unknown>) => boolean;

const str = (v: unknown) => typeof v === 'string';
const logFrame: Check = (f) => str(f.id) && str(f.taskId);

const CHECKS: Readonly<Record<string, Check>> = {
  heartbeat: (f) => str(f.addr),
  status: (f) => Array.isArray(f.updates),
  logs: logFrame,
  'logs.end': logFrame,
  'logs.request': (f) => str(f.id) && typeof f.req === 'object' && f.req !== null,
  'logs.cancel': (f) => str(f.id),
  'network.applied': (f) => Number.isSafeInteger(f.generation),
  'attachment.create': isAttachmentRequest,
  'attachment.remove': isAttachmentRequest,
};

/**
 * What a parsed frame from a node is: `known` (its type is in the table and its shape
 * fits) or `unknown` (a type this release does not know). Throws for a frame that is not
 * an object with a string type, or a known type whose shape does not fit.
 */
export function classifyNodeFrame(frame: unknown): 'known' | 'unknown' {
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) throw new Error('frame is not an object');
  const f = frame as Record<string, unknown>;
  if (typeof f.type !== 'string') throw new Error('frame without a type');
  const check = Object.hasOwn(CHECKS, f.type) ? CHECKS[f.type] : undefined;
  if (!check) return 'unknown';
  if (!check(f)) throw new Error(`malformed ${f.type} frame`);
  return 'known';
}
