/**
 * Test helpers for code that uses the store: a manual wall clock, a recording proposer,
 * and minimal valid objects of each kind. Not used by production code.
 */
import type { Proposer, StoreAction, CommitTarget } from './actions.ts';
import type { NewObject } from './tx.ts';
import { defaultSwarmSpec } from '../api/types/swarm.ts';

/** A wall clock that moves only when told (starts at 2026-01-01T00:00:00Z). */
export class ManualWallClock {
  constructor(public ms = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Like `LocalProposer`, and also records every committed transaction (the "log"), rejected ones included. */
export class RecordingProposer implements Proposer {
  readonly log: { index: number; actions: readonly StoreAction[] }[] = [];

  constructor(private readonly target: CommitTarget) {}

  async propose(actions: readonly StoreAction[]): Promise<{ index: number }> {
    await null;
    const index = this.target.lastIndex + 1;
    this.log.push({ index, actions });
    return this.target.applyCommitted(actions, index);
  }
}

export function aService(name: string, replicas = 1): NewObject<'service'> {
  return {
    Spec: {
      Name: name,
      Labels: {},
      TaskTemplate: { ContainerSpec: { Image: 'busybox:latest' } },
      Mode: { Replicated: { Replicas: replicas } },
    },
  };
}

export function aTask(serviceId: string, slot: number, nodeId?: string): NewObject<'task'> {
  return {
    Labels: {},
    Spec: { ContainerSpec: { Image: 'busybox:latest' } },
    ServiceID: serviceId,
    Slot: slot,
    NodeID: nodeId,
    Status: { Timestamp: '2026-01-01T00:00:00.000Z', State: 'new', Message: 'created' },
    DesiredState: 'running',
  };
}

export function aNode(hostname: string, role: 'worker' | 'manager' = 'worker'): NewObject<'node'> {
  return {
    Spec: { Labels: {}, Role: role, Availability: 'active' },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 31 },
      Engine: { EngineVersion: '0.1.0', Labels: {}, Plugins: [] },
    },
    Status: { State: 'ready', Addr: '192.168.100.2' },
  };
}

export function aNetwork(name: string): NewObject<'network'> {
  return {
    Spec: {
      Name: name,
      Labels: {},
      Driver: 'overlay',
      Options: {},
      IPAM: { Driver: 'default', Config: [] },
      Attachable: false,
      Ingress: false,
      Internal: false,
      EnableIPv6: false,
      Scope: 'swarm',
    },
  };
}

export function aSecret(name: string, data: string): NewObject<'secret'> {
  return { Spec: { Name: name, Labels: {}, Data: Buffer.from(data).toString('base64') } };
}

export function aConfig(name: string, data: string): NewObject<'config'> {
  return { Spec: { Name: name, Labels: {}, Data: Buffer.from(data).toString('base64') } };
}

export function aCluster(caKey = '-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----\n'): NewObject<'cluster'> {
  return {
    Spec: defaultSwarmSpec(),
    TLSInfo: { TrustRoot: 'root', CertIssuerSubject: 'subject', CertIssuerPublicKey: 'key' },
    RootRotationInProgress: false,
    DefaultAddrPool: ['10.0.0.0/8'],
    SubnetSize: 24,
    DataPathPort: 4789,
    JoinTokens: { Worker: 'SWMTKN-1-w', Manager: 'SWMTKN-1-m' },
    RootCA: { CACert: 'cert', CAKey: caKey },
  };
}
