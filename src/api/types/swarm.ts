/** The Cluster (Docker: "Swarm") object and the swarm endpoints' request bodies. */
import type { Meta } from './common.ts';

export interface SwarmSpec {
  Name: string;
  Labels: Record<string, string>;
  Orchestration: { TaskHistoryRetentionLimit: number };
  Raft: {
    SnapshotInterval: number;
    KeepOldSnapshots: number;
    LogEntriesForSlowFollowers: number;
    /** Ticks without a heartbeat before a follower campaigns. */
    ElectionTick: number;
    HeartbeatTick: number;
  };
  Dispatcher: { HeartbeatPeriod: number /* nanoseconds, as Docker */ };
  CAConfig: { NodeCertExpiry: number /* nanoseconds */; ExternalCAs?: ExternalCASpec[]; SigningCACert?: string; SigningCAKey?: string; ForceRotate?: number };
  EncryptionConfig: { AutoLockManagers: boolean };
  TaskDefaults: { LogDriver?: { Name: string; Options?: Record<string, string> } };
}

/** An external CA that signs node certificates (`--external-ca protocol=cfssl,url=…`). */
export interface ExternalCASpec {
  /** Only `cfssl`. */
  Protocol: string;
  /** Its sign endpoint, https. */
  URL: string;
  /** Protocol options (none are supported; refused when given). */
  Options?: Record<string, string>;
  /** The CA certificate it signs with, PEM; empty for the swarm's current root. */
  CACert?: string;
}

export interface TLSInfo {
  TrustRoot: string;
  CertIssuerSubject: string;
  CertIssuerPublicKey: string;
}

export interface ClusterInfo extends Meta {
  Spec: SwarmSpec;
  TLSInfo: TLSInfo;
  RootRotationInProgress: boolean;
  DefaultAddrPool: string[];
  SubnetSize: number;
  DataPathPort: number;
}

export interface JoinTokens {
  Worker: string;
  Manager: string;
}

/** `GET /swarm` (managers only): the cluster plus its join tokens. */
export interface Swarm extends ClusterInfo {
  JoinTokens: JoinTokens;
}

export type NodeAvailability = 'active' | 'pause' | 'drain';

export interface InitRequest {
  ListenAddr: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  DataPathPort?: number;
  DefaultAddrPool?: string[];
  SubnetSize?: number;
  ForceNewCluster?: boolean;
  Spec?: Partial<SwarmSpec>;
  AutoLockManagers?: boolean;
  Availability?: NodeAvailability;
}

export interface JoinRequest {
  ListenAddr: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  RemoteAddrs: string[];
  JoinToken: string;
  Availability?: NodeAvailability;
}

/** Docker's defaults for a new swarm's spec (SwarmKit api/defaults). */
export function defaultSwarmSpec(): SwarmSpec {
  return {
    Name: 'default',
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: { SnapshotInterval: 10000, KeepOldSnapshots: 0, LogEntriesForSlowFollowers: 500, ElectionTick: 10, HeartbeatTick: 1 },
    // Docker says 5 s; Shoal detects a dead node within about three periods, so 1 s.
    Dispatcher: { HeartbeatPeriod: 1_000_000_000 },
    CAConfig: { NodeCertExpiry: 90 * 24 * 3600 * 1_000_000_000 },
    EncryptionConfig: { AutoLockManagers: false },
    TaskDefaults: {},
  };
}
