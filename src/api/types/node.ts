/** The Node object (`/nodes`), in Docker's shape. */
import type { NetworkAttachment } from './network.ts';
import type { Meta, Platform } from './common.ts';
import type { NodeAvailability } from './swarm.ts';
import type { GenericResource } from './service.ts';

export type NodeRole = 'worker' | 'manager';
export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';
export type Reachability = 'unknown' | 'unreachable' | 'reachable';

export interface NodeSpec {
  Name?: string;
  Labels: Record<string, string>;
  Role: NodeRole;
  Availability: NodeAvailability;
}

export interface NodeResources {
  NanoCPUs: number;
  MemoryBytes: number;
  /** What the node advertises (`shoal daemon --node-generic-resource gpu=2`). */
  GenericResources?: GenericResource[];
}

export interface EngineDescription {
  EngineVersion: string;
  Labels: Record<string, string>;
  Plugins: { Type: string; Name: string }[];
}

export interface NodeDescription {
  Hostname: string;
  Platform: Platform;
  Resources: NodeResources;
  Engine: EngineDescription;
  TLSInfo?: { TrustRoot: string; CertIssuerSubject: string; CertIssuerPublicKey: string };
  /**
   * Shoal extension: the newest store schema this node's release can run. The leader
   * migrates the store to a newer schema only once every manager can run it.
   */
  ShoalStoreSchema?: number;
  /**
   * Shoal extension: this node's WireGuard identity for encrypted overlays (its private
   * key never leaves it): public key (base64) and UDP listen port.
   */
  ShoalWireGuard?: { PublicKey: string; Port: number; Path?: 'kernel' | 'wireguard-go' };
}

export interface NodeStatus {
  State: NodeState;
  Message?: string;
  Addr: string;
}

export interface ManagerStatus {
  Leader?: boolean;
  Reachability: Reachability;
  Addr: string;
}

export interface Node extends Meta {
  Spec: NodeSpec;
  Description: NodeDescription;
  Status: NodeStatus;
  ManagerStatus?: ManagerStatus;
  /** The node's own endpoints, written by the allocator: its address on the ingress network (the routing mesh's source address). */
  Attachments?: NetworkAttachment[];
}
