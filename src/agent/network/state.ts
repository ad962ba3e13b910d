/**
 * What the network agent made in the kernel, saved so a restarted daemon re-adopts it
 * (`<dataRoot>/swarm/network/state.json`, written to a temporary file and renamed, so a
 * crash leaves the old or the new file, never half of one).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Peer, TaskPath } from '../../../net/overlay/index.ts';
import type { NodeNetworkView } from '../../wire/network-view-types.ts';
import type { HostPort, SandboxParams, TaskAttachment } from './plan.ts';

/** A sandbox: its netns, what it was made from and the peers programmed in it. */
export interface SandboxRecord extends SandboxParams {
  netns: string;
  /** The peers programmed (on other nodes). */
  peers: Peer[];
  /** False while being made: open() removes a sandbox a crash left half-made. */
  ready: boolean;
  /** A peer update failed part-way: flush the entries before the next one. */
  peersUnknown?: boolean;
  /** Its local VTEP address (the node's, or its WireGuard tunnel address if encrypted); absent: made by an older agent. */
  localVtep?: string;
  /** How its tasks join it (task-path.ts); absent: made by an older agent, with a bridge. */
  taskPath?: TaskPath;
}

/** An attached task: its netns, attachments (in eth order) and host-mode ports. */
export interface TaskRecord {
  taskId: string;
  name: string;
  netns: string;
  attachments: TaskAttachment[];
  hostPorts: HostPort[];
  /** False while being attached: open() removes a task a crash left half-attached. */
  ready?: boolean;
}

/** The routing mesh's host side, when programmed. */
export interface IngressRecord {
  networkId: string;
  /** `A.B.C.D/N` on the host veth. */
  address: string;
}

export interface NetworkState {
  sandboxes: Record<string, SandboxRecord>;
  tasks: Record<string, TaskRecord>;
  ingress?: IngressRecord;
  /** The last view applied: after a restart DNS answers and tables follow it until the session sends a new one. */
  view?: NodeNetworkView;
}

export function emptyState(): NetworkState {
  return { sandboxes: {}, tasks: {} };
}

/** Reads and writes the state file under `<dataRoot>/swarm/network/`. */
export class StateFile {
  readonly file: string;

  constructor(dataRoot: string) {
    this.file = join(dataRoot, 'swarm', 'network', 'state.json');
  }

  /** The saved state; empty when there is none (a corrupt file is reported through `onError` and ignored). */
  load(onError: (err: unknown) => void = () => {}): NetworkState {
    let text: string;
    try { text = readFileSync(this.file, 'utf8'); } catch { return emptyState(); }
    try {
      const s = JSON.parse(text) as Partial<NetworkState>;
      const out: NetworkState = { sandboxes: s.sandboxes ?? {}, tasks: s.tasks ?? {} };
      if (s.ingress) out.ingress = s.ingress;
      if (s.view) out.view = s.view;
      return out;
    } catch (err) {
      onError(err);
      return emptyState();
    }
  }

  save(state: NetworkState): void {
    mkdirSync(join(this.file, '..'), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 1));
    renameSync(tmp, this.file);
  }

  remove(): void {
    rmSync(this.file, { force: true });
  }
}
