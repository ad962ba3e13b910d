/**
 * The driver's view of the network. Protocol logic never touches sockets: the
 * `RaftNode` hands outgoing messages to a `Transport` and receives incoming ones
 * through the handler it installs.
 */
import type { Message, NodeId } from '../types.ts';

/** Callbacks a transport makes into its owner (the driver). All are called asynchronously, never from inside `send`. */
export interface TransportHandler {
  /** A message for this node arrived. */
  onMessage(m: Message): void;
  /** A message to `peer` was dropped (queue full, connection lost): the core should probe it again. */
  onUnreachable(peer: NodeId): void;
  /** A snapshot message to `peer` was written to the connection (`ok`) or lost. */
  onSnapshotStatus(peer: NodeId, ok: boolean): void;
  /**
   * An established connection to `peer` broke (for example its process died: the kernel
   * closes its sockets at once). A hint for failure detection, never a verdict: the peer
   * may be fine and merely reconnecting. Optional for transports that cannot tell.
   */
  onPeerDown?(peer: NodeId): void;
}

/**
 * Best-effort, unordered-across-peers, ordered-per-peer delivery of Raft messages.
 * Raft retransmits, so a transport may drop messages (and reports that through
 * `onUnreachable`); it must never block or throw in `send`.
 */
export interface Transport {
  /** Installs the handler; replaces any previous one. Call before `start`. */
  setHandler(handler: TransportHandler): void;
  /** Starts listening (if the transport listens). Resolves when ready to receive. */
  start(): Promise<void>;
  /** Queues messages for their `to` peers. Messages to unknown peers are dropped and reported unreachable. */
  send(messages: Message[]): void;
  /** Adds or updates a peer's address (the format is the transport's). */
  addPeer(id: NodeId, address: string): void;
  /** Forgets a peer and closes its connection; queued messages are dropped. */
  removePeer(id: NodeId): void;
  /** Closes every connection and the listener. Idempotent. */
  close(): Promise<void>;
}
