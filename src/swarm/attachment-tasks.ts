/**
 * Network attachment tasks (Docker's): the manager's record of a standalone container's
 * endpoint on an `--attachable` overlay network. A node asks the leader on its session
 * (`attachment.create`); the leader checks the network and writes a task with
 * `Spec.NetworkAttachmentSpec.ContainerID`, `Networks: [{ Target, Aliases: [name] }]`,
 * the asking node as `NodeID` and no service. Then:
 *
 * - the allocator gives it its address (`allocate.ts`) and moves it straight to
 *   `assigned` (its node is fixed; the scheduler never sees it);
 * - the node's agent makes its netns and reports it `running` (it runs no container);
 * - the network views list it as a peer and answer its container's name on the network
 *   (`network-view.ts`), so service tasks reach the container by name;
 * - orchestrators never count or restart it (it has no service); `attachment.remove`
 *   (the container's removal) sets its desired state to `shutdown`, the node detaches
 *   it, and the task reaper deletes it once it ended, which frees its address.
 *
 * The frame checks and the task's shape are pure; `createAttachment` and
 * `removeAttachment` are the leader's store writes.
 */
import type { Network } from '../api/types/network.ts';
import type { Task } from '../api/types/task.ts';
import { isTerminal } from '../api/types/task.ts';
import type { AttachmentSessionFrame } from '../wire/types.ts';
import type { WriteTx } from '../store/index.ts';

/** A refusal of an attachment request, with the HTTP status the node's engine answers. */
export class AttachmentError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'AttachmentError';
  }
}

type Request = Extract<AttachmentSessionFrame, { type: 'attachment.create' | 'attachment.remove' }>;

/** Whether a node's frame is a well-formed attachment request (a malformed one closes the session). */
export function isAttachmentRequest(f: { type?: unknown } & Record<string, unknown>): f is Request {
  const short = (v: unknown, max: number) => typeof v === 'string' && v.length > 0 && v.length <= max;
  if (f.type === 'attachment.create') return short(f.id, 128) && short(f.containerId, 128) && short(f.name, 255) && short(f.network, 255);
  if (f.type === 'attachment.remove') return short(f.id, 128) && short(f.containerId, 128);
  return false;
}

/** Whether the task is a network attachment task; one predicate for every layer (api/types/task.ts). */
export { isAttachmentTask } from '../api/types/task.ts';

/** Docker's lookup of a network reference: full ID, then exact name, then a unique ID prefix. */
export function findNetwork(networks: readonly Network[], ref: string): Network | undefined {
  const byId = networks.find((n) => n.ID === ref);
  if (byId) return byId;
  const byName = networks.find((n) => n.Spec.Name === ref);
  if (byName) return byName;
  const byPrefix = networks.filter((n) => n.ID.startsWith(ref));
  return byPrefix.length === 1 ? byPrefix[0] : undefined;
}

/**
 * The network a standalone container may attach to, or Docker's refusal: a missing
 * network is 404; one not overlay-scoped, ingress or not `--attachable` is Docker's
 * PermissionDenied ("not manually attachable").
 */
export function attachableNetwork(networks: readonly Network[], ref: string): Network {
  const n = findNetwork(networks, ref);
  if (!n) throw new AttachmentError(`network ${ref} not found`, 404);
  const name = n.Spec.Name;
  if (n.Spec.Ingress || !n.Spec.Attachable) {
    throw new AttachmentError(`Could not attach to network ${name}: rpc error: code = PermissionDenied desc = network ${name} not manually attachable`, 403);
  }
  return n;
}

/** The attachment task of container `containerId` (named `name`) on `network`, for node `nodeId`; the store stamps ID and times. */
export function attachmentTask(network: Network, req: { containerId: string; name: string; image?: string }, nodeId: string, now: string): Task {
  return {
    ID: '', Version: { Index: 0 }, CreatedAt: now, UpdatedAt: now,
    // The container's name: `network inspect` lists the endpoint by it, as Docker does.
    Name: req.name,
    Labels: {},
    Spec: {
      // No container runs for it; the image names what the container runs (`docker service ps`-like listings show it).
      ContainerSpec: { Image: req.image ?? '' },
      Networks: [{ Target: network.ID, Aliases: [req.name] }],
      NetworkAttachmentSpec: { ContainerID: req.containerId },
    },
    ServiceID: '',
    NodeID: nodeId,
    Status: { Timestamp: now, State: 'new', Message: 'created' },
    DesiredState: 'running',
  };
}

/** The node's attachment tasks of a container that have not ended, in the transaction's view. */
function liveAttachments(tx: Pick<WriteTx, 'find'>, nodeId: string, containerId: string): Task[] {
  return tx.find('task', { nodeId }).filter((t) =>
    t.Spec.NetworkAttachmentSpec?.ContainerID === containerId && t.DesiredState === 'running' && !isTerminal(t.Status.State));
}

/**
 * Leader: creates (or finds: the request is idempotent) the attachment task of a node's
 * container on an attachable network. Throws `AttachmentError` for a refusal.
 */
export function createAttachment(tx: WriteTx, nodeId: string, req: { containerId: string; name: string; network: string }, now: string): Task {
  const network = attachableNetwork(tx.list('network'), req.network);
  const have = liveAttachments(tx, nodeId, req.containerId).find((t) => t.Spec.Networks?.[0]?.Target === network.ID);
  if (have) return have;
  return tx.create('task', attachmentTask(network, req, nodeId, now));
}

/** Leader: ends every attachment task of the node's container (desired `shutdown`); returns how many. */
export function removeAttachment(tx: WriteTx, nodeId: string, containerId: string): number {
  const live = liveAttachments(tx, nodeId, containerId);
  for (const t of live) tx.update('task', { ...t, DesiredState: 'shutdown' });
  return live.length;
}
