/** Shapes shared by the node-to-node endpoints (2377) and their clients. */
import type { NodeRole, NodeDescription, NodeState } from '../api/types/node.ts';
import type { NodeAvailability } from '../api/types/swarm.ts';
import type { Task, TaskStatus } from '../api/types/task.ts';
import type { Config, Secret } from '../api/types/secret-config.ts';
import type { NodeNetworkView } from './network-view-types.ts';

/** A node's TLS state (Docker's `TLSInfo`: trust root PEM, issuer subject and public key in base64). */
export interface NodeTLSInfo {
  TrustRoot: string;
  CertIssuerSubject: string;
  CertIssuerPublicKey: string;
}

/** What the subscriber asks for (`since`/`until` in ms epoch, `tail` per task). */
export interface LogRequest {
  /** The tasks, with the node each ran on (undefined: never assigned). */
  tasks: { taskId: string; nodeId?: string }[];
  follow: boolean;
  since?: number;
  until?: number;
  tail?: number;
  stdout: boolean;
  stderr: boolean;
}

/** Who is on the other end, as proven by a client certificate signed by our root CA. */
export interface PeerIdentity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
}

/** `POST /join` on a manager's 2377 (server-auth TLS; the token is the credential). */
export interface JoinNodeRequest {
  token: string;
  csrPem: string;
  /** IP:PORT this node listens on for other nodes. */
  advertiseAddr: string;
  availability: NodeAvailability;
  description: NodeDescription;
}

export interface JoinNodeResponse {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
  certPem: string;
  rootPem: string;
  /** The managers to talk to (ID → IP:PORT). */
  managers: Record<string, string>;
  heartbeatMs: number;
}

/**
 * The secrets and configs an assignments frame carries (SwarmKit's dependency
 * assignments): the ones the node's tasks in the frame reference, sent with (and
 * applied before) those tasks; with `full` the whole set the node may hold. `removed…`
 * (IDs) are withdrawn: no task of the node that has not ended references them any more.
 * A node keeps them in memory only.
 */
export interface AssignedPayloads {
  secrets?: Secret[];
  configs?: Config[];
  removedSecrets?: string[];
  removedConfigs?: string[];
}

/** One observed task state, as an agent reports it. */
export interface TaskStatusUpdate {
  taskId: string;
  status: TaskStatus;
}

/**
 * Dispatcher session frames (JSON over the `/dispatcher` WebSocket).
 *
 * - `heartbeat` (node → manager), answered by `ack` or `redirect`.
 * - `assignments` (manager → node): the tasks assigned to the node. `full: true` replaces
 *   the node's whole set (sent first on every session); otherwise `tasks` are added or
 *   changed and `removed` (task IDs) leave the set — their containers are removed.
 * - `status` (node → manager): a batch of observed task states; each only moves forward.
 * - `network` (manager → node): the node's whole network view (see `network-view-types.ts`),
 *   sent first on every session and again whenever it changes.
 */
export type SessionFrame =
  | {
    type: 'heartbeat'; addr: string;
    /** The node's TLS state as Docker's `Node.Description.TLSInfo` shows it (root trusted, issuer of its leaf); the first beat of a session carries it. */
    tls?: NodeTLSInfo;
    /** The node's description of itself (version, resources, store schema); the first beat of a session carries it. */
    description?: NodeDescription;
  }
  | {
    type: 'ack'; heartbeatMs: number; managers: Record<string, string>;
    /** The node's role and state in the leader's store (absent when the store has no such node). */
    role?: NodeRole; state?: NodeState;
    /** Whether the node is in the leader's Raft configuration (a demoted manager serves Raft until this is false). */
    raftMember?: boolean;
    /**
     * What the node's certificate should converge on (root CA rotation, `ca/rotation.ts`):
     * digests of the root to trust and of its leaf's issuer, and the root itself (PEM)
     * while the node is not known to trust it yet.
     */
    ca?: { root: string; issuer: string; rootPem?: string };
  }
  | { type: 'redirect'; leader?: string; managers: Record<string, string> }
  | ({ type: 'assignments'; full: boolean; tasks: Task[]; removed: string[]; managers?: undefined } & AssignedPayloads)
  | { type: 'status'; updates: TaskStatusUpdate[] }
  | { type: 'network'; view: NodeNetworkView }
  /** Node → leader: the generation of the network view it applied to its kernel. */
  | { type: 'network.applied'; generation: number }
  /** Leader → node: every node with a session applied views of at least this generation. */
  | { type: 'network.watermark'; generation: number }
  | AttachmentSessionFrame
  | LogSessionFrame;

/**
 * Network attachment frames (standalone containers on attachable overlays, see
 * `src/swarm/attachment-tasks.ts`): `attachment.create` (node → leader) asks for an
 * attachment task of container `containerId` named `name` on `network` (name, ID or ID
 * prefix); `attachment.remove` (node → leader) ends it; `attachment.result` (leader →
 * node) answers either with the task's ID or with `error` and its HTTP `status`.
 */
export type AttachmentSessionFrame =
  | { type: 'attachment.create'; id: string; containerId: string; name: string; network: string }
  | { type: 'attachment.remove'; id: string; containerId: string }
  | { type: 'attachment.result'; id: string; taskId?: string; networkId?: string; error?: string; status?: number };

/**
 * Log subscription frames on the session (see `log-broker.ts`, `log-publisher.ts`):
 * `logs.subscribe` / `logs.cancel` (manager → node) ask a node for its tasks' stored
 * lines (`since`/`until` ms epoch, `tail` per task) and, with `follow`, new ones;
 * `logs` (node → manager) carries a batch of one task's entries; `logs.end` says one
 * task's stream is over, with `error` when its logs cannot be read.
 */
export type LogSessionFrame =
  | {
    type: 'logs.subscribe'; id: string; tasks: string[]; follow: boolean;
    since?: number; until?: number; tail?: number; stdout: boolean; stderr: boolean;
  }
  | { type: 'logs.cancel'; id: string }
  /** A manager that is not the leader asks the leader, on its own session, to run a subscription for it (`log-relay.ts`). */
  | { type: 'logs.request'; id: string; req: LogRequest }
  | { type: 'logs'; id: string; taskId: string; entries: { time: string; stream: 'stdout' | 'stderr'; log: string }[]; /** Relayed `LogSink.notice` (leader → relaying manager). */ notice?: string }
  | { type: 'logs.end'; id: string; taskId: string; error?: string };
