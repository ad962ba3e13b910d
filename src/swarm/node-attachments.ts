/**
 * The node side of network attachments (standalone containers on attachable overlays,
 * see `attachment-tasks.ts`): asks the leader on the node's session for an attachment
 * task, then waits for the agent to make its netns once the task is assigned here, and
 * answers what the container needs (netns, resolv.conf, address). The same path on
 * workers and managers: every node's session ends at the leader.
 */
import type { AttachedNetwork } from '../agent/agent.ts';
import { CreateConfigError } from '../agent/engine/standalone/errors.ts';
import type { OverlayEndpoint, StandaloneAttachments } from '../agent/engine/standalone/standalone.ts';
import type { AttachmentRequest, AttachmentResult } from './session.ts';
import type { Task } from '../api/types/task.ts';

/** What it needs of the node: its session to the leader and its agent. */
export interface NodeAttachmentDeps {
  request(req: AttachmentRequest): Promise<AttachmentResult>;
  attachment(taskId: string, timeoutMs: number): Promise<AttachedNetwork>;
  /** Tests: the retry period of a removal the leader could not be told of (default 3 s). */
  retryMs?: number;
  /** Whether this node still has the standalone container (`reconcile`); absent: never reconciled. */
  containerExists?: (containerId: string) => boolean;
  now?: () => number;
}

/** An attachment task younger than this is never reconciled away: its container may still be in creation. */
const RECONCILE_GRACE_MS = 120_000;

/** How long the node waits for the allocator, the assignment and its own netns. */
const ATTACH_WAIT_MS = 30_000;
/** A removal the leader could not be told of is told again this often, for this long. */
const DETACH_RETRY_MS = 3000;
const DETACH_RETRY_FOR_MS = 10 * 60_000;

/** The endpoint of an attachment the agent made, in the shape the standalone containers keep. */
export function endpointOf(net: AttachedNetwork): OverlayEndpoint {
  const a = net.task.NetworksAttachments?.[0];
  const m = a ? /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(a.Addresses?.[0] ?? '') : null;
  if (!a || !m) throw new Error(`attachments: task ${net.task.ID} has no address`);
  return {
    taskId: net.task.ID, networkId: a.Network.ID, address: m[1], prefixLen: Number(m[2]),
    gateway: a.Network.Allocation?.Gateway ?? '', netnsPath: net.netnsPath, resolvConf: net.resolvConf,
  };
}

/** Standalone containers' attachments over this node's session. */
export class NodeAttachments implements StandaloneAttachments {
  constructor(private readonly deps: NodeAttachmentDeps) {}

  async attach(req: { containerId: string; name: string; network: string; image: string }): Promise<OverlayEndpoint> {
    let r: AttachmentResult;
    try {
      r = await this.deps.request({ type: 'attachment.create', containerId: req.containerId, name: req.name, network: req.network });
    } catch (err) {
      throw new CreateConfigError(`network ${req.network}: cannot reach the swarm's leader: ${(err as Error).message}`, 503);
    }
    if (r.error || !r.taskId) {
      const status = r.status === 403 || r.status === 404 ? r.status : 503;
      throw new CreateConfigError(r.error ?? `network ${req.network}: the leader gave no attachment`, status);
    }
    try {
      return endpointOf(await this.deps.attachment(r.taskId, ATTACH_WAIT_MS));
    } catch (err) {
      // The leader has the task: tell it the container will not come.
      await this.detach(req.containerId).catch(() => {});
      throw new CreateConfigError(`network ${req.network}: ${(err as Error).message}`, 503);
    }
  }

  /**
   * Ends the container's attachment. When the leader cannot be told now (no session, a
   * leader change), it is told again in the background every few seconds for a while,
   * and the first error is thrown for the caller to log.
   */
  async detach(containerId: string): Promise<void> {
    try {
      await this.removeOnce(containerId);
    } catch (err) {
      this.retryLater(containerId, Date.now() + DETACH_RETRY_FOR_MS);
      throw err;
    }
  }

  /**
   * After a new session's whole assignment set: the attachment tasks of containers this
   * node no longer has (removed while the leader could not be told, across a restart)
   * are ended. Returns the containers it asked the leader about.
   */
  reconcile(tasks: readonly Task[]): string[] {
    const exists = this.deps.containerExists;
    if (!exists) return [];
    const now = (this.deps.now ?? Date.now)();
    const stale = tasks.filter((t) => {
      const cid = t.Spec.NetworkAttachmentSpec?.ContainerID;
      return cid && t.DesiredState === 'running' && now - Date.parse(t.CreatedAt) > RECONCILE_GRACE_MS && !exists(cid);
    }).map((t) => t.Spec.NetworkAttachmentSpec!.ContainerID);
    for (const cid of new Set(stale)) void this.detach(cid).catch(() => {});
    return [...new Set(stale)];
  }

  private async removeOnce(containerId: string): Promise<void> {
    const r = await this.deps.request({ type: 'attachment.remove', containerId });
    if (r.error) throw new Error(`attachments: the leader refused to end the attachment of ${containerId.slice(0, 12)}: ${r.error}`);
  }

  private retryLater(containerId: string, until: number): void {
    if (Date.now() > until) return;
    setTimeout(() => {
      this.removeOnce(containerId).catch(() => this.retryLater(containerId, until));
    }, this.deps.retryMs ?? DETACH_RETRY_MS).unref();
  }
}
